"""Declared amounts from annex total rows (the article sentences are read by `normalize.articles`)."""

from __future__ import annotations

from models import Annex, DeclaredAmount

_COLUMN_LABEL = {"cout_total": "coût total", "financement_ami": "financement AMI", "cofinancement": "cofinancement"}


def totals_to_declared(annexes: list[Annex]) -> list[DeclaredAmount]:
    """One declared amount per (total row, amount column)."""
    out = []
    for a in annexes:
        for t in a.totals:
            for col, amount in t.amounts.items():
                if amount.value is None:
                    continue
                header = a.column(col)
                out.append(
                    DeclaredAmount(
                        role=t.role,
                        montant=amount.value,
                        periode=header.periode if header and col == "financement_ami" else "",
                        extrait=f"Annexe {a.annexe}, ligne « {t.label} », colonne « "
                        f"{header.header if header else _COLUMN_LABEL[col]} »",
                        page=t.provenance.page,
                        annexe=a.annexe,
                        column=col,
                        provenance=t.provenance,
                    )
                )
    return out
