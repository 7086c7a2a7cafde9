"""The command line: `lda-conventions run INPUT_DIR --out OUT_DIR`."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(add_completion=False, help="Conventions Logement d'abord : extraction, contrôles, exports.")


@app.callback()
def _main() -> None:
    """lda-conventions."""


@app.command()
def run(
    input_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="dossier des PDF à traiter"),
    out: Path = typer.Option(..., "--out", help="dossier de sortie"),
) -> None:
    """Traite tous les PDF de INPUT_DIR et écrit les fichiers du contrat dans OUT."""
    from export.contract import write_contract
    from pipeline.batch import find_pdfs, run_one
    from pipeline.document import Options

    options = Options()
    results = []
    for path in find_pdfs(input_dir):
        fichier = path.relative_to(input_dir).as_posix()
        results.append(run_one(path, fichier, options))
        typer.echo(f"{fichier}: {results[-1].entry.statut}")
    write_contract(
        out,
        [r.convention for r in results if r.convention is not None],
        [f for r in results for f in r.flags],
        [r.entry for r in results],
    )
    failed = sum(r.entry.statut != "ok" for r in results)
    raise typer.Exit(code=0 if failed == 0 else 1)


def main() -> None:
    app()
