"""Real Tesseract on two scanned annex pages: text compared fuzzily, amounts exactly (`slow`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from rapidfuzz import fuzz

from extract.layout import page_text
from extract.ocr import ocr_pages_if_needed
from extract.pdf import read_pdf_pages
from models import Convention, Page
from normalize.text import fold
from pipeline.document import pages_to_convention

SCAN = Path(__file__).parent / "fixtures" / "scan"
PDFS = sorted(SCAN.glob("*.pdf"))


def _tesseract_fra() -> bool:
    if not shutil.which("tesseract"):
        return False
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=False).stdout
    return "fra" in langs.split()


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _tesseract_fra(), reason="tesseract with French data (tesseract-ocr-fra) not installed"),
]


@cache
def _read(pdf: Path) -> tuple[list[Page], Convention]:
    pages = ocr_pages_if_needed(pdf, read_pdf_pages(pdf), "fra")
    return pages, pages_to_convention(pages, pdf.name, "0" * 64)


def _expected(pdf: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(pdf.with_name(pdf.stem + ".expected.json").read_text(encoding="utf-8"))
    return data


def test_fixtures_are_present() -> None:
    assert len(PDFS) >= 2 and all(p.with_name(p.stem + ".expected.json").exists() for p in PDFS)


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: p.stem)
def test_page_is_ocrd_and_its_text_matches_the_born_digital_twin(pdf: Path) -> None:
    pages, _ = _read(pdf)
    (page,) = pages
    assert page.ocr.needed and page.ocr.engine.startswith("tesseract")
    assert 0.1 <= abs(page.ocr.deskew_degrees) <= 2.0
    assert page.ocr.mean_confidence is not None and page.ocr.mean_confidence > 85
    expected = fold(" ".join(_expected(pdf)["text_lines"]))
    found = fold(page_text(page.words).replace("\n", " "))
    assert fuzz.token_sort_ratio(expected, found) >= 95
    assert len(page.rulings) >= 10


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: p.stem)
def test_annex_rows_and_amounts_are_exact(pdf: Path) -> None:
    _, convention = _read(pdf)
    rows = _expected(pdf)["rows"]
    lines = [ln for a in convention.annexes for ln in a.lines]
    assert len(lines) == len(rows)
    for ln, row in zip(lines, rows, strict=True):
        for field in ("cout_total", "financement_ami", "cofinancement"):
            a = getattr(ln, field)
            got = a.value if a is not None else None
            assert got == (Decimal(row[field]) if row[field] else None), (row["ligne"], field, a)
        assert fuzz.ratio(fold(ln.action), fold(row["action"])) >= 90, (ln.action, row["action"])
        assert fold(ln.pilote_brut) == fold(row["pilote_brut"])
