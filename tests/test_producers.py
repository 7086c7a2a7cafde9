"""Conventions from other PDF producers against their truth files (issues 9 and 14).

tests/fixtures/html: HTML printed by headless Chromium (row bands, header bands, no rules, bottom
borders, a table over two pages, new wordings), built by its make_fixtures.py.
tests/fixtures/spreadsheet: annexes exported by LibreOffice Calc (gridlines, merged title rows,
note rows, spreadsheet number formats, repeated headers), some joined to a convention text and a
scanned signature page, built by its make_fixtures.py.

A case the pipeline fails today is marked `xfail(strict=True)` with its issue: it turns red once
fixed, and the fixing engineer removes the marker.
"""

from __future__ import annotations

import zlib
from collections import Counter
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pdfplumber
import pytest

from extract.pdf import read_pdf_pages
from extract.tables import page_to_tables
from models import Convention, Flag
from pipeline.document import Options, process_document
from reconcile import convention_to_flags
from tests.conftest import FIXTURES, convention_of, fixture_pdfs, truth_of
from tests.test_unseen import AMOUNTS, TEXTS, _dec, _norm

FOLDERS = ("html", "spreadsheet")
CHECKS = ("annexes", "amounts", "fields", "declared", "document", "flags", "silent")

# (stem, check) -> why the pipeline fails it today; the case is an xfail(strict=True) until fixed.
# Empty since the grid (issue 14) and the column meaning (issue 9) landed: every case passes.
KNOWN: dict[tuple[str, str], str] = {}


def _cases(check: str) -> list[Any]:
    """One case per producer fixture for a check, marked xfail where KNOWN says it fails today."""
    out = []
    for folder in FOLDERS:
        for pdf in fixture_pdfs(folder):
            why = KNOWN.get((pdf.stem, check))
            marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
            if check == "document" and _has_image_page(pdf):
                marks.append(pytest.mark.slow)
            out.append(pytest.param(pdf, id=f"{folder}/{pdf.stem}", marks=marks))
    return out


@cache
def _has_image_page(pdf: Path) -> bool:
    """A page without any text layer (a scanned signature page): read only through OCR."""
    with pdfplumber.open(pdf) as doc:
        return any(not p.chars for p in doc.pages)


@cache
def _flags(pdf: Path) -> tuple[Flag, ...]:
    return tuple(convention_to_flags(convention_of(pdf)))


def _paired(pdf: Path) -> list[tuple[str, list[dict[str, Any]], list[Any]]]:
    """Each truth annex with its rows and the pipeline's lines, once the row counts agree."""
    got = {a.annexe: a for a in convention_of(pdf).annexes}
    out = []
    for annex in truth_of(pdf)["annexes"]:
        assert annex["annexe"] in got, f"annexe {annex['annexe']} absente"
        lines = got[annex["annexe"]].lines
        assert len(lines) == len(annex["rows"]), f"annexe {annex['annexe']} : lignes"
        out.append((annex["annexe"], annex["rows"], lines))
    return out


def test_every_producer_fixture_has_its_truth() -> None:
    for folder in FOLDERS:
        pdfs = fixture_pdfs(folder)
        assert len(pdfs) >= 5, folder
        assert len(pdfs) == len(list((FIXTURES / folder).glob("*.pdf"))), folder
        for pdf in pdfs:
            truth = truth_of(pdf)
            assert truth["file_stem"] == pdf.stem
            assert sum(len(a["rows"]) for a in truth["annexes"]) >= 4, pdf.name


def test_known_failures_name_real_cases() -> None:
    """Every xfail entry names a fixture and a check that exist (no stale marker)."""
    stems = {p.stem for folder in FOLDERS for p in fixture_pdfs(folder)}
    assert {(stem in stems, check in CHECKS) for stem, check in KNOWN} <= {(True, True)}


def test_producer_fixtures_stay_small() -> None:
    total = sum(p.stat().st_size for folder in FOLDERS for p in (FIXTURES / folder).glob("*.pdf"))
    assert total < 5_000_000
    for folder in FOLDERS:
        for pdf in fixture_pdfs(folder):
            assert len(read_pdf_pages(pdf)) <= 6, pdf.name


