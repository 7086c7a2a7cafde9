"""One workbook per territory for analysts: actions, declared amounts, checks (openpyxl)."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from export.paths import OutputMemo, atomic_write, digest_of
from export.rows import (
    AMOUNT_COLUMNS,
    ANALYST_ACTION_COLUMNS,
    ANALYST_DECLARED_COLUMNS,
    ANALYST_FLAG_COLUMNS,
    LABELS,
    TerritoryRows,
)

EURO_FORMAT = '#,##0.00 "€"'
SHEETS = ("actions", "montants déclarés", "contrôles")
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")  # characters XML 1.0 cannot hold
_WIDE = {"action", "objectif", "description", "indicateurs", "commentaire", "extrait", "message"}


def fill_sheet(
    ws: Any,
    columns: list[str],
    rows: list[dict[str, object]],
    labels: dict[str, str] | None = None,
    amounts: frozenset[str] = AMOUNT_COLUMNS,
) -> None:
    """Header row (frozen, filtered), amounts as numbers in euros, every text cell stored as a string."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws.append([{**LABELS, **(labels or {})}.get(c, c) for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([None] * len(columns))
        r = ws.max_row
        for j, col in enumerate(columns, 1):
            value = row.get(col)
            if value is None:
                continue
            cell = ws.cell(row=r, column=j)
            if col in amounts and isinstance(value, Decimal):
                cell.value = value
                cell.number_format = EURO_FORMAT
            elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                cell.value = value
            else:
                cell.value = _ILLEGAL.sub("", str(value))
                cell.data_type = "s"  # never a formula, even for text that starts with = + - @
                if col in _WIDE:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(ws.max_row, 1)}"
    for j, col in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(j)].width = 50 if col in _WIDE else 16 if col in amounts else 12


def workbook_bytes(t: TerritoryRows) -> bytes:
    """The workbook of one territory, as bytes."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = SHEETS[0]
    fill_sheet(ws, ANALYST_ACTION_COLUMNS, t.actions)
    fill_sheet(wb.create_sheet(SHEETS[1]), ANALYST_DECLARED_COLUMNS, t.declared)
    fill_sheet(wb.create_sheet(SHEETS[2]), ANALYST_FLAG_COLUMNS, t.flags)
    wb.properties.title = _ILLEGAL.sub("", f"Convention Logement d'abord — {t.name}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_workbooks(out: Path, territories: list[TerritoryRows], memo: OutputMemo | None = None) -> list[Path]:
    """OUT/territories/<slug>/<slug>.xlsx for every territory (named after it, so several open side by side).

    With `memo`, a workbook whose rows and code are unchanged and whose file is untouched is not rebuilt.
    """
    memo = memo or OutputMemo(None)
    code = digest_of(Path(__file__).read_text(encoding="utf-8"), LABELS)
    paths = []
    for t in territories:
        path = out / "territories" / t.slug / f"{t.slug}.xlsx"
        digest = digest_of(code, t.name, t.actions, t.declared, t.flags)
        if not memo.fresh(path, digest):
            atomic_write(path, workbook_bytes(t))
            memo.built(path, digest)
        paths.append(path)
    return paths
