"""OUT/lda.duckdb: the same tables across all territories for SQL (actions, documents, declared, flags, run)."""

from __future__ import annotations

import contextlib
import csv
import tempfile
from pathlib import Path
from typing import Any

from export.contract import ACTION_COLUMNS, DECLARED_COLUMNS, DOCUMENT_COLUMNS, FLAG_COLUMNS
from export.paths import OutputMemo, digest_of
from export.rows import AMOUNT_COLUMNS, INTEGER_COLUMNS, TerritoryRows, run_rows
from models import Flag, RunEntry

RUN_COLUMNS = ["fichier", "statut", "erreur", "territoire", "pages", "secondes", "sha256"]
_BOOL = {"ocr"}
_FLOAT = {"secondes"}


def _sql_type(column: str) -> str:
    if column in AMOUNT_COLUMNS:
        return "DECIMAL(18,2)"
    if column in INTEGER_COLUMNS:
        return "INTEGER"
    if column in _BOOL:
        return "BOOLEAN"
    if column in _FLOAT:
        return "DOUBLE"
    if column == "date_signature":
        return "DATE"
    return "VARCHAR"


def _table(con: Any, name: str, columns: list[str], rows: list[dict[str, object]], scratch: Path) -> None:
    """Create `name` with typed columns and load `rows` through a CSV of text that DuckDB casts."""
    con.execute(f"CREATE TABLE {name} (" + ", ".join(f'"{c}" {_sql_type(c)}' for c in columns) + ")")
    if not rows:
        return
    path = scratch / f"{name}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        w.writerows(["" if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows)
    casts = ", ".join(
        f"TRY_CAST(NULLIF(\"{c}\", '') AS {_sql_type(c)})" if _sql_type(c) != "VARCHAR" else f"NULLIF(\"{c}\", '')"
        for c in columns
    )
    source = "read_csv(?, header=true, all_varchar=true, quote='\"', escape='\"', delim=',')"
    con.execute(f"INSERT INTO {name} SELECT {casts} FROM {source}", [str(path)])


def write_store(
    out: Path,
    territories: list[TerritoryRows],
    flags: list[Flag],
    entries: list[RunEntry],
    memo: OutputMemo | None = None,
) -> Path:
    """Build the database beside its final name, then rename it into place (skipped when `memo` says fresh)."""
    path = out / "lda.duckdb"
    tables = {
        "actions": (
            ["territoire", *ACTION_COLUMNS],
            [{"territoire": t.name, **r} for t in territories for r in t.actions],
        ),
        "documents": (DOCUMENT_COLUMNS, [r for t in territories for r in t.documents]),
        "montants_declares": (
            ["territoire", *DECLARED_COLUMNS],
            [{"territoire": t.name, **r} for t in territories for r in t.declared],
        ),
        "flags": (FLAG_COLUMNS, [f.model_dump() for f in flags]),
        "run": (RUN_COLUMNS, run_rows(entries)),
    }
    memo = memo or OutputMemo(None)
    digest = digest_of(Path(__file__).read_text(encoding="utf-8"), tables)
    if memo.fresh(path, digest):
        return path
    import duckdb

    tmp = out / ".lda.duckdb.tmp"
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        with tempfile.TemporaryDirectory(dir=out, prefix=".lda-store-") as scratch:
            for name, (columns, rows) in tables.items():
                _table(con, name, columns, rows, Path(scratch))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    tmp.replace(path)
    with contextlib.suppress(FileNotFoundError):
        (out / "lda.duckdb.wal").unlink()
    memo.built(path, digest)
    return path