@pytest.mark.parametrize("pdf", _cases("annexes"))
def test_annexes_and_their_rows(pdf: Path) -> None:
    """Every annex found, with exactly its action rows; no annex more."""
    conv = convention_of(pdf)
    truth = truth_of(pdf)["annexes"]
    assert {a.annexe: len(a.lines) for a in conv.annexes} == {a["annexe"]: len(a["rows"]) for a in truth}


@pytest.mark.parametrize("pdf", _cases("amounts"))
def test_amounts(pdf: Path) -> None:
    for annexe, rows, lines in _paired(pdf):
        for row, ln in zip(rows, lines, strict=True):
            for f in AMOUNTS:
                a = getattr(ln, f)
                assert (a.value if a else None) == _dec(row[f]), f"annexe {annexe} ligne {row['ligne']} {f}"


@pytest.mark.parametrize("pdf", _cases("fields"))
def test_row_fields(pdf: Path) -> None:
    """Pilots, statuses, the AMI column's nature and period, and every text field of each row."""
    for annexe, rows, lines in _paired(pdf):
        for row, ln in zip(rows, lines, strict=True):
            where = f"annexe {annexe} ligne {row['ligne']}"
            assert set(ln.pilotes) == set(row["pilotes"]), where
            assert (ln.statut, ln.evolution_financement) == (row["statut"], row["evolution_financement"]), where
            assert (ln.nature_financement_ami, ln.periode_financement) == (
                row["nature_financement_ami"],
                row["periode_financement"],
            ), where
            assert _norm(ln.sources_cofinancement) == _norm(row["sources_cofinancement"]), where
            for f in TEXTS:
                assert _norm(getattr(ln, f)) == _norm(row[f]), f"{where} {f}"


@pytest.mark.parametrize("pdf", _cases("declared"))
def test_declared_amounts_and_totals(pdf: Path) -> None:
    truth = truth_of(pdf)
    expected = Counter((m["role"], Decimal(m["montant"])) for m in truth["montants_declares"])
    expected += Counter((t["role"], Decimal(t["montant"])) for a in truth["annexes"] for t in a["totals"])
    found = Counter((d.role, d.montant) for d in convention_of(pdf).declared)
    assert found == expected


@cache
def _document_convention(pdf: Path) -> Convention:
    """The convention as a run reads it: through OCR when a page (a scanned signature) has no text."""
    if not _has_image_page(pdf):
        return convention_of(pdf)
    return process_document(pdf, pdf.name, Options(workers=1, use_cache=False))[0]


@pytest.mark.parametrize("pdf", _cases("document"))
def test_document_fields(pdf: Path) -> None:
    fields = _document_convention(pdf).fields
    for name, value in truth_of(pdf)["document"].items():
        if name in ("titre", "notes"):
            continue
        assert (getattr(fields, name) or None) == (value or None), name


@pytest.mark.parametrize("pdf", _cases("flags"))
def test_flags(pdf: Path) -> None:
    """Each expected flag found once (same code, and annex and row where the truth gives them), no other."""
    left = list(_flags(pdf))
    for want in truth_of(pdf)["expected_flags"]:
        match = next(
            (
                f
                for f in left
                if f.code == want["code"]
                and (not want["annexe"] or f.annexe == want["annexe"])
                and (want["ligne"] is None or f.ligne == want["ligne"])
            ),
            None,
        )
        assert match is not None, want
        assert match.gravite == want["gravite"], want
        left.remove(match)
    assert not left, [f.message for f in left]


