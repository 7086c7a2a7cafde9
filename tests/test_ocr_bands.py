"""Scanned annexes drawn with a dark header band and shaded rows (a browser's print, then a desk scanner): the
header is read, the rows come apart, amounts are exact. Image filters checked on synthetic pages."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rapidfuzz import fuzz

from extract.image import invert_dark_bands
from extract.ocr import ocr_pages_if_needed
from extract.pdf import read_pdf_pages
from models import Convention
from normalize.text import fold
from pipeline.document import pages_to_convention
from tests.test_ocr_slow import _tesseract_fra

HERE = Path(__file__).parent / "fixtures"
CASES = {  # the scanned page -> the born-digital fixture whose truth holds its rows
    "grandtarzac_annexe_p2": "CPO_GrandTarzac_2024-2026",
    "sarnelle_annexe_p2": "Avenant_2024_CPO_PaysdeSarnelle",
}
AMOUNTS = ("cout_total", "financement_ami", "cofinancement")


@cache
def _read(stem: str) -> Convention:
    pdf = HERE / "scan_bands" / f"{stem}.pdf"
    pages = ocr_pages_if_needed(pdf, read_pdf_pages(pdf), "fra")
    return pages_to_convention(pages, pdf.name, "0" * 64)


def _truth(stem: str) -> list[dict[str, Any]]:
    truth = json.loads((HERE / "html" / f"{CASES[stem]}.truth.json").read_text(encoding="utf-8"))
    return [r for a in truth["annexes"] for r in a["rows"]]


@pytest.mark.slow
@pytest.mark.skipif(not _tesseract_fra(), reason="tesseract with French data (tesseract-ocr-fra) not installed")
@pytest.mark.parametrize("stem", sorted(CASES))
def test_banded_scans_give_every_row_and_exact_amounts(stem: str) -> None:
    lines = [ln for a in _read(stem).annexes for ln in a.lines]
    rows = _truth(stem)
    assert len(lines) == len(rows)
    for ln, row in zip(lines, rows, strict=True):
        got = tuple(a.value if (a := getattr(ln, f)) is not None else None for f in AMOUNTS)
        assert got == tuple(Decimal(row[f]) if row[f] else None for f in AMOUNTS), row["ligne"]
        assert fuzz.ratio(fold(ln.action), fold(row["action"])) >= 90, (ln.action, row["action"])
        assert ln.statut == row["statut"]


def _page_with_band() -> np.ndarray[Any, Any]:
    page = np.full((400, 800), 255, np.uint8)
    page[100:160, 50:750] = 60  # a dark header band
    page[120:140, 100:110] = 250  # a light letter stroke on it
    page[250:270, 100:110] = 10  # dark text on paper
    page[300, 50:750] = 0  # a rule
    return page


def test_a_dark_band_is_inverted_and_nothing_else() -> None:
    page = _page_with_band()
    out = invert_dark_bands(page, 200)
    assert out[130, 300] == 255 and out[130, 105] < 60  # ground white, the letter dark
    assert out[260, 105] == 10 and out[300, 400] == 0  # text on paper and rules untouched
    assert (out[:90] == page[:90]).all()  # paper above the band stays paper


def test_a_bold_letters_counters_on_a_band_turn_white_with_its_ground() -> None:
    page = np.full((400, 800), 255, np.uint8)
    page[100:200, 50:750] = 89  # a grey header band (a browser's #555 once scanned)
    page[135:165, 100:126] = 250  # a bold light `o` (12 pt at 200 dpi): a ring of strokes...
    page[141:159, 106:120] = 89  # ...around a counter of band grey, wider than the closing reaches
    page[120:180, 300:500] = 255  # a white box inside the band, larger than a letter (a field, not text)
    out = invert_dark_bands(page, 200)
    assert out[150, 113] == 255  # the counter is ground: white, as the band's
    assert out[150, 102] < 60  # the stroke dark
    assert out[150, 400] == 255  # a hole larger than a letter is left as it was, not inverted to black
