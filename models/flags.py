"""Flags (inconsistencies and anomalies) and the run log."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Gravite = Literal["erreur", "alerte", "info"]
FlagCode = Literal[
    "TOTAL_MISMATCH",
    "ROW_ARITHMETIC",
    "DECLARED_VS_ANNEX",
    "REMAINDER_MISMATCH",
    "BREAKDOWN_MISMATCH",
    "AMOUNT_UNPARSED",
    "INVALID_SIRET",
    "INVALID_IBAN",
    "DUPLICATE_ACTION_NUMBER",
    "MISSING_FIELD",
    "NO_TOTAL_ROW",
    "EXTRACTION_FAILED",
    "TABLE_NOT_FOUND",
    "COLUMN_UNRECOGNISED",
    "FILE_REPAIRED",
    "PAGE_UNREADABLE",
    "CORRECTION_APPLIED",
    "CORRECTION_NOT_APPLIED",
]


class Flag(BaseModel):
    """One inconsistency with where it stands and its evidence."""

    territoire: str = ""
    fichier: str
    code: FlagCode
    gravite: Gravite
    page: int | None = None
    annexe: str = ""
    ligne: int | None = None
    attendu: str = ""
    trouve: str = ""
    message: str
    champ: str = ""


class RunEntry(BaseModel):
    """One input file's outcome in run.json."""

    fichier: str
    statut: Literal["ok", "erreur"]
    erreur: str | None = None
    territoire: str = ""
    pages: int = 0
    secondes: float = 0.0
    sha256: str = ""