@pytest.mark.parametrize("pdf", _cases("silent"))
def test_no_amount_is_lost_silently(pdf: Path) -> None:
    """An annex whose rows or amounts are not all read right carries an `erreur` or `alerte` flag."""
    got = {a.annexe: a for a in convention_of(pdf).annexes}
    warned = {f.annexe for f in _flags(pdf) if f.gravite in ("erreur", "alerte")}
    for annex in truth_of(pdf)["annexes"]:
        lines = got[annex["annexe"]].lines if annex["annexe"] in got else []
        right = len(lines) == len(annex["rows"]) and all(
            (getattr(ln, f).value if getattr(ln, f) else None) == _dec(row[f])
            for row, ln in zip(annex["rows"], lines, strict=False)
            for f in AMOUNTS
        )
        assert right or annex["annexe"] in warned, f"annexe {annex['annexe']} : montants faux sans alerte"


# ---------------------------------------------------------------- touching cell texts (issue 14)


def _pdf(content: bytes, width: int = 420, height: int = 200) -> bytes:
    """A one-page PDF drawing `content` (a content stream) with Helvetica as /F1 (standard 14 font)."""
    stream = zlib.compress(content)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>".encode(),
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


HELVETICA_DIGIT = 556  # advance width of every digit in Helvetica, per 1000 em


def _text(s: str, x: float, y: float, size: float = 9, right: bool = False) -> str:
    if right:  # digits only
        x -= len(s) * HELVETICA_DIGIT * size / 1000
    return f"BT /F1 {size} Tf {x:.3f} {y:.3f} Td ({s}) Tj ET\n"


def test_touching_texts_of_two_ruled_cells_stay_in_their_cells(tmp_path: Path) -> None:
    """A number right-aligned against a vertical ruling and a text left-aligned against it on the
    other side make one word `348,5` in the text layer: the ruling must still cut it in two."""
    xs, ys = [40.0, 200.0, 380.0], [160.0, 135.0, 115.0, 95.0]
    content = "0.5 w\n"
    content += "".join(f"{xs[0]} {y} m {xs[-1]} {y} l S\n" for y in ys)
    content += "".join(f"{x} {ys[-1]} m {x} {ys[0]} l S\n" for x in xs)
    content += _text("AMI 2025 (kEUR)", 44, 144) + _text("Cofinancement (kEUR)", 204, 144)
    content += _text("34", 200, 121, right=True) + _text("8,5 (ARS)", 200, 121)
    content += _text("12", 200, 101, right=True) + _text("3 (CAF)", 200, 101)
    pdf = tmp_path / "grille.pdf"
    pdf.write_bytes(_pdf(content.encode("latin-1")))
    page = read_pdf_pages(pdf)[0]
    assert "348,5" in [w.text for w in page.words]  # the trap is real: the text layer joins the two cells
    tables = page_to_tables(page)
    assert len(tables) == 1
    cells = [[c.text for c in row.cells] for row in tables[0].rows]
    assert ["34", "8,5 (ARS)"] in cells
    assert ["12", "3 (CAF)"] in cells


def test_touching_texts_of_two_borderless_columns_are_cut_at_the_column_boundary(tmp_path: Path) -> None:
    """No ruling: the gap that rows above and below leave between two columns is a boundary, even where
    one row's texts touch across it (`34` | `8,5 (ARS)` read as one word `348,5`)."""
    content = _text("Pilote", 40, 170) + _text("AMI 2025", 150, 170) + _text("Cofinancement", 208, 170)
    for y, pilot, ami, cof, touching in [
        (148, "DDETS", "12", "3 (CAF)", False),
        (126, "SIAO", "34", "8,5 (ARS)", True),
        (104, "CCAS", "20", "5 (CAF)", False),
        (82, "ADIL", "16", "4 (CAF)", False),
    ]:
        content += _text(pilot, 40, y) + _text(ami, 200 if touching else 196, y, right=True)
        content += _text(cof, 200 if touching else 208, y)
    pdf = tmp_path / "sans_grille.pdf"
    pdf.write_bytes(_pdf(content.encode("latin-1")))
    page = read_pdf_pages(pdf)[0]
    assert "348,5" in [w.text for w in page.words]
    tables = page_to_tables(page)
    assert len(tables) == 1
    cells = [[c.text for c in row.cells] for row in tables[0].rows]
    assert ["SIAO", "34", "8,5 (ARS)"] in cells
    assert ["DDETS", "12", "3 (CAF)"] in cells
