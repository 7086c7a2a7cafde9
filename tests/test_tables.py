"""Annex tables of real PDFs (ruled and borderless) against the expected values beside them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from models import AMOUNT_FIELDS, Convention
from normalize.text import fold
from tests.conftest import FIXTURES, convention_of, fixture_pdfs, truth_of

PDFS = fixture_pdfs("lattice") + fixture_pdfs("stream")


def _dec(v: Any) -> Decimal | None:
    return None if v in (None, "") else Decimal(str(v))


def _truth_rows(truth: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {a["annexe"]: a["rows"] for a in truth["annexes"] if a.get("rows")}


def _pred_rows(c: Convention) -> dict[str, list[Any]]:
    return {a.annexe: a.lines for a in c.annexes if a.lines}


def test_fixtures_are_present() -> None:
    assert len(fixture_pdfs("lattice")) >= 2 and len(fixture_pdfs("stream")) >= 2, FIXTURES


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_rows_amounts_and_pilots_match(pdf: Path) -> None:
    truth, conv = truth_of(pdf), convention_of(pdf)
    expected, found = _truth_rows(truth), _pred_rows(conv)
    assert sorted(found) == sorted(expected)
    for annexe, rows in expected.items():
        lines = found[annexe]
        assert len(lines) == len(rows), f"annexe {annexe}"
        for t, p in zip(rows, lines, strict=True):
            where = f"annexe {annexe} ligne {t['ligne']}"
            for f in AMOUNT_FIELDS:
                assert p.amount(f) == _dec(t[f]), f"{where} {f}"
            assert sorted(p.pilotes) == sorted(t["pilotes"]), where
            assert p.statut == t["statut"], where
            assert p.nature_financement_ami == t["nature_financement_ami"], where
            assert fold(p.action)[:40] == fold(t["action"])[:40], where


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_total_rows_become_declared_totals(pdf: Path) -> None:
    truth, conv = truth_of(pdf), convention_of(pdf)
    expected = sorted(
        (t.get("role") or "total_annexe", _dec(t["montant"])) for a in truth["annexes"] for t in a.get("totals") or []
    )
    found = sorted((d.role, d.montant) for d in conv.declared if d.annexe)
    assert found == expected


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_printed_totals_equal_column_sums_where_truth_says_so(pdf: Path) -> None:
    """Invariant: a total row the truth does not flag equals the sum of its column."""
    truth, conv = truth_of(pdf), convention_of(pdf)
    flagged = {
        (f.get("annexe"), f.get("raw_column") or "") for f in truth["expected_flags"] if f["code"] == "TOTAL_MISMATCH"
    }
    checked = 0
    for annex in conv.annexes:
        if any(a == annex.annexe for a, _ in flagged):
            continue
        for total in annex.totals:
            if total.role != "total_annexe" or "reliquat" in total.label.casefold():
                continue
            for col, amount in total.amounts.items():
                column_sum = sum((ln.amount(col) or Decimal(0) for ln in annex.lines), Decimal(0))  # type: ignore[arg-type]
                assert amount.value == column_sum, f"annexe {annex.annexe} {total.label} {col}"
                checked += 1
    if not any(a.get("totals") for a in truth["annexes"]):
        pytest.skip("no total row in this document")
    assert checked or flagged


def test_provenance_points_at_the_page_of_each_row() -> None:
    conv = convention_of(FIXTURES / "lattice" / "CPO_AMP_2023-2025.pdf")
    annex1 = next(a for a in conv.annexes if a.annexe == "1")
    assert annex1.lines[0].page == 6 and annex1.lines[0].provenance.bbox is not None
    assert annex1.lines[-1].page == 7
    # the row cut by the page break keeps its start page and gathers the text of the next page
    row7 = annex1.lines[6]
    assert row7.page == 6 and "expulsions domiciliaires" in row7.action
    assert all(r.method == "ruled" for r in annex1.reports)


def test_a_lone_word_cut_by_the_page_is_no_sub_header() -> None:
    # page 5 repeats the header, then `projets.` ends the description of page 4's last row: the word is a
    # concept word (`projet`), yet alone under a one-column label it is the row's end, not a header line
    conv = convention_of(FIXTURES / "lattice" / "Avenant_2024_CPO_Pellerive.pdf")
    annex1 = next(a for a in conv.annexes if a.annexe == "1")
    cut = next(ln for ln in annex1.lines if ln.description and "bail glissant" in (ln.action or ""))
    assert cut.description.endswith("appel à projets.")
    assert all(c.header.split()[-1] != "projets." for c in annex1.columns)


def test_borderless_choice_is_recorded() -> None:
    conv = convention_of(FIXTURES / "stream" / "CPO_Dijon_Metropole_2023-2025.pdf")
    reports = [r for a in conv.annexes for r in a.reports]
    assert reports and all(r.method == "borderless" and "réglures" in r.evidence for r in reports)


def _ocr_line(top: float, cells: list[tuple[float, str]]) -> list[Any]:
    from models import Word

    out = []
    for x, text in cells:
        x0 = x
        for t in text.split():
            out.append(Word(text=t, x0=x0, x1=x0 + 5 * len(t), top=top, bottom=top + 6))
            x0 += 5 * len(t) + 2  # words of one cell 2 pt apart
    return out


def test_a_number_after_a_label_keeps_an_ocr_header_a_header() -> None:
    # OCR sets `177` apart from `programme`; no bold says it is a label's: the line is still a header
    from extract.layout import words_to_lines
    from extract.tables import _amount_cell, _anchor_lines

    cells = [(50, "Réf."), (130, "Action"), (240, "Statut"), (330, "Budget")]
    cells += [(420, "Enveloppe programme"), (517, "177")]
    header = _ocr_line(66, cells)
    lines = words_to_lines(header + _ocr_line(90, [(50, "1"), (130, "Logement"), (240, "Active"), (330, "71 000 €")]))
    assert _anchor_lines(lines, 3.5) == [0]
    # a header cell holding a number and a word is a label, a cell of a number and its unit an amount
    assert not _amount_cell("177 (k€) Total") and _amount_cell("15 000 € (FSL)") and _amount_cell("150 000 euros")


def _moubares() -> tuple[list[Any], list[list[str]]]:
    """The OCR'd annex pages of a scanned held-out convention (issue 9) and its truth's amounts per row."""
    import json

    from models import Page

    data = json.loads((FIXTURES / "scan" / "moubares_annexe_ocr.json").read_text(encoding="utf-8"))
    return [Page.model_validate(p) for p in data["pages"]], data["rows"]


def test_an_ocr_parent_label_spreads_with_its_unit_over_its_yearly_columns() -> None:
    # `Enveloppe du programme 177` / `sollicitée pour 2026-2027 (k€)` over `2026 | 2027 | Total`: OCR sets
    # `177` and `(k€)` a little apart; the whole label leads the three columns, the AMI is the Total in k€
    from pipeline.document import pages_to_convention
    from reconcile import convention_to_flags

    pages, expected = _moubares()
    conv = pages_to_convention(pages, "moubares.pdf", "0" * 64)
    [annex] = conv.annexes
    ami = annex.column("financement_ami")
    assert ami and ami.multiplier == 1000 and ami.header.endswith("(k€) Total")
    got = [
        [ln.numero, *(str(int(v)) if (v := ln.amount(f)) is not None else "" for f in AMOUNT_FIELDS)]
        for ln in annex.lines
    ]
    assert got == expected
    assert convention_to_flags(conv) == []


def test_a_unit_cut_from_its_ocr_label_is_an_alert() -> None:
    # the same header with no `177` and its `(k€)` set farther apart than the page's words are spaced (OCR's
    # phrase gap, 1.6 word spaces, still holds it at 5 pt): which column the unit is for is a guess, said
    from pipeline.document import pages_to_convention
    from reconcile import convention_to_flags

    pages, _ = _moubares()
    moved = []
    for p in pages:
        ends = [w for w in p.words if w.text == "2026-2027"]
        unit = next(w for w in p.words if w.text == "(k€)" and any(0 < w.x0 - e.x1 < 5 for e in ends))
        words = [
            w.model_copy(update={"x0": w.x0 + 8, "x1": w.x1 + 8}) if w is unit else w
            for w in p.words
            if not (w.text == "177" and w.top < unit.top)
        ]
        moved.append(p.model_copy(update={"words": words}))
    flags = convention_to_flags(pages_to_convention(moved, "moubares.pdf", "0" * 64))
    cut = [f for f in flags if "libellé coupé" in f.message]
    assert cut and all(f.code == "COLUMN_UNRECOGNISED" and f.gravite == "alerte" and f.annexe == "1" for f in cut)
