"""The vocabulary every stage speaks: pydantic records with provenance."""

from models.convention import (
    AMOUNT_FIELDS,
    SCHEMA_VERSION,
    ActionLine,
    Amount,
    Annex,
    Convention,
    DeclaredAmount,
    DocumentFields,
    Parties,
    PlaceholderField,
    TotalRow,
)
from models.flags import Flag, RunEntry
from models.page import OcrDecision, Page, Ruling, SourceDocument, Word
from models.provenance import BBox, Provenance
from models.table import Cell, ColumnMapping, PageTable, ParsingReport, RawAnnex, RawLine, RawRow

__all__ = [
    "AMOUNT_FIELDS",
    "SCHEMA_VERSION",
    "ActionLine",
    "Amount",
    "Annex",
    "BBox",
    "Cell",
    "ColumnMapping",
    "Convention",
    "DeclaredAmount",
    "DocumentFields",
    "Flag",
    "OcrDecision",
    "Page",
    "PageTable",
    "ParsingReport",
    "Parties",
    "PlaceholderField",
    "Provenance",
    "RawAnnex",
    "RawLine",
    "RawRow",
    "Ruling",
    "RunEntry",
    "SourceDocument",
    "TotalRow",
    "Word",
]
