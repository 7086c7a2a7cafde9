"""CSV files for French Excel: `;` separator, decimal comma, UTF-8 with BOM, French headers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from export.paths import atomic_write
from export.rows import (
    AMOUNT_COLUMNS,
    ANALYST_ACTION_COLUMNS,
    ANALYST_DECLARED_COLUMNS,
    ANALYST_FLAG_COLUMNS,
    LABELS,
    TerritoryRows,
)
from normalize.amounts import plain

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def excel_value(column: str, value: object) -> str:
    """One cell: amounts with a decimal comma; text that Excel would run as a formula gets a leading `'`."""
    if value is None:
        return ""
    if column in AMOUNT_COLUMNS and isinstance(value, Decimal):
        return plain(value).replace(".", ",")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def excel_csv(columns: list[str], rows: list[dict[str, object]]) -> bytes:
    """A whole file, BOM first, CRLF line ends."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow([LABELS.get(c, c) for c in columns])
    for r in rows:
        w.writerow([excel_value(c, r.get(c)) for c in columns])
    return buf.getvalue().encode("utf-8-sig")


def write_excel_csvs(out: Path, territories: list[TerritoryRows]) -> list[Path]:
    """Per territory: actions_excel.csv, montants_declares_excel.csv, controles_excel.csv."""
    paths = []
    for t in territories:
        base = out / "territories" / t.slug
        for name, columns, rows in (
            ("actions_excel.csv", ANALYST_ACTION_COLUMNS, t.actions),
            ("montants_declares_excel.csv", ANALYST_DECLARED_COLUMNS, t.declared),
            ("controles_excel.csv", ANALYST_FLAG_COLUMNS, t.flags),
        ):
            atomic_write(base / name, excel_csv(columns, rows))
            paths.append(base / name)
    return paths
