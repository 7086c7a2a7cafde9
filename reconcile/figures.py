"""Figures the checks compare: column sums, annex totals, periods, remainders, flag records."""

from __future__ import annotations

import re
from decimal import Decimal

from models import AMOUNT_FIELDS, ActionLine, Annex, Convention, DeclaredAmount, Flag, TotalRow
from models.convention import AmountField
from models.flags import FlagCode, Gravite
from normalize.amounts import format_amount, plain

GRAVITE: dict[FlagCode, Gravite] = {
    "TOTAL_MISMATCH": "erreur",
    "ROW_ARITHMETIC": "erreur",
    "DECLARED_VS_ANNEX": "alerte",
    "REMAINDER_MISMATCH": "erreur",
    "BREAKDOWN_MISMATCH": "alerte",
    "AMOUNT_UNPARSED": "alerte",
    "INVALID_SIRET": "erreur",
    "INVALID_IBAN": "erreur",
    "DUPLICATE_ACTION_NUMBER": "alerte",
    "MISSING_FIELD": "alerte",
    "NO_TOTAL_ROW": "info",
    "EXTRACTION_FAILED": "erreur",
    "TABLE_NOT_FOUND": "alerte",
    "COLUMN_UNRECOGNISED": "alerte",
    "CORRECTION_APPLIED": "info",
    "CORRECTION_NOT_APPLIED": "alerte",
}
COLUMN_LABEL: dict[str, str] = {
    "cout_total": "coût total",
    "financement_ami": "financement AMI",
    "cofinancement": "cofinancement",
}
ARTICLE_ROLES = {"soutien_etat", "soutien_etat_max", "cout_eligible", "reliquat", "participation_annuelle", "autre"}


def flag(
    c: Convention,
    code: FlagCode,
    message: str,
    *,
    page: int | None = None,
    annexe: str = "",
    ligne: int | None = None,
    attendu: Decimal | str = "",
    trouve: Decimal | str = "",
    champ: str = "",
) -> Flag:
    """A flag of `code` on convention `c`, amounts written as plain decimals."""
    return Flag(
        territoire=c.parties.territoire,
        fichier=c.fichier,
        code=code,
        gravite=GRAVITE[code],
        page=page,
        annexe=annexe,
        ligne=ligne,
        attendu=plain(attendu) if isinstance(attendu, Decimal) else attendu,
        trouve=plain(trouve) if isinstance(trouve, Decimal) else trouve,
        message=message,
        champ=champ,
    )


def euros(value: Decimal) -> str:
    """`1 305 720 €` for a message."""
    return format_amount(value)


def is_article(d: DeclaredAmount) -> bool:
    """Whether a declared amount comes from the articles (not from an annex total row)."""
    return not d.annexe


def amount_columns(annex: Annex) -> list[AmountField]:
    """The amount columns an annex has, in contract order."""
    return [f for f in AMOUNT_FIELDS if annex.has_column(f)]


def _position(page: int, top: float | None) -> tuple[int, float]:
    return page, top if top is not None else 0.0


def lines_above(annex: Annex, total: TotalRow) -> list[ActionLine]:
    """The action rows printed before a total row (all rows when positions are unknown)."""
    bbox = total.provenance.bbox
    if bbox is None:
        return list(annex.lines)
    here = _position(total.provenance.page, bbox.top)
    return [
        ln
        for ln in annex.lines
        if _position(ln.provenance.page, ln.provenance.bbox.top if ln.provenance.bbox else None) < here
    ]


def column_sum(lines: list[ActionLine], field: AmountField) -> Decimal | None:
    """Sum of the readable values of a column; None when no row has a value."""
    values = [v for v in (ln.amount(field) for ln in lines) if v is not None]
    return sum(values, Decimal(0)) if values else None


def total_rows(annex: Annex, field: AmountField) -> list[TotalRow]:
    """Total rows (not remainder rows) that print a value for `field`."""
    return [
        t
        for t in annex.totals
        if t.role == "total_annexe" and field in t.amounts and t.amounts[field].value is not None
    ]


def remainder_rows(annex: Annex) -> list[tuple[TotalRow, Decimal]]:
    """Remainder rows of an annex with the first value they print."""
    out = []
    for t in annex.totals:
        if t.role != "reliquat":
            continue
        value = next((a.value for a in t.amounts.values() if a.value is not None), None)
        if value is not None:
            out.append((t, value))
    return out


# --- periods -------------------------------------------------------------------------------

_YEAR_RANGE = re.compile(r"\b(20\d\d)\s*[-–/]\s*(20\d\d|\d\d)\b")
_YEAR = re.compile(r"\b(20\d\d)\b")
_NTH_YEAR = re.compile(r"ann[ée]e\s*(\d)\b", re.IGNORECASE)
_TITLE_FOR = re.compile(r"\b(?:pour|au titre de(?: l'ann[ée]e)?|en)\s+(20\d\d(?:\s*[-–]\s*20\d\d)?)", re.IGNORECASE)


def years(text: str, first_year: int | None = None) -> set[int]:
    """The years a period covers: `2023-2024` -> {2023, 2024}, `année 1` -> {first_year}; empty when none."""
    out: set[int] = set()
    for m in _YEAR_RANGE.finditer(text):
        start = int(m.group(1))
        end = int(m.group(2)) if len(m.group(2)) == 4 else int(m.group(1)[:2] + m.group(2))
        if start <= end <= start + 10:
            out.update(range(start, end + 1))
    out.update(int(y) for y in _YEAR.findall(text))
    if not out and first_year is not None:
        out.update(first_year + int(n) - 1 for n in _NTH_YEAR.findall(text))
    return out


def annex_years(annex: Annex, c: Convention) -> set[int]:
    """The years the AMI column of an annex covers: its header's period, else `pour 2024` in its title."""
    col = annex.column("financement_ami")
    found = years(col.periode or col.header, c.fields.annee_debut) if col else set()
    if not found:
        m = _TITLE_FOR.search(annex.title)
        found = years(m.group(1)) if m else set()
    return found


def compatible(a: set[int], b: set[int]) -> bool:
    """Periods may describe the same money: one is unknown or they share a year."""
    return not a or not b or bool(a & b)
