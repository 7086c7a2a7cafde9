"""Analysts' corrections: reading French Excel files, applying them, re-running the checks, the template."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from models import Flag, RunEntry
from pipeline.batch import DocumentResult
from pipeline.corrections import (
    Correction,
    apply_corrections,
    correct_results,
    read_corrections,
    run_corrections,
    template_csv,
)
from reconcile import convention_to_flags
from tests.conftest import FIXTURES, convention_of

AMP = FIXTURES / "lattice" / "CPO_AMP_2023-2025.pdf"
HEADER = "fichier;annexe;ligne;champ;valeur;motif"


def _k(champ: str, valeur: str, annexe: str = "1", ligne: str = "9", fichier: str = AMP.name) -> Correction:
    return Correction(fichier=fichier, annexe=annexe, ligne=ligne, champ=champ, valeur=valeur, motif="test", numero=2)


@pytest.mark.parametrize(
    ("data", "amount"),
    [
        (f"{HEADER}\r\nx.pdf;1;9;cout_total;388 000,00 €;coquille\r\n".encode("utf-8-sig"), "388 000,00 €"),
        (f"{HEADER}\nx.pdf;1;9;cout_total;388.000;coquille\n".encode(), "388.000"),
        (b'fichier,annexe,ligne,champ,valeur,motif\nx.pdf,1,9,cout_total,"388 000",coquille\n', "388 000"),
        (f"{HEADER}\r\nx.pdf;1;9;cout_total;388\u00a0000 €;réécrit à la main\r\n".encode("cp1252"), "388\u00a0000 €"),
        (f"Fichier;Annexe;Ligne;Champ;Valeur;Motif\nx.pdf;1;9;cout_total;{'388000'};m\n".encode(), "388000"),
    ],
    ids=["semicolon-bom", "semicolon-no-bom", "comma", "windows-1252", "capitalised-header"],
)
def test_french_excel_files_are_read(tmp_path: Path, data: bytes, amount: str) -> None:
    path = tmp_path / "corrections.csv"
    path.write_bytes(data)
    corrections, problems = read_corrections(path)
    assert problems == []
    [k] = corrections
    assert (k.fichier, k.annexe, k.ligne, k.champ, k.valeur, k.numero) == ("x.pdf", "1", "9", "cout_total", amount, 2)


def test_a_file_without_the_needed_columns_is_one_alert(tmp_path: Path) -> None:
    path = tmp_path / "corrections.csv"
    path.write_text("nom;montant\nx;1\n", encoding="utf-8")
    corrections, [problem] = read_corrections(path)
    assert corrections == []
    assert problem.code == "CORRECTION_NOT_APPLIED" and problem.gravite == "alerte"
    assert "fichier" in problem.message and "champ" in problem.message


def test_unfilled_template_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "corrections.csv"
    path.write_text(f"{HEADER}\nx.pdf;1;9;cout_total;;\n;;;;;\n", encoding="utf-8")
    assert read_corrections(path) == ([], [])


def test_a_corrected_amount_reruns_the_checks() -> None:
    c = convention_of(AMP)
    before = convention_to_flags(c)
    assert any(f.code == "ROW_ARITHMETIC" and f.annexe == "1" and f.ligne == 9 for f in before)
    corrected, [flag] = apply_corrections(c, [_k("cout_total", "388 000 €")])
    line = next(ln for ln in corrected.annexes[0].lines if ln.ligne == 9)
    assert line.amount("cout_total") == Decimal("388000")
    assert next(ln for ln in c.annexes[0].lines if ln.ligne == 9).amount("cout_total") == Decimal("396000")
    assert (flag.code, flag.gravite, flag.trouve, flag.attendu) == ("CORRECTION_APPLIED", "info", "396000", "388000")
    assert "« test »" in flag.message
    after = convention_to_flags(corrected)
    assert not any(f.code == "ROW_ARITHMETIC" and f.ligne == 9 for f in after)


@pytest.mark.parametrize(
    ("correction", "why"),
    [
        (_k("cout_total", "1 000", ligne="99"), "pas de ligne 99"),
        (_k("cout_total", "1 000", annexe="7"), "pas d'annexe « 7 »"),
        (_k("couleur", "rouge"), "pas une colonne"),
        (_k("cout_total", "environ mille"), "pas un montant"),
        (_k("statut", "presque fini"), "pas une valeur de statut"),
        (_k("ligne", "3"), "ne se corrige pas"),
        (_k("date_signature", "le 31 février", annexe="", ligne=""), "pas une date"),
        (_k("annee_debut", "vingt", annexe="", ligne=""), "pas une année"),
    ],
)
def test_a_correction_that_cannot_apply_is_an_alert(correction: Correction, why: str) -> None:
    c = convention_of(AMP)
    corrected, [flag] = apply_corrections(c, [correction])
    assert (flag.code, flag.gravite) == ("CORRECTION_NOT_APPLIED", "alerte")
    assert why in flag.message and "ligne 2" in flag.message
    assert corrected.model_dump() == c.model_dump()


def test_document_fields_are_corrected_and_a_filled_blank_is_no_longer_missing() -> None:
    c = convention_of(AMP)
    assert any(f.code == "MISSING_FIELD" and f.champ == "date_signature" for f in convention_to_flags(c))
    k = _k("date_signature", "16/10/2023", annexe="", ligne="")
    corrected, [flag] = apply_corrections(c, [k])
    assert corrected.fields.date_signature == "2023-10-16" and flag.attendu == "2023-10-16"
    assert not any(f.code == "MISSING_FIELD" and f.champ == "date_signature" for f in convention_to_flags(corrected))
    corrected, [flag] = apply_corrections(c, [_k("statut", "réalisée", ligne="1")])
    assert corrected.annexes[0].lines[0].statut == "realisee" and flag.code == "CORRECTION_APPLIED"


def _result(c_fichier: str = AMP.name) -> DocumentResult:
    c = convention_of(AMP).model_copy(update={"fichier": c_fichier})
    extraction = Flag(fichier=c_fichier, code="EXTRACTION_FAILED", gravite="erreur", message="exemple")
    return DocumentResult(
        entry=RunEntry(fichier=c_fichier, statut="ok"), convention=c, flags=[extraction, *convention_to_flags(c)]
    )


def test_results_keep_their_other_flags_and_unknown_files_are_flagged() -> None:
    result = _result("Marseille/CPO_AMP_2023-2025.pdf")
    corrections = [_k("cout_total", "388000"), _k("cout_total", "1", fichier="absent.pdf")]
    [corrected], [orphan] = correct_results([result], corrections)
    codes = [f.code for f in corrected.flags]
    assert codes.count("EXTRACTION_FAILED") == 1  # not a check: kept as it was
    assert "ROW_ARITHMETIC" in [f.code for f in result.flags] and "ROW_ARITHMETIC" not in codes
    assert "CORRECTION_APPLIED" in codes  # named by its last part, the only file with that name
    assert orphan.code == "CORRECTION_NOT_APPLIED" and orphan.fichier == "absent.pdf"
    assert "aucun document" in orphan.message
    assert all(
        f.territoire == "Métropole Aix-Marseille-Provence" for f in corrected.flags if f.code != "EXTRACTION_FAILED"
    )


def test_no_corrections_file_changes_nothing(tmp_path: Path) -> None:
    results = [_result()]
    assert run_corrections(tmp_path, None, results) == (results, [])


def test_the_template_lists_errors_and_alerts_for_excel() -> None:
    flags = convention_to_flags(convention_of(AMP))
    rows = [{k: "" if v is None else str(v) for k, v in f.model_dump().items()} for f in flags]
    data = template_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][:6] == ["fichier", "annexe", "ligne", "champ", "valeur", "motif"]
    wanted = [f for f in flags if f.gravite in ("erreur", "alerte")]
    assert len(lines) - 1 == len(wanted) > 0
    assert all(line[4] == "" for line in lines[1:])
    assert {line[6] for line in lines[1:]} == {f.code for f in wanted}
