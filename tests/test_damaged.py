"""Damaged PDFs: repaired copies, pages left out, bounded resources, and seeded damage that never escapes."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pikepdf
import pytest

from export.contract import action_rows, declared_rows, document_row
from extract.errors import InputError
from extract.pdf import PlumberPages
from extract.repair import read_document
from models import Convention, Flag, Page
from pipeline.batch import DocumentResult, failed, run_batch, run_one
from pipeline.document import Options
from tests.conftest import FIXTURES
from tests.damage import KINDS, MUTATIONS, qpdf_opens

FRENAVAL = FIXTURES / "lattice" / "Convention_partenariat_ARHlm_Frenaval_2024-2026.pdf"
HAUTVERDAN = FIXTURES / "unseen" / "CPO_HautVerdan_2023-2025.pdf"
TRONQUE = FIXTURES / "bad" / "tronque.pdf"
FAST = Options(ocr=False, workers=1)
ROOT = Path(__file__).resolve().parent.parent


def _content(c: Convention) -> dict[str, object]:
    """What the analyst gets from a document, its file name and hash aside."""
    strip = ("fichier", "sha256")
    return {
        "actions": [{k: v for k, v in r.items() if k not in strip} for r in action_rows(c)],
        "declared": [{k: v for k, v in r.items() if k not in strip} for r in declared_rows(c)],
        "document": {k: v for k, v in document_row(c).items() if k not in strip},
    }


def _codes(r: DocumentResult, code: str) -> list[Flag]:
    return [f for f in r.flags if f.code == code]


@pytest.fixture(scope="module")
def intact() -> dict[str, DocumentResult]:
    """The fixtures read as they are."""
    return {p.name: run_one(p, p.name, FAST) for p in (FRENAVAL, HAUTVERDAN)}


def test_a_truncated_file_is_read_from_a_repaired_copy_and_the_input_is_untouched(tmp_path: Path) -> None:
    src = tmp_path / "tronque.pdf"
    shutil.copy(TRONQUE, src)
    before = src.read_bytes()
    r = run_one(src, "tronque.pdf", FAST)
    assert src.read_bytes() == before
    assert r.entry.statut == "ok" and r.convention is not None and r.convention.page_texts[0]
    [repaired] = _codes(r, "FILE_REPAIRED")
    assert repaired.gravite == "alerte" and repaired.message.startswith(
        "Fichier endommagé, lu depuis une copie réparée"
    )
    assert "table des références croisées reconstruite" in repaired.message
    assert not _codes(r, "EXTRACTION_FAILED")


def test_a_destroyed_xref_gives_the_intact_rows(intact: dict[str, DocumentResult], tmp_path: Path) -> None:
    data = HAUTVERDAN.read_bytes()
    start, trailer = data.rfind(b"\nxref"), data.rfind(b"trailer")
    blank = data[: start + 1] + b" " * (trailer - start - 1) + data[trailer:]
    (tmp_path / "xref.pdf").write_bytes(blank)
    r = run_one(tmp_path / "xref.pdf", HAUTVERDAN.name, FAST)
    assert r.entry.statut == "ok" and r.convention is not None
    ref = intact[HAUTVERDAN.name].convention
    assert ref is not None and ref.annexes
    assert _content(r.convention) == _content(ref)
    [repaired] = _codes(r, "FILE_REPAIRED")  # said even when the reader (pdfium) would have forgiven it
    assert "références croisées" in repaired.message


def _with_extra_page(src: Path, dest: Path, content: bytes, size: tuple[float, float] = (595, 842)) -> None:
    """`src` with one more page drawing `content` (already Flate-compressed)."""
    with pikepdf.open(src) as pdf:
        page = pdf.add_blank_page(page_size=size)
        stream = pikepdf.Stream(pdf, b"")
        stream.write(content, filter=pikepdf.Name.FlateDecode)
        page.obj.Contents = pdf.make_indirect(stream)
        pdf.save(dest)


def _inflating_to(megabytes: int) -> bytes:
    """Flate data of `megabytes` MB of content (a text line, then blanks): a few hundred kB on disk."""
    z = zlib.compressobj(9)
    out = [z.compress(b"BT /F1 12 Tf 72 720 Td (bombe) Tj ET\n")]
    chunk = b" " * (1 << 20)
    out += [z.compress(chunk) for _ in range(megabytes)]
    return b"".join([*out, z.flush()])


def test_a_page_whose_content_cannot_be_parsed_keeps_its_well_formed_instructions(
    intact: dict[str, DocumentResult], tmp_path: Path
) -> None:
    broken = zlib.compress(b"BT /F1 12 Tf 72 720 Td << /A 1 /B >> (x) Tj ET\n")  # a key without its value
    _with_extra_page(HAUTVERDAN, tmp_path / "page.pdf", broken)
    with read_document(tmp_path / "page.pdf", PlumberPages) as doc:  # pdfplumber raises on that page
        assert "page 3 illisible" in doc.repaired and "instructions illisibles écartées (page 3)" in doc.repaired
        assert not doc.unreadable and len(doc.pages) == 3
    r = run_one(tmp_path / "page.pdf", HAUTVERDAN.name, FAST)  # pdfium reads the page's well-formed part itself
    assert r.entry.statut == "ok" and r.entry.pages == 3 and r.convention is not None
    assert not _codes(r, "PAGE_UNREADABLE")
    ref = intact[HAUTVERDAN.name].convention
    assert ref is not None and ref.annexes
    got, want = _content(r.convention), _content(ref)
    assert got["actions"] == want["actions"] and got["declared"] == want["declared"]


def test_compressed_content_that_breaks_off_is_never_read_silently(tmp_path: Path) -> None:
    with pikepdf.open(FRENAVAL) as pdf:
        contents = pdf.pages[0].obj.Contents
        raw = contents.read_raw_bytes()
        contents.write(raw[: len(raw) // 2], filter=pikepdf.Name.FlateDecode)  # pdfminer reads half and says nothing
        pdf.save(tmp_path / "coupe.pdf")
    r = run_one(tmp_path / "coupe.pdf", "coupe.pdf", FAST)
    assert r.entry.statut == "ok"
    [repaired] = _codes(r, "FILE_REPAIRED")
    assert "page 1 illisible" in repaired.message and "instructions illisibles écartées (page 1)" in repaired.message
    assert "structure du fichier" not in repaired.message  # qpdf had nothing to repair in the structure


class FailingPages(PlumberPages):
    """A reader that raises on the pages in FAILING, whatever the file (any reader may meet a page it cannot read)."""

    FAILING: frozenset[int] = frozenset({2})

    def page(self, number: int) -> Page:
        if number in self.FAILING:
            raise ValueError(f"page {number} refused")
        return super().page(number)


def test_a_page_no_reader_can_read_is_left_out_and_the_rest_is_read(tmp_path: Path) -> None:
    with read_document(HAUTVERDAN, FailingPages) as doc:
        assert doc.path == HAUTVERDAN and not doc.repaired  # the repaired copy read no more: the input's reading stands
        assert [u.number for u in doc.unreadable] == [2] and doc.page_count == 2
        assert doc.pages[0].words and not doc.pages[1].words and doc.pages[1].number == 2
        [flag] = doc.flags("x.pdf")
        assert (flag.code, flag.gravite, flag.page) == ("PAGE_UNREADABLE", "alerte", 2)
        assert flag.message.startswith("Page 2 non lue (page endommagée)")

    class AllFail(FailingPages):
        FAILING = frozenset({1, 2})

    with pytest.raises(InputError, match="aucune de ses 2 pages n'a pu être lue"), read_document(HAUTVERDAN, AllFail):
        pass


def test_messages_name_the_fault_in_french_without_library_words(tmp_path: Path) -> None:
    for name in ("irreparable.pdf", "pas_un_pdf.pdf", "chiffre.pdf", "vide.pdf", "sans_page.pdf"):
        r = run_one(FIXTURES / "bad" / name, name, FAST)
        message = r.entry.erreur or ""
        assert r.entry.statut == "erreur" and message, name
        assert not any(w in message for w in ("Exception", "Error", "pdfminer", "qpdf", "/Root")), message
    r = run_one(FIXTURES / "bad" / "irreparable.pdf", "x.pdf", FAST)
    assert "endommagé" in (r.entry.erreur or "") and "irréparable" in (r.entry.erreur or "")


def test_what_the_libraries_said_goes_to_the_debug_log_only(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    shutil.copy(TRONQUE, tmp_path / "in" / "tronque.pdf")
    debug = tmp_path / "debug"
    outcome = run_batch(tmp_path / "in", Options(workers=1, ocr=False, debug_dir=debug), warm=False)
    [r] = outcome.results
    assert r.entry.statut == "ok" and [f.code for f in r.flags if f.gravite != "info"][:1] == ["FILE_REPAIRED"]
    journal = (debug / "journal.log").read_text(encoding="utf-8")
    assert "extract.repair" in journal and "file is damaged" in journal  # qpdf's own words, for a developer
    assert "file is damaged" not in " ".join(f.message for f in r.flags)


def test_a_page_that_cannot_be_rendered_for_ocr_is_reported_and_the_document_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import extract.image

    scan = FIXTURES / "scan" / "cubellisac_annexe_p4.pdf"

    def refuse(path: Path, index: int, dpi: int) -> object:
        raise RuntimeError(f"pdfium: page {index} refused")

    monkeypatch.setattr(extract.image, "render_page", refuse)
    r = run_one(scan, scan.name, Options(workers=1))
    assert r.entry.statut == "ok" and r.convention is not None and r.convention.ocr_pages == [1]
    [flag] = _codes(r, "PAGE_UNREADABLE")
    assert (flag.page, flag.gravite) == (1, "alerte") and "OCR" in flag.message and "RuntimeError" not in flag.message


# --- resource bounds --------------------------------------------------------------------------------------------

MEASURE = """
import json, sys
from pathlib import Path
from pipeline.batch import run_one
from pipeline.document import Options
out = []
for p in sys.argv[1:]:
    r = run_one(Path(p), Path(p).name, Options(workers=1))
    out.append({"fichier": r.entry.fichier, "statut": r.entry.statut, "erreur": r.entry.erreur, "pages": r.entry.pages,
                "flags": [[f.code, f.page, f.message] for f in r.flags if f.code in
                          ("PAGE_UNREADABLE", "FILE_REPAIRED", "EXTRACTION_FAILED")]})
