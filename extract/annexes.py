"""Assemble page tables into annexes: titles, repeated headers, rows continued over pages, totals."""

from __future__ import annotations

import re

from models import BBox, PageTable, RawAnnex, RawLine, RawRow
from models.table import ColumnMapping
from normalize.amounts import parse_amount
from normalize.columns import cell_amount, map_columns, mapping_note
from normalize.lexique import Lexique

AMOUNT_COLUMNS = ("cout_total", "financement_ami", "cofinancement")
# cells that a new action row fills on its first line; a row with none of them continues the one above
KEY_COLUMNS = ("numero", "pilote", *AMOUNT_COLUMNS)
_ANNEX = re.compile(r"\bannexe\s*(?:n°\s*)?(\d+|[IVX]+)\b", re.IGNORECASE)
_TOTAL = re.compile(r"^\s*(sous[- ]?)?(total|totaux|montant\s+total|total\s+g[ée]n[ée]ral|somme)\b", re.IGNORECASE)
_REMAINDER = re.compile(r"^\s*(reliquat|dont\s+reliquat|solde)\b", re.IGNORECASE)
_ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4", "V": "5", "VI": "6", "VII": "7", "VIII": "8", "IX": "9"}


def annex_number(title: str) -> str | None:
    """`Annexe 2 – …` -> `2` (the last annex named just above the table)."""
    found = _ANNEX.findall(title)
    if not found:
        return None
    n = str(found[-1]).upper()
    return _ROMAN.get(n, n)


def _lists_actions(columns: list[ColumnMapping]) -> bool:
    fields = {c.field for c in columns if c.field}
    return bool(fields & {"action", "pilote", "numero"}) and len(fields) >= 3


def row_label(row: RawRow, columns: list[ColumnMapping]) -> str:
    """The text of a row outside its amount columns (a total row's label)."""
    parts = []
    for c, cell in zip(columns, row.cells, strict=False):
        if c.field not in AMOUNT_COLUMNS and cell.text:
            parts.append(cell.text)
    return " ".join(parts).strip()


UNLABELLED_TOTAL = "Total (ligne sans libellé)"


def _has_amount(row: RawRow, columns: list[ColumnMapping]) -> bool:
    return any(
        parse_amount(cell.text).value is not None
        for c, cell in zip(columns, row.cells, strict=False)
        if c.field in AMOUNT_COLUMNS
    )


def row_kind(row: RawRow, columns: list[ColumnMapping]) -> str:
    """`total` for a total or remainder row, `action` otherwise."""
    label = row_label(row, columns)
    if (_TOTAL.match(label) or _REMAINDER.match(label)) and (_has_amount(row, columns) or len(label) < 80):
        return "total"
    return "action"


def _is_unlabelled_total(rows: list[RawRow], k: int, columns: list[ColumnMapping]) -> bool:
    """Amounts alone at the foot of a table, under the last action (below it only total rows): a
    total row printed without its label."""
    row = rows[k]
    if row_label(row, columns) or not _has_amount(row, columns) or not any(c.field == "action" for c in columns):
        return False
    return all(row_kind(r, columns) == "total" for r in rows[k + 1 :])


def _to_line(row: RawRow, columns: list[ColumnMapping], kind: str) -> RawLine:
    line = RawLine(page=row.page, kind="total" if kind == "total" else "action", bbox=row.bbox, pages=[row.page])
    if kind == "total":
        line.label = row_label(row, columns) or UNLABELLED_TOTAL
    for c, cell in zip(columns, row.cells, strict=False):
        if not c.field or not cell.text:
            continue
        line.cells[c.field] = list(cell.lines or [cell.text])
        if cell.bbox:
            line.boxes[c.field] = cell.bbox
        if cell.min_conf is not None:
            line.conf[c.field] = cell.min_conf
    return line


