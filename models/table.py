"""Tables as the extractor reads them, before column meaning is applied."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from models.provenance import BBox

RowKind = Literal["header", "body"]
Nature = Literal["demande", "accorde", "obtenu_precedemment", ""]


class Cell(BaseModel):
    """The text of one cell, with its box and the lowest OCR confidence of its words."""

    text: str = ""
    lines: list[str] = []
    bbox: BBox | None = None
    min_conf: float | None = None
    span: int = 1


class RawRow(BaseModel):
    """One row of a table on one page, one cell per column."""

    page: int
    kind: RowKind = "body"
    cells: list[Cell]
    bbox: BBox | None = None


class ParsingReport(BaseModel):
    """How a table was read and how sure the extractor is."""

    method: Literal["ruled", "borderless"]
    evidence: str
    confidence: float
    rows: int
    dropped: list[str] = []
    notes: list[str] = []
    doubts: list[str] = []  # readings left unsure (a header label cut from its unit): an `alerte` on the annex


class PageTable(BaseModel):
    """A table found on one page: its header cells and its rows."""

    page: int
    bbox: BBox
    header: list[Cell]
    rows: list[RawRow]
    title: str = ""
    columns: list[float] = []
    report: ParsingReport


class RawLine(BaseModel):
    """One row of an annex, its cells keyed by contract field, lines kept for hyphen repair."""

    page: int
    kind: Literal["action", "total"] = "action"
    label: str = ""
    cells: dict[str, list[str]] = {}
    boxes: dict[str, BBox] = {}
    conf: dict[str, float] = {}
    bbox: BBox | None = None
    pages: list[int] = []


class ColumnMapping(BaseModel):
    """How one header cell was understood."""

    index: int
    header: str
    field: str | None
    score: float
    nature: Nature = ""
    periode: str = ""
    multiplier: int = 1  # 1000 when the header gives the column's unit as k€ (`Coût total (k€)`)
    confidence: float = 1.0  # how sure the mapping is (0-1), from the margin over its rivals
    role: str = ""  # what the column was understood as: a field, `geographie`, `reliquat`, `ventilation`
    montants: bool = False  # the column holds amounts
    reasons: list[str] = []  # the evidence behind the meaning (header concepts, content, arithmetic)


class RawAnnex(BaseModel):
    """An annex table assembled across pages, before values are normalised."""

    annexe: str
    title: str = ""
    pages: list[int]
    columns: list[ColumnMapping]
    lines: list[RawLine] = []
    reports: list[ParsingReport] = []
    lists_actions: bool = True
