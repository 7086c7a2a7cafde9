"""The OCR path without Tesseract: per-page decision, image geometry, the second look, a fake engine end to end."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from extract.ocr import (
    OcrEngineError,
    OcrSettings,
    OcrWord,
    PageImageInfo,
    Recheck,
    TesseractEngine,
    apply_rechecks,
    decide,
    ocr_pages_if_needed,
    parse_tsv,
    readable_share,
    register_engine,
)
from extract.pdf import read_pdf_pages
from models import Page, Word
from pipeline.document import pages_to_convention

ROOT = Path(__file__).resolve().parents[1]
DPI = 150
SKEW = 0.7  # degrees the synthetic scan is turned by


def _word(text: str, x: float = 10, y: float = 10) -> Word:
    return Word(text=text, x0=x, top=y, x1=x + 8 * len(text), bottom=y + 10)


# ---------------------------------------------------------------- decision


def test_page_without_text_but_covered_by_an_image_is_ocrd() -> None:
    page = Page(number=1, width=595, height=842, words=[])
    d = decide(page, PageImageInfo(cover=0.98, dpi=200))
    assert d.needed and d.reason == "page image sans couche texte"


def test_page_with_a_real_text_layer_is_kept() -> None:
    words = [
        _word(t, 10 + 60 * k)
        for k, t in enumerate(["Le", "présent", "avenant", "modifie", "l'article", "2", "de", "la", "convention"])
    ]
    d = decide(Page(number=1, width=595, height=842, words=words), PageImageInfo(cover=1.0, dpi=200))
    assert not d.needed


def test_scan_under_an_invisible_ocr_layer_is_read_again() -> None:
    words = [_word(t, 10 + 60 * k) for k, t in enumerate(["Le", "présent", "avenant", "modifie", "l'article", "2"])]
    page = Page(number=1, width=595, height=842, words=words)
    d = decide(page, PageImageInfo(cover=1.0, dpi=200, texts=40, invisible=40))
    assert d.needed and "invisible" in d.reason
    assert not decide(page, PageImageInfo(cover=1.0, dpi=200, texts=40, invisible=0)).needed  # background image


def test_garbage_text_layer_is_ocrd() -> None:
    words = [
        _word(t, 10 + 60 * k) for k, t in enumerate(["(cid:12)(cid:5)", "ÿþ¤§", "(cid:7)x", "¶¶¶", "Le", "§§¤"] * 10)
    ]
    assert readable_share(words) < 0.5
    d = decide(Page(number=1, width=595, height=842, words=words), PageImageInfo(cover=0.0, dpi=None))
    assert d.needed and d.reason.startswith("couche texte illisible")


def test_blank_page_needs_nothing_but_outlined_text_does() -> None:
    blank = Page(number=1, width=595, height=842, words=[])
    assert not decide(blank, PageImageInfo(cover=0.0, dpi=None, paths=12)).needed
    assert decide(blank, PageImageInfo(cover=0.0, dpi=None, paths=2500)).needed


# ---------------------------------------------------------------- Tesseract plumbing without Tesseract


def test_tsv_is_read_by_page_and_level() -> None:
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "1\t1\t0\t0\t0\t0\t0\t0\t100\t50\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t10\t20\t30\t12\t96.5\t42.500\n"
        "5\t1\t1\t1\t1\t2\t45\t20\t8\t12\t91\t€\n"
        "5\t2\t1\t1\t1\t1\t3\t4\t5\t6\t-1\t \n"
        "5\t3\t1\t1\t1\t1\t3\t4\t5\t6\t55\tn°\n"
    )
    pages = parse_tsv(tsv)
    assert [w.text for w in pages[1]] == ["42.500", "€"]
    assert pages[1][0] == OcrWord("42.500", 10, 20, 40, 32, 96.5)
    assert 2 not in pages and pages[3][0].text == "n°"


def test_missing_tesseract_is_a_clear_error() -> None:
    with pytest.raises(OcrEngineError, match="Tesseract"):
        TesseractEngine(binary="/nonexistent/tesseract").version()


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        OcrSettings(psm=42)
    with pytest.raises(ValueError):
        OcrSettings(jobs=0)


def test_importing_the_ocr_modules_loads_no_opencv() -> None:
    code = (
        "import sys, extract.ocr, extract.image, normalize.ocr_repair, reconcile.ocr_checks, pipeline.bench_ocr\n"
        "assert 'cv2' not in sys.modules and 'pypdfium2' not in sys.modules, 'heavy import at module level'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ---------------------------------------------------------------- second look


def _recheck(replaces: tuple[int, ...], x: float = 100, y: float = 50) -> Recheck:
    return Recheck(crops=[], x=x, y=y, scale=2.0, margin=10, dpi=300, replaces=replaces)


def test_rereading_replaces_a_word_only_when_surer() -> None:
    found = [OcrWord("Nornbre", 100, 50, 160, 62, 40.0), OcrWord("4O", 200, 50, 220, 62, 70.0)]
    reread = [[OcrWord("Nombre", 10, 10, 130, 34, 96.0)], [OcrWord("40", 10, 10, 50, 34, 60.0)]]
    out = apply_rechecks(found, [_recheck((0,)), _recheck((1,), 200)], reread, accept_new=60)
    assert [w.text for w in out] == ["Nombre", "4O"]
    assert out[0].left == pytest.approx(100) and out[0].right == pytest.approx(160)


def test_rereading_never_drops_digits() -> None:
    found = [OcrWord("42000", 100, 50, 140, 62, 40.0)]
    reread = [[OcrWord("000", 10, 10, 50, 34, 53.0), OcrWord("€", 60, 10, 70, 34, 96.0)]]
    assert [w.text for w in apply_rechecks(found, [_recheck((0,))], reread, accept_new=60)] == ["42000"]


def test_rereading_never_swaps_look_alike_characters() -> None:
    found = [OcrWord("1er", 100, 50, 120, 62, 70.0)]
    out = apply_rechecks(found, [_recheck((0,))], [[OcrWord("ler", 10, 10, 50, 34, 96.0)]], accept_new=60)
    assert [w.text for w in out] == ["1er"]


def test_ink_no_word_explained_is_added_when_read_with_confidence() -> None:
    out = apply_rechecks(
        [],
        [_recheck(()), _recheck((), 300)],
        [
            [OcrWord("5", 10, 10, 24, 34, 96.0)],
            [OcrWord("~", 10, 10, 24, 34, 99.0), OcrWord("ei", 30, 10, 40, 34, 38.0)],
        ],
        accept_new=60,
    )
    assert [(w.text, w.left) for w in out] == [("5", 100.0)]


def test_a_reread_region_does_not_repeat_the_words_it_overlaps() -> None:
    found = [OcrWord("parc", 100, 50, 140, 62, 97.0), OcrWord("pnblic", 145, 50, 190, 62, 41.0)]
    reread = [OcrWord("pa", 10, 10, 60, 34, 95.0), OcrWord("public", 100, 10, 190, 34, 96.0)]
    out = apply_rechecks(found, [_recheck((1,), x=100, y=50)], [reread], accept_new=60)
    assert [w.text for w in out] == ["parc", "public"]


def test_a_tiny_unsure_word_is_dust() -> None:
    from extract.ocr import _to_words

    words = [OcrWord(t, 10 * k, 50, 10 * k + 8, 62, 95.0) for k, t in enumerate(["Le", "plan", "des", "actions"])]
    words += [OcrWord("2,", 300, 55, 302, 57, 0.0), OcrWord("–", 320, 55, 326, 56, 20.0)]
    assert [w.text for w in _to_words(words, 0.5, 0.5)] == ["Le", "plan", "des", "actions", "–"]


def test_rule_remnants_and_low_confidence_specks_are_noise_but_dashes_and_slashes_are_not() -> None:
    from extract.ocr import is_noise

    assert is_noise(OcrWord("|", 0, 0, 1, 1, 99.0)) and is_noise(OcrWord(".", 0, 0, 1, 1, 20.0))
    assert not is_noise(OcrWord("–", 0, 0, 1, 1, 20.0)) and not is_noise(OcrWord("/", 0, 0, 1, 1, 10.0))
    assert not is_noise(OcrWord(",", 0, 0, 1, 1, 90.0))


# ---------------------------------------------------------------- a synthetic skewed scan, read by a fake engine

HEADER = ["Pilote", "Action", "Statut", "Financement demande 2023"]
ROWS = [
    ["DDETS", "Maraude vers le logement", "En cours", "12 000 EUR"],
    ["SIAO", "Diagnostic social", "A lancer", "8 500 EUR"],
    ["CCAS", "Accompagnement global", "En cours", "1 305 720 EUR"],
]


@dataclass
class FakeEngine:
    """Reads the words it was given (image pixels of the unrotated drawing); every crop reads nothing."""

    words: list[OcrWord]
    name: str = "fake"
    calls: list[int] = field(default_factory=list)

    def recognize(self, image: Any, dpi: int, language: str, psm: int) -> list[OcrWord]:
        self.calls.append(1)
        return list(self.words)

    def recognize_many(self, images: list[Any], dpi: int, language: str, psm: int) -> list[list[OcrWord]]:
        return [[] for _ in images]


def _draw_scan(path: Path) -> tuple[list[OcrWord], list[float], list[float]]:
    """An A4 page image at 150 dpi holding an annex table, turned by SKEW degrees, saved as an image-only PDF."""
    cv2 = pytest.importorskip("cv2")
    np = pytest.importorskip("numpy")
    pdfium = pytest.importorskip("pypdfium2")
    w, h = round(595 / 72 * DPI), round(842 / 72 * DPI)
    img = np.full((h, w), 255, np.uint8)
    xs = [100, 260, 700, 880, 1140]
    ys = [300, 380, 460, 540, 620]
    words: list[OcrWord] = []

    def put(text: str, x: int, y: int) -> None:
        for token in text.split():
            (tw, th), base = cv2.getTextSize(token, cv2.FONT_HERSHEY_SIMPLEX, 0.7, 2)
            cv2.putText(img, token, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 0, 2, cv2.LINE_AA)
            words.append(OcrWord(token, x, y - th, x + tw, y + base, 95.0))
            x += tw + 12

    put("Annexe 1 - Plan d'actions", 100, 250)
    for row, y in zip([HEADER, *ROWS], ys, strict=False):
        for text, x in zip(row, xs, strict=False):
            put(text, x + 10, y + 35)
    for y in ys:
        cv2.line(img, (xs[0], y), (xs[-1], y), 0, 2)
    for x in xs:
        cv2.line(img, (x, ys[0]), (x, ys[-1]), 0, 2)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), SKEW, 1.0)
    img = cv2.warpAffine(img, turn, (w, h), flags=cv2.INTER_CUBIC, borderValue=255)
    jpeg = path.with_suffix(".jpg")
    cv2.imwrite(str(jpeg), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(595, 842)
    image = pdfium.PdfImage.new(pdf)
    with jpeg.open("rb") as fh:
        image.load_jpeg(fh, inline=True)
    image.set_matrix(pdfium.PdfMatrix().scale(595, 842))
    page.insert_obj(image)
    page.gen_content()
    pdf.save(str(path))
    pdf.close()
    scale = 72 / DPI
    return words, [x * scale for x in xs], [y * scale for y in ys]


@dataclass
class FakeScan:
    pages: list[Page]
    xs: list[float]
    ys: list[float]
    path: Path


@pytest.fixture(scope="module")
def fake_scan(tmp_path_factory: pytest.TempPathFactory) -> FakeScan:
    path = tmp_path_factory.mktemp("scan") / "scan.pdf"
    words, xs, ys = _draw_scan(path)
    engine = FakeEngine(words)
    register_engine("fake", lambda: engine)
    pages = ocr_pages_if_needed(path, read_pdf_pages(path), "fra", OcrSettings(engine="fake", dpi=DPI))
    assert engine.calls == [1]
    return FakeScan(pages, xs, ys, path)


def test_scan_page_decision_and_skew_are_recorded(fake_scan: FakeScan) -> None:
    page = fake_scan.pages[0]
    assert page.ocr.needed and page.ocr.reason == "page image sans couche texte"
    assert page.ocr.engine.startswith("fake")
    assert page.ocr.deskew_degrees == pytest.approx(-SKEW, abs=0.1)
    assert page.ocr.mean_confidence == pytest.approx(95.0)
    assert all(w.conf == 95.0 for w in page.words)


def test_rules_are_found_level_and_in_points(fake_scan: FakeScan) -> None:
    xs, ys = fake_scan.xs, fake_scan.ys
    rulings = fake_scan.pages[0].rulings
    hs = sorted({round(r.top) for r in rulings if r.orientation == "h"})
    vs = sorted({round(r.x0) for r in rulings if r.orientation == "v"})
    assert len(hs) == len(ys) and len(vs) == len(xs)
    for found, drawn in zip(hs + vs, ys + xs, strict=True):
        assert found == pytest.approx(drawn, abs=2.0)
    for r in rulings:
        assert (r.top == r.bottom) if r.orientation == "h" else (r.x0 == r.x1)


def test_the_table_engine_reads_the_scan(fake_scan: FakeScan) -> None:
    convention = pages_to_convention(fake_scan.pages, "scan.pdf", "0" * 64)
    assert convention.ocr and convention.ocr_pages == [1]
    (annex,) = convention.annexes
    assert annex.annexe == "1" and annex.reports[0].method == "ruled"
    assert [ln.pilote_brut for ln in annex.lines] == ["DDETS", "SIAO", "CCAS"]
    amounts = [ln.financement_ami for ln in annex.lines]
    assert [a.value if a else None for a in amounts] == [Decimal(12000), Decimal(8500), Decimal(1305720)]
    assert all(a is not None and a.min_conf == 95.0 and not a.repairs for a in amounts)


def test_debug_images_show_the_ocr_frame(fake_scan: FakeScan, tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    from extract.debug import write_ocr_debug

    (path,) = write_ocr_debug(tmp_path, fake_scan.path, fake_scan.pages, "dossier/scan.pdf")
    assert path == tmp_path / "dossier__scan" / "page-001-ocr.png"
    height, width = cv2.imread(str(path)).shape[:2]
    assert abs(height - 842 * 1.5) <= 1 and abs(width - 595 * 1.5) <= 1
