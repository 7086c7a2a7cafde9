"""The national view: one row per document with its sums, the State support it declares and its flags."""

from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal
from pathlib import Path

from export.contract import _csv
from export.paths import OutputMemo, atomic_write, digest_of
from models import Convention, Flag
from models.convention import AmountField
from normalize.amounts import plain
from reconcile.figures import is_article, years

SYNTHESE_COLUMNS = [
    "territoire",
    "fichier",
    "type_document",
    "annee_debut",
    "annee_fin",
    "actions",
    "cout_total",
    "financement_ami",
    "cofinancement",
    "soutien_etat_declare",
    "ecart_soutien",
    "erreurs",
    "alertes",
    "infos",
]
SYNTHESE_AMOUNTS = frozenset(
    {"cout_total", "financement_ami", "cofinancement", "soutien_etat_declare", "ecart_soutien"}
)
SYNTHESE_INTEGERS = frozenset({"annee_debut", "annee_fin", "actions", "erreurs", "alertes", "infos"})
SYNTHESE_LABELS = {
    "actions": "Actions",
    "soutien_etat_declare": "Soutien de l'État déclaré",
    "ecart_soutien": "Écart (AMI − soutien déclaré)",
    "erreurs": "Erreurs",
    "alertes": "Alertes",
    "infos": "Infos",
}
_SUPPORT_ROLES = ("soutien_etat", "soutien_etat_max")


def declared_support(c: Convention) -> Decimal | None:
    """The State support the articles declare for the document's own years; None when they declare none.

    Per period, a firm amount (`soutien_etat`) wins over a ceiling; periods before the document's first year
    (an avenant recalling what the convention granted) are left out; distinct periods add up.
    """
    start, end = c.fields.annee_debut, c.fields.annee_fin
    span = set(range(start, (end if end and end >= start else start) + 1)) if start else set()
    by_period: dict[str, tuple[str, Decimal]] = {}
    for d in c.declared:
        if not is_article(d) or d.role not in _SUPPORT_ROLES:
            continue
        period = years(d.periode, start)
        if span and period and not period & span:
            continue
        if span and period and max(period) < min(span):
            continue
        key = ",".join(str(y) for y in sorted(period)) or d.periode
        held = by_period.get(key)
        if held is None or (held[0] == "soutien_etat_max" and d.role == "soutien_etat"):
            by_period[key] = (d.role, d.montant)
    if not by_period:
        return None
    return sum((m for _, m in by_period.values()), Decimal(0))


def _sum(c: Convention, field: AmountField) -> Decimal | None:
    values = [v for a in c.annexes for ln in a.lines if (v := ln.amount(field)) is not None]
    return sum(values, Decimal(0)) if values else None


def synthese_rows(conventions: list[Convention], flags: list[Flag]) -> list[dict[str, object]]:
    """Typed rows (Decimal amounts, int counts), sorted by territory then file."""
    gravity: dict[str, Counter[str]] = {}
    for f in flags:
        gravity.setdefault(f.fichier, Counter())[f.gravite] += 1
    rows: list[dict[str, object]] = []
    for c in conventions:
        ami = _sum(c, "financement_ami")
        support = declared_support(c)
        g = gravity.get(c.fichier, Counter())
        rows.append(
            {
                "territoire": c.parties.territoire,
                "fichier": c.fichier,
                "type_document": c.fields.type_document,
                "annee_debut": c.fields.annee_debut,
                "annee_fin": c.fields.annee_fin,
                "actions": sum(len(a.lines) for a in c.annexes),
                "cout_total": _sum(c, "cout_total"),
                "financement_ami": ami,
                "cofinancement": _sum(c, "cofinancement"),
                "soutien_etat_declare": support,
                "ecart_soutien": None if ami is None or support is None else ami - support,
                "erreurs": g["erreur"],
                "alertes": g["alerte"],
                "infos": g["info"],
            }
        )
    rows.sort(key=lambda r: (str(r["territoire"]), str(r["fichier"])))
    return rows


def synthese_csv(rows: list[dict[str, object]]) -> str:
    """synthese.csv: amounts as plain decimals."""
    return _csv(
        SYNTHESE_COLUMNS,
        ({k: plain(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows),
    )


def synthese_workbook(rows: list[dict[str, object]]) -> bytes:
    """synthese.xlsx: one sheet, amounts as numbers in euros, frozen and filtered header."""
    from openpyxl import Workbook

    from export.xlsx import fill_sheet

    wb = Workbook()
    ws = wb.active
    ws.title = "synthèse"
    fill_sheet(ws, SYNTHESE_COLUMNS, rows, SYNTHESE_LABELS, SYNTHESE_AMOUNTS)
    wb.properties.title = "Conventions Logement d'abord — synthèse nationale"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_synthese(out: Path, rows: list[dict[str, object]], memo: OutputMemo | None = None) -> None:
    """OUT/synthese.csv and OUT/synthese.xlsx (the workbook skipped when unchanged)."""
    atomic_write(out / "synthese.csv", synthese_csv(rows))
    memo = memo or OutputMemo(None)
    path = out / "synthese.xlsx"
    digest = digest_of(Path(__file__).read_text(encoding="utf-8"), rows)
    if not memo.fresh(path, digest):
        atomic_write(path, synthese_workbook(rows))
        memo.built(path, digest)
