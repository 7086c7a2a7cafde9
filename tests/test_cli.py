"""`lda-conventions run`: outputs, exit codes, cache reuse, usage errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import ExitCode, app
from tests.conftest import FIXTURES

GOOD = FIXTURES / "lattice" / "Convention_partenariat_ARHlm_Frenaval_2024-2026.pdf"
BAD = FIXTURES / "bad"
runner = CliRunner()


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, ["run", *map(str, args)])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("mixed")
    (d / "Frenaval").mkdir()
    shutil.copy(GOOD, d / "Frenaval" / "convention.pdf")
    shutil.copy(BAD / "vide.pdf", d / "vide.pdf")
    return d


def _outputs(out: Path) -> dict[str, bytes]:
    """Every output whose bytes must not change when nothing changed (the report names no time)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".cache" not in p.parts and p.suffix in (".csv", ".html")
    }


def test_help_documents_options_and_exit_codes() -> None:
    result = runner.invoke(app, ["run", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for option in ("--workers", "--document-timeout", "--abort-on-error", "--no-cache", "--debug-dir", "--out"):
        assert option in text
    for code in ExitCode:
        assert f"{int(code)} " in text
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {int(code)} |" in readme, f"README lacks exit code {int(code)}"


def test_a_mixed_folder_writes_everything_and_exits_1_then_reuses_the_cache(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = _run(mixed, "--out", out, "--workers", "2")
    assert code == ExitCode.FILES_FAILED, output
    run = {e["fichier"]: e for e in json.loads((out / "run.json").read_text(encoding="utf-8"))}
    assert run["Frenaval/convention.pdf"]["statut"] == "ok"
    assert run["vide.pdf"] == run["vide.pdf"] | {"statut": "erreur", "erreur": "fichier vide (0 octet)"}
    [territory] = list((out / "territories").iterdir())
    for name in (
        "actions.csv",
        "documents.csv",
        "montants_declares.csv",
        "actions_excel.csv",
        f"{territory.name}.xlsx",
    ):
        assert (territory / name).is_file(), name
    for name in ("flags.csv", "report.html", "lda.duckdb"):
        assert (out / name).is_file(), name
    assert "vide.pdf" in output and "documents en erreur" in output
    first = _outputs(out)

    code, output = _run(mixed, "--out", out)
    assert code == ExitCode.FILES_FAILED
    assert "repris du cache" in output and "│ 2" in output.split("repris du cache")[1][:40]
    assert _outputs(out) == first


def test_all_good_exits_0_and_no_cache_leaves_no_cache(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(GOOD, src / "c.pdf")
    code, output = _run(src, "--out", tmp_path / "out", "--no-cache", "--debug-dir", tmp_path / "debug")
    assert code == ExitCode.OK, output
    assert not (tmp_path / "out" / ".cache").exists()
    assert list((tmp_path / "debug").rglob("page-*.png"))


def test_abort_on_error_exits_3(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(BAD / "pas_un_pdf.pdf", src / "a.pdf")
    code, output = _run(src, "--out", tmp_path / "out", "--abort-on-error", "--workers", "1")
    assert code == ExitCode.ABORTED, output
    assert "interrompu" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers"),
        (["--document-timeout", "-5"], "--document-timeout"),
    ],
)
def test_invalid_options_exit_2_with_a_french_message(
    mixed: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    code, output = _run(mixed, "--out", tmp_path / "out", *args)
    assert code == ExitCode.USAGE and message in output and "invalide" in output


def test_a_folder_without_pdf_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("rien", encoding="utf-8")
    code, output = _run(tmp_path, "--out", tmp_path / "out")
    assert code == ExitCode.USAGE and "aucun fichier .pdf" in output


def test_an_unwritable_out_exits_4(mixed: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "fichier"
    blocker.write_text("pas un dossier", encoding="utf-8")
    code, output = _run(mixed, "--out", blocker / "out")
    assert code == ExitCode.OUTPUT_FAILED and "écriture impossible" in output


def test_importing_the_cli_and_exports_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    heavy = ("openpyxl", "duckdb", "pypdfium2", "pandas", "psutil", "PIL", "spacy", "pdfplumber")
    code = (
        "import sys, pipeline.cli, pipeline.batch, pipeline.bench, export.bundle, export.report, export.xlsx, "
        f"export.store, export.excel_csv, export.debug; print([m for m in {heavy!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_same_name_in_two_style_folders_of_the_shared_corpus(shared_corpus: Path, tmp_path: Path) -> None:
    name = "CPO_Dijon_Metropole_2023-2025.pdf"
    for style in ("lattice", "stream"):
        (tmp_path / "in" / style).mkdir(parents=True)
        shutil.copy(shared_corpus / style / name, tmp_path / "in" / style / name)
    code, output = _run(tmp_path / "in", "--out", tmp_path / "out")
    assert code == ExitCode.OK, output
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert sorted(e["fichier"] for e in run) == [f"lattice/{name}", f"stream/{name}"]
    [territory] = list((tmp_path / "out" / "territories").iterdir())
    documents = (territory / "documents.csv").read_text(encoding="utf-8")
    assert f"lattice/{name}" in documents and f"stream/{name}" in documents


def test_a_broken_lexicon_is_a_usage_error(mixed: Path, tmp_path: Path) -> None:
    lexique = tmp_path / "lexique.toml"
    lexique.write_text("[concepts\n", encoding="utf-8")
    code, output = _run(mixed, "--out", tmp_path / "out", "--lexique", lexique)
    assert code == ExitCode.USAGE and "lexique" in output and "illisible" in output
    assert not (tmp_path / "out" / "run.json").exists()


def test_an_export_that_fails_costs_no_other_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report breaking on a record: the contract files and the other exports are written, exit code 4."""
    import export.bundle

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("min() arg is an empty sequence")

    monkeypatch.setattr(export.bundle, "write_report", broken)
    (tmp_path / "in").mkdir()
    shutil.copy(GOOD, tmp_path / "in" / GOOD.name)
    out = tmp_path / "out"
    code, output = _run(tmp_path / "in", "--out", out, "--no-cache")
    assert code == ExitCode.OUTPUT_FAILED, output
    assert "report.html non écrit (ValueError" in " ".join(output.split())
    for name in ("actions.csv", "flags.csv", "run.json", "synthese.csv", "lda.duckdb"):
        assert list(out.rglob(name)), name
    assert not (out / "report.html").exists()
