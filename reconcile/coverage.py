"""Never silent: annexes the text announces but no table gave, amount columns without meaning, unsure
meanings and doubtful units."""

from __future__ import annotations

import re
from decimal import Decimal
from statistics import median

from models import AMOUNT_FIELDS, Annex, Convention, Flag
from models.convention import AmountField
from normalize.columns import LOW_CONFIDENCE
from reconcile.figures import COLUMN_LABEL, euros, flag, is_article

_HEADING = re.compile(r"^\s*annexe\s*(?:n\s*°\s*)?(\d+|[ivx]+)\b\s*[:\-–—.]?\s*(.*)$", re.IGNORECASE | re.MULTILINE)
# what an annex of actions is announced as: actions, funding, budget, amounts
_ANNOUNCES_ACTIONS = re.compile(r"action|financ|budget|montant|co[uû]t|d[ée]penses", re.IGNORECASE)
_AMOUNT_TOKEN = re.compile(r"(?<![\d,.])\d{1,3}(?:[ \u00a0\u202f.]\d{3})+(?:,\d{2})?(?![\d])|\b\d{4,}\s?€")
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9"}
DENSE_LINES = 8  # lines holding an amount on a page that no table covers: a table was missed


def _number(n: str) -> str:
    return _ROMAN.get(n.lower(), n)


def table_not_found(c: Convention) -> list[Flag]:
    """An annex of actions the text announces, or a page dense with amounts, that no table was read from."""
    read = {a.annexe for a in c.annexes}
    covered = {p for a in c.annexes for p in a.pages}
    flags: list[Flag] = []
    announced: dict[str, int] = {}
    last_heading = ""
    for page, text in enumerate(c.page_texts, start=1):
        headings = [
            (_number(m.group(1)), m.group(2)) for m in _HEADING.finditer(text) if len(m.group(0).strip()) <= 160
        ]
        for number, rest in headings:
            if _ANNOUNCES_ACTIONS.search(rest) and number not in read and number not in announced:
                announced[number] = page
        dense = sum(1 for line in text.splitlines() if _AMOUNT_TOKEN.search(line))
        if headings:
            last_heading = headings[-1][0]
        if dense >= DENSE_LINES and page not in covered and last_heading and last_heading not in read:
            announced.setdefault(last_heading, page)
    flags.extend(_rows_lost(c))
    for number, page in announced.items():
        if page in covered or page + 1 in covered:
            continue  # a table was read right there, numbered otherwise: the annex is not lost
        flags.append(
            flag(
                c,
                "TABLE_NOT_FOUND",
                f"Annexe {number} (page {page}) : annoncée par le texte, mais aucun tableau n'en a été lu ; "
                "ses montants manquent",
                page=page,
                annexe=number,
            )
        )
    return flags


def _rows_lost(c: Convention) -> list[Flag]:
    """An annex whose header was read but whose rows were not (all, or most of those a page prints)."""
    out = []
    for annex in c.annexes:
        if not any(col.field in AMOUNT_FIELDS for col in annex.columns):
            continue
        for page in annex.pages:
            text = c.page_texts[page - 1] if 0 < page <= len(c.page_texts) else ""
            printed = sum(1 for line in text.splitlines() if len(_AMOUNT_TOKEN.findall(line)) >= 2)
            # rows of every annex printed on that page: two tables may share it
            read = sum(1 for a in c.annexes for ln in a.lines if ln.page == page) + sum(
                1 for a in c.annexes for t in a.totals if t.provenance.page == page
            )
            if (not annex.lines and page == annex.pages[0]) or (printed >= 3 and printed > 2 * read):
                out.append(
                    flag(
                        c,
                        "TABLE_NOT_FOUND",
                        f"Annexe {annex.annexe} (page {page}) : l'en-tête du tableau est lu, mais {read} ligne(s) "
                        f"seulement pour {printed} ligne(s) de montants imprimées ; des montants manquent",
                        page=page,
                        annexe=annex.annexe,
                    )
                )
                break
    return out


def _values(annex: Annex, field: AmountField) -> list[Decimal]:
    return [v for ln in annex.lines if (v := ln.amount(field)) is not None and v > 0]


