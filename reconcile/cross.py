"""Checks across the documents of a batch: an avenant against the convention it amends."""

from __future__ import annotations

import re
from decimal import Decimal

from models import Convention, DeclaredAmount, Flag
from normalize.text import fold
from reconcile.figures import annex_years, column_sum, compatible, euros, flag, is_article, total_rows, years

_SUPPORT = ("soutien_etat", "soutien_etat_max")


def territory_key(name: str) -> str:
    """A territory name compared without case, accents, spaces or dashes (`Aix- Marseille` = `Aix-Marseille`)."""
    return re.sub(r"[^a-z0-9]", "", fold(name))


def _span(c: Convention) -> set[int]:
    """The years a document covers, from its first and last year."""
    start, end = c.fields.annee_debut, c.fields.annee_fin
    if start is None:
        return set()
    return set(range(start, (end if end is not None and end >= start else start) + 1))


def base_convention(avenant: Convention, conventions: list[Convention]) -> Convention | None:
    """The convention an avenant amends: same territory, a period that holds the avenant's years."""
    territory = territory_key(avenant.parties.territoire)
    if not territory:
        return None
    candidates = [
        c
        for c in conventions
        if c.fichier != avenant.fichier
        and c.fields.type_document == "convention"
        and territory_key(c.parties.territoire) == territory
        and compatible(_span(c), _span(avenant))
    ]
    candidates.sort(key=lambda c: (c.fields.annee_debut or 0, c.fichier), reverse=True)
    return candidates[0] if candidates else None


def _restatements(avenant: Convention) -> list[tuple[DeclaredAmount, set[int]]]:
    """State-support amounts of the avenant's articles for years before the avenant's own."""
    own = _span(avenant) or {y for a in avenant.annexes for y in annex_years(a, avenant)}
    out = []
    for d in avenant.declared:
        if not is_article(d) or d.role not in _SUPPORT:
            continue
        period = years(d.periode, avenant.fields.annee_debut)
        if period and own and max(period) < min(own):
            out.append((d, period))
    return out


def _references(base: Convention, period: set[int]) -> list[tuple[Decimal, str]]:
    """What the convention says of the State support for `period`: its articles, then its annexes."""
    refs: list[tuple[Decimal, str]] = []
    for role in _SUPPORT:
        for d in base.declared:
            if is_article(d) and d.role == role and compatible(period, years(d.periode, base.fields.annee_debut)):
                refs.append((d.montant, f"article, page {d.page}"))
    for annex in base.annexes:
        col = annex.column("financement_ami")
        if col is None or col.nature == "obtenu_precedemment" or not compatible(period, annex_years(annex, base)):
            continue
        for t in total_rows(annex, "financement_ami"):
            value = t.amounts["financement_ami"].value
            if value is not None:
                refs.append((value, f"annexe {annex.annexe}, ligne « {t.label} »"))
        rows = column_sum(annex.lines, "financement_ami")
        if rows is not None:
            refs.append((rows, f"annexe {annex.annexe}, somme des lignes"))
    return refs


def avenant_to_flags(avenant: Convention, base: Convention) -> list[Flag]:
    """The avenant's restatement of earlier State support checked against the convention."""
    flags = []
    for d, period in _restatements(avenant):
        refs = _references(base, period)
        if not refs or any(d.montant == v for v, _ in refs):
            continue
        expected, where = refs[0]
        flags.append(
            flag(
                avenant,
                "DECLARED_VS_ANNEX",
                f"Page {d.page} : l'avenant indique un soutien de l'État de {euros(d.montant)} pour {d.periode}, "
                f"mais la convention {base.fichier} ({where}) donne {euros(expected)}",
                page=d.page,
                attendu=expected,
                trouve=d.montant,
            )
        )
    return flags


def conventions_to_flags(conventions: list[Convention]) -> list[Flag]:
    """Every cross-document flag of a batch: each avenant against the convention it amends."""
    flags: list[Flag] = []
    for c in conventions:
        if c.fields.type_document != "avenant":
            continue
        base = base_convention(c, conventions)
        if base is not None:
            flags.extend(avenant_to_flags(c, base))
    return flags
