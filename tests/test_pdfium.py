"""The pdfium reader against the pdfplumber one: same words, boxes, characters, rulings and fills."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pytest

from extract.ocr import page_image_info
from extract.pdf import read_pdf, read_pdf_pages
from extract.pdfium import (
    _CID_WIDTHS,
    _cid_widths,
    _cmap,
    _descents,
    _exact_widths,
    _fractional_widths,
    _round4,
    _word,
    read_pdfium,
)
from models import Page, Word

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "tests" / "fixtures").rglob("*.pdf")) + sorted((ROOT / "samples").glob("*.pdf"))
SHARED = Path(os.environ.get("LDA_SHARED", ROOT.parent.parent / "shared")).resolve()
if not (SHARED / "corpus").is_dir():
    SHARED = Path("/work/shared")
TOL = 0.01


def _box(a: object, b: object) -> bool:
    return all(abs(getattr(a, k) - getattr(b, k)) <= TOL for k in ("x0", "top", "x1", "bottom"))


def differences(ref: list[Page], got: list[Page]) -> list[str]:
    """What differs between two readings of a file (empty when they agree within 0.01 pt)."""
    out = [] if len(ref) == len(got) else [f"{len(ref)} pages against {len(got)}"]
    for a, b in zip(ref, got, strict=False):
        if abs(a.width - b.width) > TOL or abs(a.height - b.height) > TOL:
            out.append(f"p{a.number}: page size")
        if len(a.words) != len(b.words):
            out.append(f"p{a.number}: {len(a.words)} words against {len(b.words)}")
        for wa, wb in zip(a.words, b.words, strict=False):
            same_chars = len(wa.chars) == len(wb.chars) and all(
                abs(x - y) <= TOL
                for ca, cb in zip(wa.chars, wb.chars, strict=True)
                for x, y in zip(ca, cb, strict=True)
            )
            if wa.text != wb.text or wa.bold != wb.bold or not _box(wa, wb) or not same_chars:
                out.append(f"p{a.number}: word {wa.text!r} {wa.bbox} against {wb.text!r} {wb.bbox}")
        if len(a.rulings) != len(b.rulings):
            out.append(f"p{a.number}: {len(a.rulings)} rulings against {len(b.rulings)}")
        for ra, rb in zip(a.rulings, b.rulings, strict=False):
            if ra.orientation != rb.orientation or ra.source != rb.source or not _box(ra, rb):
                out.append(f"p{a.number}: ruling {ra} against {rb}")
        if len(a.fills) != len(b.fills) or not all(_box(fa, fb) for fa, fb in zip(a.fills, b.fills, strict=False)):
            out.append(f"p{a.number}: fills")
    return out


def _compare(pdf: Path) -> tuple[bool, list[str]]:
    """Whether pdfium read the file, and what differs from pdfplumber when it did."""
    got = read_pdfium(pdf)
    if got is None:
        return False, []
    ref = read_pdf_pages(pdf, reader="pdfplumber")
    assert got.drawings == page_image_info(pdf)  # the OCR decision sees the same figures
    return True, differences(ref, got.pages)


# Files the fast path takes whole (fractional and standard-font widths included, Chromium's CID fonts with their
# descriptor under DescendantFonts and their ligatures, LibreOffice's exports).
FAST_PATH = ("lattice", "stream", "unseen", "scan", "samples", "html", "grid", "spreadsheet")
# two fonts of one name with different descents (a file made of two producers' pages): the pages that use them are
# pdfplumber's
DECLINED = ("CPO_Ravenac_2025-2027.pdf",)


@pytest.mark.parametrize("pdf", [p for p in FIXTURES if "bad" not in p.parts], ids=lambda p: p.name)
def test_pdfium_reads_like_pdfplumber(pdf: Path) -> None:
    read, diffs = _compare(pdf)
    assert diffs == []
    assert read or pdf.parent.name not in FAST_PATH or pdf.name in DECLINED


@pytest.mark.parametrize("pdf", [p for p in FIXTURES if "bad" not in p.parts], ids=lambda p: p.name)
def test_the_pipeline_reader_gives_pdfplumbers_pages(pdf: Path) -> None:
    """Page by page, pdfium where it reproduces pdfplumber and pdfplumber elsewhere: the same pages."""
    assert differences(read_pdf_pages(pdf, reader="pdfplumber"), read_pdf_pages(pdf)) == []


def test_differences_sees_a_moved_word() -> None:
    pdf = ROOT / "tests" / "fixtures" / "lattice" / "CPO_AMP_2023-2025.pdf"
    pages = read_pdf_pages(pdf)
    moved = [p.model_copy(update={"words": [w.model_copy(update={"x0": w.x0 + 0.05}) for w in p.words]}) for p in pages]
    assert differences(pages, moved)


def test_fractional_widths_are_read_from_the_font_dictionaries() -> None:
    assert _fractional_widths(b"<< /Type /Font /Widths [ 513.18 644 ] >>")
    assert not _fractional_widths(b"<< /Type /Font /Widths [ 513 644 ] >>")
    assert _fractional_widths(b"<< /W [ 3 [ 250.5 300 ] ] >>")
    assert _fractional_widths(b"<< /Widths 12 0 R >>\n12 0 obj [ 500 277.8 ] endobj")
    cmap = b"2 beginbfchar\n<01> <00AB>\n<02> <20AC>\nendbfchar\n1 beginbfrange\n<03> <04> <0061>\nendbfrange"
    assert _cmap(cmap) == {1: "«", 2: "€", 3: "a", 4: "b"}
    font = b"5 0 obj\n<< /BaseFont /AAAAAA+DejaVuSerif /FirstChar 1 /ToUnicode 6 0 R /Widths [ 556.5 600 ] >>\nendobj\n"
    stream = b"6 0 obj\n<< /Length 40 >>\nstream\n" + cmap + b"\nendstream\nendobj\n"
    assert _exact_widths(font + stream) == {"DejaVuSerif": {"«": 556.5, "€": 600.0}}
    # fractional widths pdfminer would map through a font encoding, not a ToUnicode map: not guessed
    assert _exact_widths(font.replace(b"/ToUnicode 6 0 R", b"")) is None


def test_read_pdf_falls_back_to_pdfplumber_without_figures(tmp_path: Path) -> None:
    """A file pdfium declines is read by pdfplumber, and the OCR decision then counts on its own."""
    src = ROOT / "samples" / "CPO_AMP_2023-2025.pdf"
    data = src.read_bytes()
    bad = tmp_path / "x.pdf"
    bad.write_bytes(data.replace(b"/FontName /", b"/FontNam_ /", 1))  # a font without descriptor name
    assert read_pdfium(bad) is None
    pages, drawings = read_pdf(bad)
    assert drawings is None and pages == read_pdf_pages(bad, reader="pdfplumber")


@pytest.mark.parametrize("pdf", sorted((ROOT / "tests" / "fixtures" / "bad").glob("*.pdf")), ids=lambda p: p.name)
def test_bad_files_fare_alike_with_both_readers(pdf: Path) -> None:
    """The same French error, or the same repaired pages, whichever reader reads the file."""
    from extract.errors import InputError

    def outcome(reader: Literal["pdfium", "pdfplumber"]) -> str | list[Page]:
        try:
            return read_pdf_pages(pdf, reader=reader)
        except InputError as e:
            return str(e)

    fast, ref = outcome("pdfium"), outcome("pdfplumber")
    if isinstance(ref, str):
        assert fast == ref
    else:
        assert isinstance(fast, list) and differences(ref, fast) == []


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="needs the shared corpus")
def test_pdfium_reads_the_public_corpus_like_pdfplumber() -> None:
    read = 0
    for style in ("lattice", "stream"):
        for pdf in sorted((SHARED / "corpus" / style).glob("*.pdf")):
            ok, diffs = _compare(pdf)
            assert diffs == [], pdf.name
            read += ok
    assert read == 90  # both folders take the fast path


def test_cid_fonts_widths_are_read_by_character() -> None:
    """Skia's CID fonts (Chromium's print to PDF): fractional /W widths, mapped to characters by the ToUnicode map,
    ligatures included, under the font's name without its subset prefix."""
    data = (ROOT / "tests" / "fixtures" / "grid" / "headgrid.pdf").read_bytes()
    assert _fractional_widths(data, None, (_CID_WIDTHS,))
    widths = _cid_widths(data)
    assert widths is not None
    assert widths["DejaVuSans"]["€"] > 0 and "AAAAAA+DejaVuSans" not in widths
    assert widths["DejaVuSans-Bold"]["ﬁ"] != int(widths["DejaVuSans-Bold"]["ﬁ"])  # as written, not rounded down
    assert _cid_widths(data.replace(b"/Identity-H", b"/Identity-V")) is None  # vertical writing: not reproduced


