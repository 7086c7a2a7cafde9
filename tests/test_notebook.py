"""`lda_conventions`: the run from a notebook, OUT_DIR as typed DataFrames, equal to what the CLI wrote."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import lda_conventions as lda
from lda_conventions.frames import OutputError
from pipeline.cli import ExitCode, app

ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "samples"
TABLES = ("actions", "documents", "montants_declares", "flags", "run")
HEAVY = ("spacy", "cv2", "pdfplumber", "pytesseract", "camelot", "ocrmypdf", "pypdfium2")


def _loaded_after(statement: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after `statement`."""
    code = f"import json, sys; {statement}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_import_loads_no_extraction_stack() -> None:
    assert _loaded_after("import lda_conventions") == []
    # the probe does see a heavy module once something imports it
    assert _loaded_after("import lda_conventions, pdfplumber") == ["pdfplumber"]


# --- a hand-written OUT_DIR: types, exact sums ------------------------------------------------------------------


ACTIONS = """\
fichier,annexe,ligne,page,numero,pilote_brut,pilotes,action,objectif,description,indicateurs,statut_brut,statut,\
evolution_financement,cout_total,financement_ami,nature_financement_ami,periode_financement,cofinancement,\
sources_cofinancement,commentaire
a.pdf,1,1,5,,DDETS/EPCI,DDETS;EPCI,"Action 1, sur deux
lignes",,,,En cours,en_cours,,,{0},demande,2024,,,
a.pdf,1,2,5,,,,Action 2,,,,,,,,{1},demande,2024,,,
a.pdf,1,3,6,,CD,CD,Action 3,,,,Réalisée,realisee,,,{2},demande,2024,,,
"""
DOCUMENTS = """\
fichier,sha256,type_document,titre,annee_debut,annee_fin,territoire,siret,iban,lieu_signature,date_signature,pages,ocr
a.pdf,{},avenant,Avenant,2024,,Dijon Métropole,,,Dijon,2024-03-05,8,true
""".format("0" * 64)
DECLARED = """\
fichier,page,role,montant,periode,extrait
a.pdf,2,soutien_etat,15000.50,2024,quinze mille euros
"""
FLAGS = """\
territoire,fichier,code,gravite,page,annexe,ligne,attendu,trouve,message
Dijon Métropole,a.pdf,TOTAL_MISMATCH,erreur,5,1,,1,2,total
Dijon Métropole,a.pdf,CODE_FUTUR,info,,,,,,un code qu'une version future ajoute
"""
SYNTHESE = """\
territoire,fichier,type_document,annee_debut,annee_fin,actions,cout_total,financement_ami,cofinancement,\
soutien_etat_declare,ecart_soutien,erreurs,alertes,infos
Dijon Métropole,a.pdf,avenant,2024,,3,,15000.80,,15000.50,0.30,1,0,1
"""
RUN = [
    {"fichier": "a.pdf", "statut": "ok", "erreur": None, "territoire": "Dijon Métropole", "pages": 8, "secondes": 1.25}
]


def _out_dir(root: Path, ami: tuple[str, str, str] = ("0.10", "0.20", "15000.50")) -> Path:
    """An OUT_DIR as the CLI writes it, by hand: one territory, three action rows with these AMI amounts."""
    out = root / "out"
    t = out / "territories" / "dijon-metropole"
    t.mkdir(parents=True, exist_ok=True)
    for path, text in (
        (t / "actions.csv", ACTIONS.format(*ami)),
        (t / "documents.csv", DOCUMENTS),
        (t / "montants_declares.csv", DECLARED),
        (out / "flags.csv", FLAGS),
    ):
        path.write_text(text, encoding="utf-8")
    (out / "run.json").write_text(json.dumps(RUN), encoding="utf-8")
    return out


def test_amounts_are_exact_decimals_never_floats(tmp_path: Path) -> None:
    r = lda.read(_out_dir(tmp_path))
    for frame, column in ((r.actions, "financement_ami"), (r.actions, "cout_total"), (r.montants_declares, "montant")):
        assert frame[column].dtype == lda.AMOUNT
    assert 0.10 + 0.20 != 0.30  # what a float column would give
    assert r.actions.financement_ami.iloc[:2].sum() == Decimal("0.30")
    assert r.actions.financement_ami.iloc[2] == Decimal("15000.50")
    assert r.actions.financement_ami.sum() == Decimal("15000.80")
    assert r.montants_declares.montant.iloc[0] == Decimal("15000.50")
    by_territory = r.actions.groupby("territoire").financement_ami.sum()
    assert by_territory.dtype == lda.AMOUNT and by_territory["Dijon Métropole"] == Decimal("15000.80")
    assert pd.isna(r.actions.cout_total).all()


