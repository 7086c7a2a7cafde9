"""The analyst's workflow on the AMP convention and its avenant: corrections, national view, followed actions."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import FIXTURES

CONVENTION = "CPO_AMP_2023-2025.pdf"
AVENANT = "Avenant_CPO_AMP_2024-2025.pdf"
SLUG = "metropole-aix-marseille-provence"
runner = CliRunner()


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _corrections(folder: Path, value: str) -> None:
    """Written as French Excel does: `;`, BOM, CRLF, amounts with spaces and a decimal comma."""
    text = (
        "fichier;annexe;ligne;champ;valeur;motif\r\n"
        f"{CONVENTION};1;9;cout_total;{value};coquille du PDF : 238 000 + 150 000\r\n"
        f"{CONVENTION};1;40;cout_total;1 000;ligne qui n'existe pas\r\n"
    )
    (folder / "corrections.csv").write_bytes(text.encode("utf-8-sig"))


@pytest.fixture(scope="module")
def amp(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("amp")
    for name in (CONVENTION, AVENANT):
        shutil.copy(FIXTURES / "lattice" / name, folder / name)
    _corrections(folder, "388 000,00 €")
    out = tmp_path_factory.mktemp("out")
    result = runner.invoke(app, ["run", str(folder), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    return folder, out


def test_the_corrected_amount_is_exported_and_its_check_is_gone(amp: tuple[Path, Path]) -> None:
    _, out = amp
    actions = _csv(out / "territories" / SLUG / "actions.csv")
    row = next(r for r in actions if r["fichier"] == CONVENTION and r["annexe"] == "1" and r["ligne"] == "9")
    assert Decimal(row["cout_total"]) == Decimal("388000")
    flags = _csv(out / "flags.csv")
    assert not [f for f in flags if f["code"] == "ROW_ARITHMETIC" and f["fichier"] == CONVENTION and f["ligne"] == "9"]
    [applied] = [f for f in flags if f["code"] == "CORRECTION_APPLIED"]
    assert (applied["gravite"], applied["trouve"], applied["attendu"]) == ("info", "396000", "388000")
    assert "coquille du PDF" in applied["message"]
    [refused] = [f for f in flags if f["code"] == "CORRECTION_NOT_APPLIED"]
    assert refused["gravite"] == "alerte" and refused["ligne"] == "40" and "pas de ligne 40" in refused["message"]
    # the total row printed in the PDF agreed with the typo: checked again, it now differs from the corrected rows
    assert any(f["code"] == "TOTAL_MISMATCH" and f["fichier"] == CONVENTION for f in flags)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Valeurs corrigées par les analystes" in report and 'class="corrige"' in report


def test_synthese_has_a_row_per_document_summing_its_actions(amp: tuple[Path, Path]) -> None:
    _, out = amp
    synthese = _csv(out / "synthese.csv")
    assert [r["fichier"] for r in synthese] == sorted([AVENANT, CONVENTION])
    sums: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for r in _csv(out / "territories" / SLUG / "actions.csv"):
        counts[r["fichier"]] += 1
        if r["financement_ami"]:
            sums[r["fichier"]] += Decimal(r["financement_ami"])
    flags = _csv(out / "flags.csv")
    for r in synthese:
        assert Decimal(r["financement_ami"]) == sums[r["fichier"]]
        assert int(r["actions"]) == counts[r["fichier"]]
        assert int(r["erreurs"]) == sum(f["fichier"] == r["fichier"] and f["gravite"] == "erreur" for f in flags)
    by_file = {r["fichier"]: r for r in synthese}
    assert by_file[CONVENTION]["soutien_etat_declare"] == "479000"  # its article's ceiling for 2023-2024
    assert by_file[AVENANT]["soutien_etat_declare"] == "197000"  # 2024-2025, not the 479 000 recalled for 2023
    ecart = Decimal(by_file[AVENANT]["financement_ami"]) - Decimal("197000")
    assert Decimal(by_file[AVENANT]["ecart_soutien"]) == ecart


def test_the_database_view_and_the_workbook_say_the_same(amp: tuple[Path, Path]) -> None:
    import duckdb
    from openpyxl import load_workbook

    _, out = amp
    synthese = _csv(out / "synthese.csv")
    con = duckdb.connect(str(out / "lda.duckdb"), read_only=True)
    try:
        view = con.execute("SELECT fichier, financement_ami, soutien_etat_declare, erreurs FROM synthese").fetchall()
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'synthese'").fetchone()
    finally:
        con.close()
    assert kind == ("VIEW",)
    assert [(f, Decimal(a), Decimal(s), e) for f, a, s, e in view] == [
        (r["fichier"], Decimal(r["financement_ami"]), Decimal(r["soutien_etat_declare"]), int(r["erreurs"]))
        for r in synthese
    ]
    wb = load_workbook(out / "synthese.xlsx")
    [ws] = wb.worksheets
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    header = [c.value for c in ws[1]]
    ami = ws.cell(row=2, column=header.index("Financement AMI") + 1).value
    assert isinstance(ami, int | float) and Decimal(str(ami)) == Decimal(synthese[0]["financement_ami"])


def test_shared_actions_are_followed(amp: tuple[Path, Path]) -> None:
    _, out = amp
    rows = _csv(out / "territories" / SLUG / "suivi_actions.csv")
    ref = {(r["fichier"], r["annexe"], r["ligne"]): r["action_ref"] for r in rows}
    shared = [((CONVENTION, "1", "1"), (AVENANT, "1", "1")), ((CONVENTION, "1", "9"), (AVENANT, "1", "9"))]
    shared += [((CONVENTION, "2", "4"), (AVENANT, "2", "11")), ((CONVENTION, "2", "5"), (AVENANT, "1", "4"))]
    for a, b in shared:
        assert ref[a] == ref[b], (a, b)
    assert ref[(CONVENTION, "1", "2")] != ref[(AVENANT, "2", "4")]  # « connaissance des publics », not the same
    assert len(rows) == len(_csv(out / "territories" / SLUG / "actions.csv"))


def test_an_edited_correction_reuses_the_cache(amp: tuple[Path, Path], tmp_path: Path) -> None:
    folder, out = amp
    edited = tmp_path / "in"
    shutil.copytree(folder, edited)
    _corrections(edited, "390 000")
    result = runner.invoke(app, ["run", str(edited), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "repris du cache" in result.output and "│ 2 " in result.output.split("repris du cache")[1][:40]
    actions = _csv(out / "territories" / SLUG / "actions.csv")
    row = next(r for r in actions if r["fichier"] == CONVENTION and r["ligne"] == "9" and r["annexe"] == "1")
    assert row["cout_total"] == "390000"
    # and the ROW_ARITHMETIC check is back: 390 000 ≠ 238 000 + 150 000
    assert any(f["code"] == "ROW_ARITHMETIC" and f["ligne"] == "9" for f in _csv(out / "flags.csv"))


def test_the_template_command_writes_a_file_to_fill(amp: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = amp
    target = tmp_path / "a_remplir.csv"
    result = runner.invoke(app, ["corrections", str(out), "--to", str(target)])
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    lines = list(csv.reader(data.decode("utf-8-sig").splitlines(), delimiter=";"))
    wanted = [f for f in _csv(out / "flags.csv") if f["gravite"] in ("erreur", "alerte")]
    wanted = [f for f in wanted if f["code"] not in ("EXTRACTION_FAILED", "CORRECTION_NOT_APPLIED")]
    assert len(lines) - 1 == len(wanted) and all(line[4] == "" for line in lines[1:])
    again = runner.invoke(app, ["corrections", str(out), "--to", str(target)])
    assert again.exit_code == 2  # an analyst's file is never overwritten without --force
