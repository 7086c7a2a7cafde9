"""`lda.run`: the CLI's batch and exports, then the written folder read back."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from lda_conventions.frames import Results, read


def run(input_dir: str | Path, *, out: str | Path, progress: bool = True, **options: Any) -> Results:
    """Process every PDF under `input_dir` as `lda-conventions run` does, write OUT, and return OUT read back.

    `options` are those of `pipeline.document.Options` (workers, document_timeout, abort_on_error, use_cache,
    debug_dir, ocr, ocr_language, lexique, worker_memory_mb); the cache is OUT/.cache, shared with the CLI, and
    INPUT_DIR/corrections.csv, when present, is applied as by the CLI.
    """
    from rich.console import Console

    from pipeline.batch import find_pdfs
    from pipeline.cli import excluded, execute
    from pipeline.document import Options

    settings = Options(**{k: v for k, v in options.items() if v is not None})
    source, dest = Path(input_dir), Path(out)
    if not source.is_dir():
        raise NotADirectoryError(f"{source} n'est pas un dossier")
    if not find_pdfs(source, excluded(dest, settings)):
        raise FileNotFoundError(f"aucun fichier .pdf dans {source}")
    dest.mkdir(parents=True, exist_ok=True)
    # rich draws its bar in a terminal and in Jupyter (with ipywidgets); forced off when not wanted
    console = Console(stderr=True) if progress else Console(stderr=True, force_terminal=False, force_jupyter=False)
    done = execute(source, dest, settings, console)
    outcome = done.outcome
    for problem in done.problems:  # the contract files are there; one export is not
        warnings.warn(f"écriture incomplète : {problem}", stacklevel=2)
    failed = [r.entry for r in outcome.results if r.entry.statut != "ok"]
    if failed:  # the CLI says so by its exit code; a notebook by a warning
        shown = "; ".join(f"{e.fichier} : {e.erreur}" for e in failed[:3]) + (" ; …" if len(failed) > 3 else "")
        stop = " (lot arrêté au premier fichier en erreur)" if outcome.aborted else ""
        warnings.warn(
            f"{len(failed)} fichier(s) sur {len(outcome.results)} en erreur{stop}, voir le tableau run : {shown}",
            stacklevel=2,
        )
    return read(dest)
