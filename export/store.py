"""OUT/lda.duckdb: the same tables across all territories for SQL, and the national view `synthese` over them."""

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
SUPPORT_COLUMNS = ["fichier", "montant"]
_BOOL = {"ocr"}
_FLOAT = {"secondes", "lien"}
# synthese.csv as a view over the tables: the sums and counts cannot drift from the rows they sum
SYNTHESE_VIEW = """
CREATE VIEW synthese AS
SELECT d.territoire, d.fichier, d.type_document, d.annee_debut, d.annee_fin,
       COALESCE(a.actions, 0) AS actions, a.cout_total, a.financement_ami, a.cofinancement,
       s.montant AS soutien_etat_declare, a.financement_ami - s.montant AS ecart_soutien,
       COALESCE(f.erreurs, 0) AS erreurs, COALESCE(f.alertes, 0) AS alertes, COALESCE(f.infos, 0) AS infos
FROM documents d
LEFT JOIN (SELECT fichier, count(*) AS actions, sum(cout_total) AS cout_total,
                  sum(financement_ami) AS financement_ami, sum(cofinancement) AS cofinancement
           FROM actions GROUP BY fichier) a ON a.fichier = d.fichier
LEFT JOIN soutien_etat_declare s ON s.fichier = d.fichier
LEFT JOIN (SELECT fichier, count(*) FILTER (WHERE gravite = 'erreur') AS erreurs,
                  count(*) FILTER (WHERE gravite = 'alerte') AS alertes,
                  count(*) FILTER (WHERE gravite = 'info') AS infos
           FROM flags GROUP BY fichier) f ON f.fichier = d.fichier
ORDER BY d.territoire, d.fichier
"""


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
    # the path inlined as a SQL literal: a bound parameter makes duckdb import pandas (~3 s) to inspect its type
    literal = "'" + str(path).replace("'", "''") + "'"
    source = f"read_csv({literal}, header=true, all_varchar=true, quote='\"', escape='\"', delim=',')"
    con.execute(f"INSERT INTO {name} SELECT {casts} FROM {source}")


def write_store(
    out: Path,
    territories: list[TerritoryRows],
    flags: list[Flag],
    entries: list[RunEntry],
    memo: OutputMemo | None = None,
    synthese: list[dict[str, object]] | None = None,
    suivi: list[dict[str, object]] | None = None,
) -> Path:
    """Build the database beside its final name, then rename it into place (skipped when `memo` says fresh).

    `synthese` (export.synthese rows) gives the State support each document declares; `suivi` the followed actions.
    """
    from export.suivi import SUIVI_COLUMNS

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
        "soutien_etat_declare": (
            SUPPORT_COLUMNS,
            [
                {"fichier": r["fichier"], "montant": r["soutien_etat_declare"]}
                for r in synthese or []
                if r.get("soutien_etat_declare") is not None
            ],
        ),
        "suivi_actions": (["territoire", *SUIVI_COLUMNS], suivi or []),
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
        con.execute(SYNTHESE_VIEW)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    tmp.replace(path)
    with contextlib.suppress(FileNotFoundError):
        (out / "lda.duckdb.wal").unlink()
    memo.built(path, digest)
    return path