def _header_leftover(row: RawRow, columns: list[ColumnMapping]) -> bool:
    """A row with no action, pilot or number and no amount, only words under amount columns (`(€)`,
    `programme 177 sollicitée 2025`): the end of a header cell left below it, not an action."""
    named = any(
        cell.text for c, cell in zip(columns, row.cells, strict=False) if c.field in ("action", "pilote", "numero")
    )
    amounts = [
        cell.text for c, cell in zip(columns, row.cells, strict=False) if c.field in AMOUNT_COLUMNS and cell.text
    ]
    return not named and bool(amounts) and all(cell_amount(a) is None for a in amounts)


def _continues(row: RawRow, columns: list[ColumnMapping]) -> bool:
    """A row with text but none of the cells a new row starts with: the rest of the row above."""
    keys = [
        cell.text
        for c, cell in zip(columns, row.cells, strict=False)
        if c.field in KEY_COLUMNS and (c.field not in AMOUNT_COLUMNS or parse_amount(cell.text).value is not None)
    ]
    text = [cell.text for cell in row.cells if cell.text]
    return bool(text) and not any(keys)


def _append(prev: RawLine, row: RawRow, columns: list[ColumnMapping]) -> None:
    for c, cell in zip(columns, row.cells, strict=False):
        if not c.field or not cell.text:
            continue
        prev.cells.setdefault(c.field, []).extend(cell.lines or [cell.text])
        if cell.bbox:
            old = prev.boxes.get(c.field)
            prev.boxes[c.field] = (
                cell.bbox
                if old is None or (old and row.page != prev.page)
                else (BBox.union([old, cell.bbox]) or cell.bbox)
            )
        if cell.min_conf is not None:
            prev.conf[c.field] = min(prev.conf.get(c.field, 100.0), cell.min_conf)
    if row.page not in prev.pages:
        prev.pages.append(row.page)


def _columns(
    t: PageTable, body: list[RawRow], current: RawAnnex | None, lexique: Lexique | None
) -> list[ColumnMapping]:
    """The meaning of a table's columns, from its header and body; a header repeated on the next page
    keeps the meaning read on the first one."""
    headers = [c.text for c in t.header]
    if current is not None and [" ".join(h.split()) for h in headers] == [
        " ".join(c.header.split()) for c in current.columns
    ]:
        return current.columns
    columns = map_columns(headers, [[c.text for c in r.cells] for r in body], lexique)
    t.report.notes.extend(mapping_note(c) for c in columns)
    return columns


def tables_to_annexes(tables: list[PageTable], lexique: Lexique | None = None) -> list[RawAnnex]:
    """Page tables grouped into annexes, in reading order (`lexique`: the concept words of column meaning)."""
    annexes: list[RawAnnex] = []
    current: RawAnnex | None = None
    for t in tables:
        number = annex_number(t.title)
        body = [r for r in t.rows if r.kind == "body"]
        if t.header:
            columns = _columns(t, body, current, lexique)
            same = current is not None and [c.field for c in columns] == [c.field for c in current.columns]
            if number is None and same and current is not None:
                current.reports.append(t.report)
                annex = current
                first_continues = True
            else:
                if number is None:
                    number = str(len(annexes) + 1) if _lists_actions(columns) else ""
                annex = RawAnnex(
                    annexe=number,
                    title=t.title,
                    pages=[],
                    columns=columns,
                    reports=[t.report],
                    lists_actions=_lists_actions(columns),
                )
                annexes.append(annex)
                current = annex
                first_continues = False
        elif current is not None and len(t.rows[0].cells) == len(current.columns) and number is None:
            annex = current
            annex.reports.append(t.report)
            first_continues = True
        else:
            continue
        if t.page not in annex.pages:
            annex.pages.append(t.page)
        for k, row in enumerate(body):
            kind = "total" if _is_unlabelled_total(body, k, annex.columns) else row_kind(row, annex.columns)
            if k == 0 and first_continues and annex.lines and kind == "action" and _continues(row, annex.columns):
                _append(annex.lines[-1], row, annex.columns)
                continue
            if kind == "action" and (
                not any(cell.text for c, cell in zip(annex.columns, row.cells, strict=False) if c.field)
                or _header_leftover(row, annex.columns)
            ):
                t.report.dropped.append(f"page {row.page} : ligne sans colonne reconnue")
                continue
            annex.lines.append(_to_line(row, annex.columns, kind))
    return annexes
