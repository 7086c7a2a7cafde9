"""Checks proper to scanned pages: amounts the OCR engine read with low confidence.

A misread digit makes a plausible wrong number, so an OCR'd amount whose weakest word stayed
under `LOW_CONFIDENCE` (after the second look) is flagged for an analyst to check on the scan,
never corrected. Cells that could not be read at all are `amount_unparsed`'s (reconcile.checks)."""

from __future__ import annotations

from models import AMOUNT_FIELDS, Amount, Convention, Flag
from normalize.amounts import format_amount, plain

LOW_CONFIDENCE = 70.0  # Tesseract word confidence (0-100) under which an OCR'd amount is not trusted
_COLUMN = {"cout_total": "coût total", "financement_ami": "financement AMI", "cofinancement": "cofinancement"}


def _low(a: Amount | None, threshold: float) -> bool:
    return a is not None and a.value is not None and a.min_conf is not None and a.min_conf < threshold


def _message(where: str, field: str, a: Amount) -> str:
    repaired = f" ; corrections OCR appliquées : {', '.join(a.repairs)}" if a.repairs else ""
    return (
        f"{where} : le montant {_COLUMN.get(field, field)} « {a.raw} » a été lu par OCR avec une confiance "
        f"faible ({a.min_conf:.0f} %), lu {format_amount(a.value)}{repaired} ; à vérifier sur le document scanné"
    )


def low_confidence_amounts(c: Convention, threshold: float = LOW_CONFIDENCE) -> list[Flag]:
    """An `alerte` (code AMOUNT_UNPARSED) for each OCR'd amount, in action and total rows, read with low confidence."""
    flags = []
    for annex in c.annexes:
        for ln in annex.lines:
            for field in AMOUNT_FIELDS:
                a: Amount | None = getattr(ln, field)
                if a is None or not _low(a, threshold):
                    continue
                cell = ln.cells.get(field)
                flags.append(
                    Flag(
                        territoire=c.parties.territoire,
                        fichier=c.fichier,
                        code="AMOUNT_UNPARSED",
                        gravite="alerte",
                        page=cell.page if cell else ln.page,
                        annexe=annex.annexe,
                        ligne=ln.ligne,
                        trouve=plain(a.value),
                        message=_message(f"Annexe {annex.annexe}, ligne {ln.ligne}", field, a),
                        champ=field,
                    )
                )
        for total in annex.totals:
            for name, amount in total.amounts.items():
                if not _low(amount, threshold):
                    continue
                flags.append(
                    Flag(
                        territoire=c.parties.territoire,
                        fichier=c.fichier,
                        code="AMOUNT_UNPARSED",
                        gravite="alerte",
                        page=total.provenance.page,
                        annexe=annex.annexe,
                        trouve=plain(amount.value),
                        message=_message(f"Annexe {annex.annexe}, ligne « {total.label} »", name, amount),
                        champ=name,
                    )
                )
    return flags
