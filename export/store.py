"""OUT/lda.duckdb: the same tables across all territories for SQL (actions, documents, declared, flags, run)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from export.contract import ACTION_COLUMNS, DECLARED_COLUMNS, DOCUMENT_COLUMNS, FLAG_COLUMNS
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


def _table(con: Any, name: str, columns: list[str], rows: list[dict[str, object]]) -> None:
    """Create `name` with typed columns and load `rows` (sent as text, cast by DuckDB)."""
    import pandas as pd

    con.execute(f"CREATE TABLE {name} (" + ", ".join(f'"{c}" {_sql_type(c)}' for c in columns) + ")")
    if not rows:
        return
    frame = pd.DataFrame(
        [[None if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows], columns=columns, dtype=object
    )
    con.register("incoming", frame)
    casts = ", ".join(
        f"TRY_CAST(NULLIF(incoming.\"{c}\", '') AS {_sql_type(c)})" if _sql_type(c) != "VARCHAR" else f'incoming."{c}"'
        for c in columns
    )
    con.execute(f"INSERT INTO {name} SELECT {casts} FROM incoming")
    con.unregister("incoming")


def write_store(out: Path, territories: list[TerritoryRows], flags: list[Flag], entries: list[RunEntry]) -> Path:
    """Build the database beside its final name, then rename it into place."""
    import duckdb

    path = out / "lda.duckdb"
    tmp = out / ".lda.duckdb.tmp"
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        _table(
            con,
            "actions",
            ["territoire", *ACTION_COLUMNS],
            [{"territoire": t.name, **r} for t in territories for r in t.actions],
        )
        _table(con, "documents", DOCUMENT_COLUMNS, [r for t in territories for r in t.documents])
        _table(
            con,
            "montants_declares",
            ["territoire", *DECLARED_COLUMNS],
            [{"territoire": t.name, **r} for t in territories for r in t.declared],
        )
        _table(con, "flags", FLAG_COLUMNS, [f.model_dump() for f in flags])
        _table(con, "run", RUN_COLUMNS, run_rows(entries))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    tmp.replace(path)
    with contextlib.suppress(FileNotFoundError):
        (out / "lda.duckdb.wal").unlink()
    return path