def test_columns_are_typed(tmp_path: Path) -> None:
    r = lda.read(_out_dir(tmp_path))
    a, d, f = r.actions, r.documents, r.flags
    assert a.columns[0] == "territoire" and a.territoire.tolist() == ["Dijon Métropole"] * 3
    assert a.pilotes.tolist() == [["DDETS", "EPCI"], [], ["CD"]]
    assert a.action.iloc[0] == "Action 1, sur deux\nlignes" and a.statut_brut.iloc[2] == "Réalisée"
    assert str(a.ligne.dtype) == "Int64" and a.ligne.tolist() == [1, 2, 3]
    assert isinstance(a.statut.dtype, pd.CategoricalDtype) and "a_lancer" in a.statut.cat.categories
    assert pd.isna(a.statut.iloc[1]) and a.statut.iloc[2] == "realisee"
    assert isinstance(a.nature_financement_ami.dtype, pd.CategoricalDtype)
    assert str(d.annee_debut.dtype) == "Int64" and d.annee_debut.iloc[0] == 2024 and pd.isna(d.annee_fin.iloc[0])
    assert d.date_signature.iloc[0] == pd.Timestamp("2024-03-05") and bool(d.ocr.iloc[0]) is True
    assert isinstance(d.type_document.dtype, pd.CategoricalDtype)
    assert isinstance(r.montants_declares.role.dtype, pd.CategoricalDtype)
    # an unknown code is kept, never turned into a missing value
    assert f.code.tolist() == ["TOTAL_MISMATCH", "CODE_FUTUR"]
    assert f.gravite.cat.ordered and (f.gravite >= "alerte").tolist() == [True, False]
    assert pd.isna(f.ligne.iloc[0]) and f.page.iloc[0] == 5
    assert r.run.statut.iloc[0] == "ok" and pd.isna(r.run.erreur.iloc[0]) and r.run.secondes.iloc[0] == 1.25
    assert r.synthese is None


def test_synthese_is_read_when_the_run_wrote_it(tmp_path: Path) -> None:
    out = _out_dir(tmp_path)
    (out / "synthese.csv").write_text(SYNTHESE, encoding="utf-8")
    s = lda.read(out).synthese
    assert s is not None and s.ecart_soutien.dtype == lda.AMOUNT and s.ecart_soutien.iloc[0] == Decimal("0.30")
    assert s.actions.iloc[0] == 3 and str(s.erreurs.dtype) == "Int64"


def test_an_amount_that_is_not_euros_and_cents_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="financement_ami"):
        lda.read(_out_dir(tmp_path, ("0.10", "0.125", "1")))
    with pytest.raises(OutputError, match="« 12 k€ » n'est pas un montant"):
        lda.read(_out_dir(tmp_path, ("0.10", "12 k€", "1")))


def test_bad_folders_and_options_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"run\.json absent"):
        lda.read(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"aucun fichier \.pdf"):
        lda.run(tmp_path, out=tmp_path / "out")
    with pytest.raises(ValueError, match="workers"):
        lda.run(SAMPLES, out=tmp_path / "out", workers=0)


def test_a_file_in_error_is_a_warning_and_a_run_row(tmp_path: Path) -> None:
    shutil.copy(ROOT / "tests" / "fixtures" / "bad" / "vide.pdf", tmp_path / "vide.pdf")
    with pytest.warns(UserWarning, match=r"1 fichier\(s\) sur 1 en erreur.*vide\.pdf"):
        r = lda.run(tmp_path, out=tmp_path / "out", workers=1, progress=False)
    assert r.run.statut.tolist() == ["erreur"] and r.flags.code.tolist() == ["EXTRACTION_FAILED"]
    assert r.actions.empty and list(r.actions.columns)[:2] == ["territoire", "fichier"]
    assert r.actions.financement_ami.dtype == lda.AMOUNT and r.actions.financement_ami.sum() == Decimal(0)


# --- the samples: lda.run against the CLI -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[lda.Results, Path]:
    """lda.run on a copy of samples/, then the CLI into another OUT seeded with the facade's cache."""
    root = tmp_path_factory.mktemp("notebook")
    shutil.copytree(SAMPLES, root / "in")
    result = lda.run(root / "in", out=root / "facade", workers=1, progress=False)
    shutil.copytree(root / "facade" / ".cache" / "results", root / "cli" / ".cache" / "results")
    done = CliRunner().invoke(app, ["run", str(root / "in"), "--out", str(root / "cli"), "--workers", "1"])
    assert done.exit_code == ExitCode.OK, done.output
    return result, root / "cli"


@pytest.mark.slow
def test_state_funding_equals_the_cli_csvs_exactly(runs: tuple[lda.Results, Path]) -> None:
    result, cli = runs
    total = Decimal(0)
    for path in sorted(cli.glob("territories/*/actions.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            total += sum((Decimal(r["financement_ami"]) for r in csv.DictReader(f) if r["financement_ami"]), Decimal(0))
    facade = result.actions.financement_ami.sum()
    assert isinstance(facade, Decimal) and facade == total and total > 0


@pytest.mark.slow
def test_reading_what_the_cli_wrote_gives_the_frames_of_run(runs: tuple[lda.Results, Path]) -> None:
    result, cli = runs
    again, from_cli = lda.read(result.out), lda.read(cli)
    assert len(result.actions) > 0 and len(result.documents) == len(list(SAMPLES.glob("*.pdf")))
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(again, table), getattr(result, table))
        # the CLI took every document from the facade's cache: the same options, the same cache key
        pd.testing.assert_frame_equal(getattr(from_cli, table), getattr(result, table))
    amounts = (result.actions.financement_ami, result.actions.cofinancement, result.montants_declares.montant)
    assert all(column.dtype == lda.AMOUNT for column in amounts)
