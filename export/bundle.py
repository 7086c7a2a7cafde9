"""Everything a run leaves in OUT: the contract files, then the analyst exports built from the same records."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from export.contract import territory_slug, write_contract
from export.excel_csv import write_excel_csvs
from export.paths import OutputMemo
from export.report import write_report
from export.rows import territories
from export.store import write_store
from export.suivi import write_suivi
from export.synthese import synthese_rows, write_synthese
from export.xlsx import write_workbooks
from models import Convention, Flag, RunEntry

log = logging.getLogger(__name__)
T = TypeVar("T")


class PartialOutputError(Exception):
    """The contract files are written, but some of the analyst exports could not be (each named, in French)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def write_all(
    out: Path,
    conventions: list[Convention],
    flags: list[Flag],
    entries: list[RunEntry],
    sources: dict[str, Path],
    cache_dir: Path | None,
    run_info: dict[str, object],
) -> None:
    """Contract CSVs and run.json, synthese, suivi_actions, workbooks, Excel CSVs, lda.duckdb and report.html.

    Each file is written atomically. With `cache_dir` (OUT/.cache), page crops are reused and unchanged workbooks and
    database are not rebuilt. The contract files come first and an export that fails does not stop the others:
    OSError when the contract cannot be written, PartialOutputError naming the exports that could not be.
    """
    write_contract(out, conventions, flags, entries)
    problems: list[str] = []

    def attempt(what: str, write: Callable[[], T], fallback: T) -> T:
        try:
            return write()
        except Exception as e:  # one export's fault must not cost the others
            log.exception("%s not written", what)
            problems.append(f"{what} non écrit ({type(e).__name__} : {e})")
            return fallback

    rows = territories(conventions, flags)
    memo = OutputMemo(cache_dir / "outputs" if cache_dir is not None else None)
    crop_cache = cache_dir / "crops" if cache_dir is not None else None
    no_rows: list[dict[str, object]] = []
    no_suivi: dict[str, list[dict[str, object]]] = {}
    synthese = attempt("synthese.csv", lambda: synthese_rows(conventions, flags), no_rows)
    attempt("synthese.csv", lambda: write_synthese(out, synthese, memo), None)
    suivi = attempt("suivi_actions.csv", lambda: write_suivi(out, conventions, territory_slug), no_suivi)
    attempt("classeurs xlsx", lambda: write_workbooks(out, rows, memo), None)
    attempt("CSV pour Excel", lambda: write_excel_csvs(out, rows), None)
    attempt(
        "lda.duckdb",
        lambda: write_store(out, rows, flags, entries, memo, synthese, [r for t in suivi.values() for r in t]),
        None,
    )
    attempt(
        "report.html",
        lambda: write_report(out, rows, conventions, flags, entries, sources, crop_cache, run_info, synthese, suivi),
        None,
    )
    if problems:
        raise PartialOutputError(problems)
