"""Everything a run leaves in OUT: the contract files, then the analyst exports built from the same records."""

from __future__ import annotations

from pathlib import Path

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

    Each file is written atomically.

    With `cache_dir` (OUT/.cache), page crops are reused and unchanged workbooks and database are not rebuilt.
    """
    write_contract(out, conventions, flags, entries)
    rows = territories(conventions, flags)
    memo = OutputMemo(cache_dir / "outputs" if cache_dir is not None else None)
    crop_cache = cache_dir / "crops" if cache_dir is not None else None
    synthese = synthese_rows(conventions, flags)
    write_synthese(out, synthese, memo)
    suivi = write_suivi(out, conventions, territory_slug)
    write_workbooks(out, rows, memo)
    write_excel_csvs(out, rows)
    write_store(out, rows, flags, entries, memo, synthese, [r for t in suivi.values() for r in t])
    write_report(out, rows, conventions, flags, entries, sources, crop_cache, run_info, synthese, suivi)
