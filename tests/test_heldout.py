"""Documents of the randomised held-out generator (`tests/fixtures/heldout/generate.py`), kept as
fixtures with their truth: the cases that told a failure class (issues 9 and 14).

The same checks as the producer fixtures (`tests/test_producers.py`): annexes and rows, amounts,
fields, declared amounts and totals, document fields, flags (every expected one, no other), and no
wrong amount without an `erreur`/`alerte` on its annex. A case the pipeline fails is marked
`xfail(strict=True)` with the reason, so a fix turns it red until the marker is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from extract.pdf import read_pdf_pages
from extract.tables import page_to_tables
from normalize.columns import concept_hits, header_hits
from normalize.lexique import builtin_lexique
from normalize.statuses import evolution, statut
from tests import test_producers as producers
from tests.conftest import FIXTURES, fixture_pdfs, truth_of

FOLDER = "heldout"
CHECKS: dict[str, Callable[[Path], None]] = {
    "annexes": producers.test_annexes_and_their_rows,
    "amounts": producers.test_amounts,
    "fields": producers.test_row_fields,
    "declared": producers.test_declared_amounts_and_totals,
    "document": producers.test_document_fields,
    "flags": producers.test_flags,
    "silent": producers.test_no_amount_is_lost_silently,
}

# (stem, check) -> why the pipeline fails it today
KNOWN: dict[tuple[str, str], str] = {}


def _cases() -> list[Any]:
    out = []
    for pdf in fixture_pdfs(FOLDER):
        for check in CHECKS:
            why = KNOWN.get((pdf.stem, check))
            marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
            out.append(pytest.param(pdf, check, id=f"{pdf.stem}:{check}", marks=marks))
    return out


def test_heldout_fixtures_are_there_and_small() -> None:
    pdfs = fixture_pdfs(FOLDER)
    assert len(pdfs) >= 4
    assert len(pdfs) == len(list((FIXTURES / FOLDER).glob("*.pdf")))
    assert sum(p.stat().st_size for p in pdfs) < 2_000_000
    for pdf in pdfs:
        assert truth_of(pdf)["file_stem"] == pdf.stem
        assert len(read_pdf_pages(pdf)) <= 4, pdf.name


def test_known_failures_name_real_cases() -> None:
    stems = {p.stem for p in fixture_pdfs(FOLDER)}
    assert all(stem in stems and check in CHECKS for stem, check in KNOWN)


@pytest.mark.parametrize(("pdf", "check"), _cases())
def test_heldout_document(pdf: Path, check: str) -> None:
    CHECKS[check](pdf)


# ---------------------------------------------------------------- the classes, one by one


def test_header_labels_are_found_from_concept_words_without_whole_labels() -> None:
    """Leave every whole label out: the concept words alone still name the field of nearly every
    label of the lexicon's `[libelles]` (what finds header lines)."""
    lex = builtin_lexique()
    pairs = [(f, w) for f, ws in lex.libelles.items() for w in ws]
    right = sum(concept_hits(w) == {f} for f, w in pairs)
    assert right >= 0.9 * len(pairs)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Enveloppe de l'État retenue pour 2026", "financement_ami"),
        ("Subvention Dihal sollicitée pour 2026 en euros", "financement_ami"),
        ("Concours AMI Logement d'abord sollicité au titre de 2024-2025", "financement_ami"),
        ("Apports des partenaires (k€)", "cofinancement"),
        ("Coût complet (€)", "cout_total"),
        ("Zone d'intervention", "geographie"),
        ("Porteur de projet", "pilote"),
    ],
)
def test_unseen_header_wordings_are_header_labels(header: str, field: str) -> None:
    assert field in header_hits(header)


def test_prose_and_body_cells_are_no_header_labels() -> None:
    for text in [
        "chef de projet de la démarche Logement d'abord",
        "Coordination du plan Logement d'abord",
        "Accompagnement santé mentale et logement",
        "Éviter les sorties sèches",
    ]:
        assert not header_hits(text), text


@pytest.mark.parametrize(
    ("raw", "code", "evol"),
    [
        ("À démarrer", "a_lancer", ""),  # `démarr` alone says the action is running
        ("1 - Action à construire", "a_lancer", ""),
        ("Renforcée", "en_cours", "augmentation"),  # the verb of `renforcement`
        ("Réalisée à 80 %", "realisee", ""),
        ("Nombre de logements à capter", "", ""),  # an indicator, not a status
    ],
)
def test_status_words_by_their_form(raw: str, code: str, evol: str) -> None:
    assert (statut(raw), evolution(raw)) == (code, evol)


def test_to_do_statuses_need_no_entry_of_their_verb() -> None:
    """Leave the `à …` entries out of the lexicon: `À lancer`, `À engager` are still to start."""
    lex = builtin_lexique()
    reduced = lex.without({e for e in lex.statuts["a_lancer"] if e.startswith("a ")} | {"lancer"})
    for raw in ("À lancer", "À engager", "À mettre en œuvre"):
        assert statut(raw, reduced) == "a_lancer", raw


def test_ruled_header_band_keeps_its_cell_borders() -> None:
    """A full grid whose header cells are filled (a dark band) under grey hairline borders: the
    borders over the band still cut the header into its cells."""
    pdf = next(p for p in fixture_pdfs(FOLDER) if "look=zebra-grid" in truth_of(p)["source_seed"])
    pages = read_pdf_pages(pdf)
    tables = [t for p in pages for t in page_to_tables(p)]
    ruled = [t for t in tables if t.report.method == "ruled"]
    assert ruled and all(sum(bool(c.text) for c in t.header) == len(t.header) for t in ruled)


def _low_confidence(headers: list[str], rows: list[list[str]]) -> list[str]:
    from reconcile import convention_to_flags
    from tests.test_columns import _convention, page_table

    conv = _convention([page_table(headers, rows)])
    return [f.message for f in convention_to_flags(conv) if "confiance faible" in f.message]


def test_an_empty_column_with_a_weak_header_raises_no_doubt() -> None:
    """A header fragment the OCR split into a column of its own (`Crédits du 177`) holds no amount:
    nothing of it can be wrong; the same weak header over amounts is still doubted."""
    rows = [["DDETS", "Plateforme d'accompagnement", "30 000 €", ""], ["CCAS", "Équipe mobile", "45 000 €", ""]]
    headers = ["Pilote", "Action", "Aide de l'État notifiée 2024", "Financements"]
    assert _low_confidence(headers, rows) == []
    filled = [[*r[:3], v] for r, v in zip(rows, ["12 000 €", "8 000 €"], strict=True)]
    assert _low_confidence(headers, filled)