def test_fonts_of_one_name_that_disagree_are_marked() -> None:
    """Two descriptors of one font name with different descents: that name is unknown (its pages go to
    pdfplumber), the other fonts keep theirs."""
    got = _descents(
        [
            b"1 0 obj << /FontName /AAAAAA+Sans /Descent -200 >> endobj 2 0 obj << /FontName /BAAAAA+Sans /Descent 0 >>"
            b" endobj 3 0 obj << /FontName /Serif /Descent -250 >> endobj"
        ]
    )
    assert got["Serif"] == -0.25 and got["Sans"] != got["Sans"]  # NaN


def test_words_built_without_validation_are_validated_words() -> None:
    """`_word` skips pydantic's validation: the same model, state and field order as `Word(...)`."""
    args = ("été", 1.5, 2.0, 3.25, 12.0, True, ((1.5, 2.0), (2.0, 2.5), (2.5, 3.25)))
    ref = Word(text="été", x0=1.5, top=2.0, x1=3.25, bottom=12.0, bold=True, chars=args[6])
    got = _word(*args)
    assert got == ref and repr(got) == repr(ref) and got.__getstate__() == ref.__getstate__()
    assert got.model_dump_json() == ref.model_dump_json() and hash(got) == hash(ref)


def test_round4_is_round() -> None:
    """`_round4` is `round(v, 4)` to the bit, near ties, zeros and far values included."""
    import random
    import struct

    rng = random.Random(11)
    values = [rng.uniform(-50, 1500) for _ in range(20000)] + [k / 20000 for k in range(-30000, 30000)]
    values += [k / 20000 + d for k in range(-500, 500) for d in (1e-13, -1e-13)]
    values += [0.0, -0.0, 4e-5, -4e-5, 5e-5, -5e-5, 1e12, -1e300, float("inf"), 2.675, 1.00005]
    assert all(struct.pack("d", _round4(v)) == struct.pack("d", round(v, 4)) for v in values)
