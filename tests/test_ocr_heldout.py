"""Scanned annexes of the held-out generator that told a failure class of the OCR path (issue 9): dotted row
rules read as dashes that glued rows together (or left on the rule as a speck that hid it), header labels
whose OCR word spaces came out wider than the phrase gap, a header whose lines sit farther apart than its
ink-only boxes suggest. Every row, exact amounts. Image filters checked on synthetic pages."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rapidfuzz import fuzz

from extract.image import find_rules
from extract.ocr import ocr_pages_if_needed
from extract.pdf import read_pdf_pages
from models import Convention
from normalize.text import fold
from pipeline.document import pages_to_convention
from reconcile import convention_to_flags
from tests.test_ocr_slow import _tesseract_fra

HERE = Path(__file__).parent / "fixtures" / "scan_heldout"
STEMS = [
    "bartal_annexe_p2",
    "quindorville_annexe_p2",
    "sarmarville_annexe_p2",
    "valdorville_annexe_p2-3",
    "valzanieux_annexe_p2",
]
AMOUNTS = ("cout_total", "financement_ami", "cofinancement")


@cache
def _read(stem: str) -> Convention:
    pdf = HERE / f"{stem}.pdf"
    pages = ocr_pages_if_needed(pdf, read_pdf_pages(pdf), "fra")
    return pages_to_convention(pages, pdf.name, "0" * 64)


def _truth(stem: str) -> dict[str, Any]:
    truth: dict[str, Any] = json.loads((HERE / f"{stem}.truth.json").read_text(encoding="utf-8"))
    return truth


def _rows(stem: str) -> list[dict[str, Any]]:
    return [r for a in _truth(stem)["annexes"] for r in a["rows"]]


@pytest.mark.slow
@pytest.mark.skipif(not _tesseract_fra(), reason="tesseract with French data (tesseract-ocr-fra) not installed")
@pytest.mark.parametrize("stem", STEMS)
def test_heldout_scans_give_every_row_and_exact_amounts(stem: str) -> None:
    conv = _read(stem)
    lines = [ln for a in conv.annexes for ln in a.lines]
    rows = _rows(stem)
    assert len(lines) == len(rows)
    for ln, row in zip(lines, rows, strict=True):
        got = tuple(a.value if (a := getattr(ln, f)) is not None else None for f in AMOUNTS)
        assert got == tuple(Decimal(row[f]) if row[f] else None for f in AMOUNTS), row["ligne"]
        assert fuzz.ratio(fold(ln.action), fold(row["action"])) >= 85, (ln.action, row["action"])
        assert not ln.action.startswith(("-", ".")), ln.action  # no speck of a dotted rule read as a dash
        # the State's column read whole: its period and what its amount is (requested, granted)
        assert (ln.periode_financement, ln.nature_financement_ami) == (
            row["periode_financement"],
            row["nature_financement_ami"],
        ), row["ligne"]
    # the tables' totals agree with their rows (but where the document's own do not) and every column is
    # understood: no alarm the truth does not expect
    codes = {"TOTAL_MISMATCH", "ROW_ARITHMETIC", "AMOUNT_UNPARSED", "COLUMN_UNRECOGNISED"} - {
        f["code"] for f in _truth(stem)["expected_flags"]
    }
    wrong = [f for f in convention_to_flags(conv) if f.code in codes]
    assert not wrong, wrong


def _page_with_dotted_rule(dpi: int = 200) -> np.ndarray[Any, Any]:
    page = np.full((400, 1600), 255, np.uint8)
    for x in range(100, 1500, 4):  # a browser's 0.4 pt dotted border, once scanned: 3-pixel grey dots
        page[199:202, x : x + 3] = 120
    page[100:103, 100:1500:40] = 0  # full stops of a line of prose: small specks, far apart
    for x in range(100, 400, 12):  # a word's letters: strokes too tall to be dots
        page[300:322, x : x + 4] = 0
    return page


def test_a_dotted_rule_is_a_rule_and_is_painted_out() -> None:
    segments, mask = find_rules(_page_with_dotted_rule(), 200)
    [rule] = segments
    assert rule.orientation == "h" and abs(rule.top - 200) <= 1 and rule.x0 <= 110 and rule.x1 >= 1490
    assert mask[199:202, 100:1500].all(axis=0).mean() > 0.7  # its dots are under the mask: OCR reads no dashes
    assert not mask[100:103].any() and not mask[300:322].any()  # the specks of prose and a word are left


def test_a_row_of_specks_too_short_for_a_rule_is_no_rule() -> None:
    page = np.full((400, 1600), 255, np.uint8)
    for x in range(100, 160, 4):  # an ellipsis-like run of dots, shorter than any rule
        page[199:202, x : x + 3] = 120
    segments, mask = find_rules(page, 200)
    assert segments == [] and not mask.any()


def test_scanner_dust_is_no_dotted_rule() -> None:
    rng = np.random.default_rng(7)
    page = np.full((1700, 2300), 255, np.uint8)  # a landscape page at 200 dpi
    dust = rng.random(page.shape) < 1 / 800  # a desk scanner's black specks (`make_scan.py`'s density)
    page[dust] = 0
    segments, mask = find_rules(page, 200)
    assert segments == [] and not mask.any()