print(json.dumps(out))
"""
BOMB_MB = 600  # what the bomb page's content inflates to; reading it would take well over PEAK_MB_AT_MOST more
PEAK_MB_AT_MOST = 900  # a reading of ordinary files peaks near 450 MB (models loaded)


def test_bombs_huge_pages_and_long_files_stay_within_memory(tmp_path: Path) -> None:
    _with_extra_page(FRENAVAL, tmp_path / "bombe.pdf", _inflating_to(BOMB_MB))
    text = zlib.compress(b"BT /F1 12 Tf 72 720 Td (immense) Tj ET\n")
    _with_extra_page(FRENAVAL, tmp_path / "immense.pdf", text, size=(14173, 14173))  # 5 m x 5 m
    with pikepdf.new() as pdf:
        for _ in range(400):
            pdf.add_blank_page()
        pdf.save(tmp_path / "blanc.pdf")
    assert all(p.stat().st_size < 2_000_000 for p in tmp_path.glob("*.pdf"))
    files = [str(tmp_path / n) for n in ("bombe.pdf", "immense.pdf", "blanc.pdf")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", MEASURE, *files], stdout=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    assert status == 0
    peak_mb = usage.ru_maxrss / 1024
    print(f"peak memory reading a {BOMB_MB} MB bomb, a 5 m page and 400 blank pages: {peak_mb:.0f} MB")
    assert peak_mb < PEAK_MB_AT_MOST
    by_file = {e["fichier"]: e for e in json.loads(output)}
    for name, page, words in (("bombe.pdf", 3, "contenu démesuré"), ("immense.pdf", 3, "format démesuré")):
        e = by_file[name]
        assert e["statut"] == "ok" and e["pages"] == 3, e
        assert [(c, p) for c, p, _ in e["flags"]] == [("PAGE_UNREADABLE", page)], e
        assert words in e["flags"][0][2]
    assert by_file["blanc.pdf"]["statut"] == "ok" and by_file["blanc.pdf"]["pages"] == 400


def _hog(path: Path, fichier: str, options: Options) -> tuple[Convention, list[Flag]]:
    del path, fichier, options
    hog = bytearray(16 << 30)  # 16 GB asked for at once
    raise AssertionError(f"the memory cap let {len(hog)} bytes through")


def greedy_runner(path: Path, fichier: str, options: Options) -> DocumentResult:
    """A worker runner for tests: `gourmand*` asks for far more memory than its worker may have."""
    if path.name.startswith("gourmand"):
        return run_one(path, fichier, options, process=_hog)
    return failed(fichier, "non traité", 0.0)


def test_a_worker_past_its_memory_cap_fails_its_file_and_the_batch_goes_on(tmp_path: Path) -> None:
    shutil.copy(FRENAVAL, tmp_path / "gourmand.pdf")
    shutil.copy(HAUTVERDAN, tmp_path / "suivant.pdf")
    outcome = run_batch(tmp_path, Options(workers=1, worker_memory_mb=2048), runner=greedy_runner, warm=False)
    by_file = {r.entry.fichier: r.entry for r in outcome.results}
    assert by_file["gourmand.pdf"].statut == "erreur"
    assert "mémoire insuffisante" in (by_file["gourmand.pdf"].erreur or "")
    assert "2048 Mo" in (by_file["gourmand.pdf"].erreur or "")
    assert by_file["suivant.pdf"].erreur == "non traité"  # the next file still got its worker


# --- seeded damage ----------------------------------------------------------------------------------------------

SEEDS = list(range(32))  # 8 of each kind, over two fixtures


@pytest.mark.parametrize("seed", SEEDS)
def test_seeded_damage_never_escapes_and_what_qpdf_opens_is_read(
    seed: int, intact: dict[str, DocumentResult], tmp_path: Path
) -> None:
    src = (FRENAVAL, HAUTVERDAN)[seed % 2]
    kind = KINDS[(seed // 2) % len(KINDS)]
    data, detail = MUTATIONS[kind](src.read_bytes(), random.Random(seed))
    path = tmp_path / f"{kind}.pdf"
    path.write_bytes(data)
    r = run_one(path, src.name, FAST)  # never raises: its own contract; what it returns is checked
    assert r.entry.fichier == src.name
    assert r.entry.statut == "ok" or (r.entry.erreur and "interne" not in r.entry.erreur), (detail, r.entry.erreur)
    assert all(f.message and f.fichier == src.name for f in r.flags)
    if qpdf_opens(path):
        assert r.entry.statut == "ok", (kind, detail, r.entry.erreur)
    if kind == "xref":
        ref = intact[src.name].convention
        assert r.convention is not None and ref is not None
        assert _content(r.convention) == _content(ref), detail


def test_a_page_pdfium_cannot_load_costs_no_report_crop_nor_debug_image(tmp_path: Path) -> None:
    """A file read from its repaired copy while pdfium cannot load one page of the input: every output written."""
    from typer.testing import CliRunner

    from pipeline.cli import ExitCode, app

    data = FRENAVAL.read_bytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "coupe.pdf").write_bytes(data[:3722] + data[3722 + 3916 :])  # page 2's objects cut
    out, debug = tmp_path / "out", tmp_path / "debug"
    result = CliRunner().invoke(app, ["run", str(tmp_path / "in"), "--out", str(out), "--debug-dir", str(debug)])
    assert result.exit_code == ExitCode.OK, result.output
    assert (out / "report.html").is_file() and list(debug.rglob("page-001.png"))