def column_unrecognised(c: Convention) -> list[Flag]:
    """An amount column without meaning, an annex of amounts without a State-funding column, a column whose
    meaning is unsure."""
    flags: list[Flag] = []
    for annex in c.annexes:
        page = annex.pages[0] if annex.pages else None
        for col in annex.columns:
            if col.montants and col.field is None and col.role not in ("reliquat", "ventilation"):
                flags.append(
                    flag(
                        c,
                        "COLUMN_UNRECOGNISED",
                        f"Annexe {annex.annexe} : la colonne « {col.header} » contient des montants, mais son sens "
                        "n'est pas reconnu ; ses montants ne sont pas repris (compléter le lexique, --lexique)",
                        page=page,
                        annexe=annex.annexe,
                        trouve=col.header,
                    )
                )
            elif (
                col.field in AMOUNT_FIELDS
                and col.confidence < LOW_CONFIDENCE
                # a column left empty (a header fragment OCR split off) holds no amount to doubt
                and any(getattr(ln, col.field) is not None for ln in annex.lines)
            ):
                flags.append(
                    flag(
                        c,
                        "COLUMN_UNRECOGNISED",
                        f"Annexe {annex.annexe} : la colonne « {col.header} » est lue comme "
                        f"{COLUMN_LABEL[col.field or '']}, avec une confiance faible ({col.confidence:.2f}) : "
                        f"{'; '.join(col.reasons) or 'aucun indice'}",
                        page=page,
                        annexe=annex.annexe,
                        trouve=col.header,
                    )
                )
        holds_amounts = any(col.montants or col.field in AMOUNT_FIELDS for col in annex.columns)
        if holds_amounts and annex.lines and not annex.has_column("financement_ami"):
            headers = " | ".join(col.header for col in annex.columns)
            flags.append(
                flag(
                    c,
                    "COLUMN_UNRECOGNISED",
                    f"Annexe {annex.annexe} : aucune colonne de financement de l'État (AMI) reconnue parmi "
                    f"les en-têtes « {headers} »",
                    page=page,
                    annexe=annex.annexe,
                    trouve=headers,
                )
            )
        flags.extend(_doubtful_units(c, annex, page))
        flags.extend(_unsure_headers(c, annex))
    return flags


def _unsure_headers(c: Convention, annex: Annex) -> list[Flag]:
    """A header the extractor read with a doubt (a label cut from its unit): its columns may be wrong."""
    doubts = dict.fromkeys(d for report in annex.reports for d in report.doubts)
    return [
        flag(
            c,
            "COLUMN_UNRECOGNISED",
            f"Annexe {annex.annexe} : {d} ; vérifier les colonnes de montants",
            page=annex.pages[0] if annex.pages else None,
            annexe=annex.annexe,
            trouve=d,
        )
        for d in doubts
    ]


def _doubtful_units(c: Convention, annex: Annex, page: int | None) -> list[Flag]:
    """An amount column about 1 000 times off its neighbours or the totals the articles declare: a unit
    (`k€`) lost or misread."""
    medians = {f: Decimal(median(v)) for f in AMOUNT_FIELDS if (v := _values(annex, f))}
    declared = [d.montant for d in c.declared if is_article(d) and d.montant > 0]
    out = []
    for field, m in medians.items():
        others = [v for f, v in medians.items() if f != field]
        off = any(o / m >= 300 or m / o >= 300 for o in others if o and m)
        total = sum(_values(annex, field), Decimal(0))
        declared_off = field == "financement_ami" and any(
            abs(d - 1000 * total) <= d / 100 or abs(1000 * d - total) <= total / 100 for d in declared
        )
        if not (off or declared_off):
            continue
        col = annex.column(field)
        why = "des autres colonnes de montants" if off else "des montants que déclarent les articles"
        out.append(
            flag(
                c,
                "COLUMN_UNRECOGNISED",
                f"Annexe {annex.annexe} : unité douteuse pour la colonne « {col.header if col else field} » "
                f"(valeur médiane {euros(m)}, environ 1 000 fois loin {why}) ; un « k€ » perdu ou mal lu ?",
                page=page,
                annexe=annex.annexe,
                trouve=col.header if col else field,
            )
        )
    return out
