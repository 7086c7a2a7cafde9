"""The registry of checks: one small function per flag code, each `Convention -> list[Flag]`."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from models import Annex, Convention, DeclaredAmount, Flag
from models.convention import AmountField
from normalize.amounts import find_amounts
from normalize.text import fold
from reconcile.coverage import column_unrecognised, table_not_found
from reconcile.figures import (
    COLUMN_LABEL,
    amount_columns,
    annex_years,
    column_sum,
    compatible,
    euros,
    flag,
    is_article,
    lines_above,
    remainder_rows,
    total_rows,
    years,
)

Check = Callable[[Convention], list[Flag]]


# --- annex arithmetic ----------------------------------------------------------------------


def total_mismatch(c: Convention) -> list[Flag]:
    """A total row that differs, for a column, from the sum of the rows printed above it."""
    flags = []
    for annex in c.annexes:
        for field in amount_columns(annex):
            previous: list[int] = []
            for total in total_rows(annex, field):
                printed = total.amounts[field].value
                above = lines_above(annex, total)
                section = [ln for ln in above if ln.ligne not in previous]
                previous = [ln.ligne for ln in above]
                sums = {s for s in (column_sum(section, field), column_sum(above, field)) if s is not None}
                if printed is None or not sums or printed in sums:
                    continue
                expected = column_sum(section, field)
                assert expected is not None
                unread = sum(1 for ln in section if (a := getattr(ln, field)) is not None and a.unreadable)
                note = f" ({unread} cellule(s) illisible(s) non comptée(s))" if unread else ""
                flags.append(
                    flag(
                        c,
                        "TOTAL_MISMATCH",
                        f"Annexe {annex.annexe}, ligne « {total.label} » : total {COLUMN_LABEL[field]} "
                        f"{euros(printed)} ≠ somme des lignes {euros(expected)}{note} "
                        f"(écart {euros(printed - expected)})",
                        page=total.provenance.page,
                        annexe=annex.annexe,
                        attendu=expected,
                        trouve=printed,
                    )
                )
    return flags


def row_arithmetic(c: Convention) -> list[Flag]:
    """A row whose total cost differs from its AMI amount plus its co-financing."""
    flags = []
    for annex in c.annexes:
        if not annex.has_column("cout_total") or not (
            annex.has_column("financement_ami") or annex.has_column("cofinancement")
        ):
            continue
        for ln in annex.lines:
            cost, ami, cof = ln.cout_total, ln.financement_ami, ln.cofinancement
            if cost is None or cost.value is None:
                continue
            parts = [a for a in (ami, cof) if a is not None]
            if any(a.unreadable for a in parts) or not any(a.value is not None for a in parts):
                continue
            ami_v = ami.value if ami is not None and ami.value is not None else Decimal(0)
            cof_v = cof.value if cof is not None and cof.value is not None else Decimal(0)
            if cost.value == ami_v + cof_v:
                continue
            cell = ln.cells.get("cout_total")
            flags.append(
                flag(
                    c,
                    "ROW_ARITHMETIC",
                    f"Annexe {annex.annexe}, ligne {ln.ligne} : coût total {euros(cost.value)} ≠ AMI {euros(ami_v)} "
                    f"+ cofinancement {euros(cof_v)} = {euros(ami_v + cof_v)}",
                    page=cell.page if cell else ln.page,
                    annexe=annex.annexe,
                    ligne=ln.ligne,
                    attendu=ami_v + cof_v,
                    trouve=cost.value,
                )
            )
    return flags


_SPLIT_ORDER: tuple[AmountField, ...] = ("financement_ami", "cout_total", "cofinancement")
_REMAINDER_WORD = re.compile(r"reliquat|solde|report", re.IGNORECASE)


def breakdown_mismatch(c: Convention) -> list[Flag]:
    """A comment that splits a row's amount into parts that do not add up to it."""
    flags = []
    for annex in c.annexes:
        for ln in annex.lines:
            text = ln.commentaire
            parts = [
                a.value
                for start, _, a in find_amounts(text)
                if a.value is not None and not _REMAINDER_WORD.search(text[max(0, start - 25) : start])
            ]
            if len(parts) >= 3 and sum(parts[1:], Decimal(0)) == parts[0]:
                parts = parts[1:]  # a stated total followed by its parts
            if len(parts) < 2:
                continue
            split = sum(parts, Decimal(0))
            values: list[tuple[AmountField, Decimal]] = [
                (f, v) for f in _SPLIT_ORDER if (v := ln.amount(f)) is not None
            ]
            if not values or any(v == split for _, v in values):
                continue
            field, value = values[0]
            cell = ln.cells.get("commentaire")
            flags.append(
                flag(
                    c,
                    "BREAKDOWN_MISMATCH",
                    f"Annexe {annex.annexe}, ligne {ln.ligne} : le commentaire répartit "
                    f"{' + '.join(euros(p) for p in parts)} = {euros(split)}, "
                    f"mais le {COLUMN_LABEL[field]} de la ligne est de {euros(value)}",
                    page=cell.page if cell else ln.page,
                    annexe=annex.annexe,
                    ligne=ln.ligne,
                    attendu=value,
                    trouve=split,
                )
            )
    return flags


def amount_unparsed(c: Convention) -> list[Flag]:
    """A cell of an amount column whose text is not an amount."""
    flags = []
    for annex in c.annexes:
        for ln in annex.lines:
            for field in ("cout_total", "financement_ami", "cofinancement"):
                a = getattr(ln, field)
                if a is None or not a.unreadable:
                    continue
                cell = ln.cells.get(field)
                flags.append(
                    flag(
                        c,
                        "AMOUNT_UNPARSED",
                        f"Annexe {annex.annexe}, ligne {ln.ligne} : la colonne {COLUMN_LABEL[field]} contient "
                        f"« {a.raw} », qui n'est pas un montant ; la ligne n'est pas comptée dans les sommes",
                        page=cell.page if cell else ln.page,
                        annexe=annex.annexe,
                        ligne=ln.ligne,
                        trouve=a.raw,
                    )
                )
    return flags


def duplicate_action_number(c: Convention) -> list[Flag]:
    """Two rows of one annex with the same action number: the later row is flagged."""
    flags = []
    for annex in c.annexes:
        seen: dict[str, int] = {}
        for ln in annex.lines:
            numero = ln.numero.strip()
            if not numero:
                continue
            if numero in seen:
                flags.append(
                    flag(
                        c,
                        "DUPLICATE_ACTION_NUMBER",
                        f"Annexe {annex.annexe}, ligne {ln.ligne} : l'action n° {numero} figure déjà "
                        f"à la ligne {seen[numero]}",
                        page=ln.page,
                        annexe=annex.annexe,
                        ligne=ln.ligne,
                        trouve=numero,
                    )
                )
            else:
                seen[numero] = ln.ligne
    return flags


def no_total_row(c: Convention) -> list[Flag]:
    """An annex with amount columns and no total row: its sums cannot be checked (one `info` per annex)."""
    flags = []
    for annex in c.annexes:
        fields = amount_columns(annex)
        if not fields or not annex.lines or any(t.role == "total_annexe" for t in annex.totals):
            continue
        sums = [f"{COLUMN_LABEL[f]} {euros(s)}" for f in fields if (s := column_sum(annex.lines, f)) is not None]
        detail = f" (somme des lignes : {', '.join(sums)})" if sums else ""
        flags.append(
            flag(
                c,
                "NO_TOTAL_ROW",
                f"Annexe {annex.annexe} : aucune ligne de total pour vérifier les colonnes de montants{detail}",
                page=annex.pages[-1] if annex.pages else None,
                annexe=annex.annexe,
            )
        )
    return flags


# --- articles against annexes --------------------------------------------------------------


def _remainders(c: Convention, annex: Annex) -> list[Decimal]:
    """Remainders that an amount 'after remainder' may have been reduced by: annex rows, then articles."""
    found = [v for _, v in remainder_rows(annex)]
    found += [d.montant for d in c.declared if is_article(d) and d.role == "reliquat"]
    return list(dict.fromkeys(found))


def _annex_figures(c: Convention, annex: Annex, field: AmountField) -> tuple[Decimal, str, list[Decimal]] | None:
    """The annex figure for a column (its total row, else its rows' sum), how it was read,
    and every figure an article may legitimately state for it (before or after remainders)."""
    totals = total_rows(annex, field)
    rows = column_sum(annex.lines, field)
    if totals:
        first = totals[0]
        value = first.amounts[field].value
        assert value is not None
        how = f"ligne « {first.label} »"
    elif rows is not None:
        value, how = rows, "somme des lignes"
    else:
        return None
    bases = list(dict.fromkeys(v for v in (value, rows) if v is not None))
    accepted = list(bases)
    if field == "financement_ami":
        accepted += [b - r for b in bases for r in _remainders(c, annex)]
    return value, how, accepted


def _expected(c: Convention, annex: Annex, d: DeclaredAmount, value: Decimal, how: str) -> tuple[Decimal, str]:
    """The annex figure a declaration should equal: after the remainder when either side says so."""
    remainders = _remainders(c, annex)
    says_remainder = "reliquat" in fold(d.extrait) or "reliquat" in fold(how)
    if remainders and says_remainder:
        return value - remainders[0], f"{how} moins le reliquat de {euros(remainders[0])}"
    return value, how


_ROLE_TEXT = {
    "soutien_etat": "le soutien de l'État",
    "soutien_etat_max": "le soutien maximal de l'État",
    "cout_eligible": "le coût éligible",
}


def _period_text(periode: str) -> str:
    if not periode:
        return ""
    return " (annuel)" if periode == "annuel" else f" pour {periode}"


def declared_vs_annex(c: Convention) -> list[Flag]:
    """A State-support amount (or eligible cost) of the articles that no reading of its annex column gives."""
    flags = []
    for d in c.declared:
        if not is_article(d) or d.role not in _ROLE_TEXT:
            continue
        field: AmountField = "cout_total" if d.role == "cout_eligible" else "financement_ami"
        period = years(d.periode, c.fields.annee_debut)
        candidates = []
        for annex in c.annexes:
            col = annex.column(field)
            ami = annex.column("financement_ami")
            if col is None or (ami is not None and ami.nature == "obtenu_precedemment"):
                continue
            if not compatible(period, annex_years(annex, c)):
                continue
            figures = _annex_figures(c, annex, field)
            if figures is not None:
                candidates.append((annex, figures))
        if not candidates or any(d.montant in accepted for _, (_, _, accepted) in candidates):
            continue
        annex, (value, how, _) = candidates[0]
        expected, how = _expected(c, annex, d, value, how)
        col = annex.column(field)
        header = col.header if col else COLUMN_LABEL[field]
        flags.append(
            flag(
                c,
                "DECLARED_VS_ANNEX",
                f"Page {d.page} : {_ROLE_TEXT[d.role]}{_period_text(d.periode)} est de {euros(d.montant)}, "
                f"mais l'annexe {annex.annexe} (colonne « {header} », {how}) donne {euros(expected)}",
                page=d.page,
                annexe=annex.annexe,
                attendu=expected,
                trouve=d.montant,
            )
        )
    return flags


def remainder_mismatch(c: Convention) -> list[Flag]:
    """The same remainder stated with different amounts (annex remainder row first, then the articles)."""
    statements: list[tuple[Decimal, set[int], str, int, str]] = []  # value, years, annex, page, where
    for annex in c.annexes:
        for row, value in remainder_rows(annex):
            where = f"annexe {annex.annexe}, ligne « {row.label} », page {row.provenance.page}"
            statements.append((value, years(row.label), annex.annexe, row.provenance.page, where))
    for d in c.declared:
        if is_article(d) and d.role == "reliquat":
            statements.append((d.montant, years(d.periode), "", d.page, f"articles, page {d.page}"))
    flags = []
    reported: set[tuple[Decimal, Decimal]] = set()
    for i, (value, when, annexe, page, where) in enumerate(statements):
        # the reference is the first earlier statement of the same period: the annex row when there is one
        ref = next((s for s in statements[:i] if compatible(s[1], when)), None)
        if ref is None or ref[0] == value or (ref[0], value) in reported:
            continue
        reported.add((ref[0], value))
        ref_value, _, ref_annex, _, ref_where = ref
        flags.append(
            flag(
                c,
                "REMAINDER_MISMATCH",
                f"Le même reliquat est énoncé avec deux montants : {euros(ref_value)} ({ref_where}) "
                f"et {euros(value)} ({where})",
                page=page,
                annexe=ref_annex or annexe,
                attendu=ref_value,
                trouve=value,
            )
        )
    return flags


# --- document fields -----------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum used by SIREN and SIRET numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def siret_ok(siret: str) -> bool:
    """14 digits passing Luhn (La Poste's establishments use a digit sum multiple of 5 instead)."""
    if not re.fullmatch(r"\d{14}", siret):
        return False
    if siret.startswith("356000000") and siret != "35600000000048":
        return sum(int(ch) for ch in siret) % 5 == 0
    return luhn_ok(siret)


_IBAN_LENGTH = {"FR": 27, "MC": 27, "DE": 22, "BE": 16, "ES": 24, "IT": 27, "LU": 20, "CH": 21, "GB": 22, "NL": 18}


def iban_ok(iban: str) -> bool:
    """ISO 13616: country length and mod-97 of the rearranged number equal to 1."""
    iban = re.sub(r"\s+", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    if len(iban) != _IBAN_LENGTH.get(iban[:2], len(iban)):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def invalid_siret(c: Convention) -> list[Flag]:
    """A SIRET that fails its length or Luhn check."""
    siret = re.sub(r"\s+", "", c.fields.siret)
    if not siret or siret_ok(siret):
        return []
    why = "n'a pas 14 chiffres" if not re.fullmatch(r"\d{14}", siret) else "échoue au contrôle de Luhn"
    return [
        flag(
            c,
            "INVALID_SIRET",
            f"Le SIRET {siret} {why} : numéro mal recopié ?",
            page=c.fields.siret_page,
            trouve=siret,
            champ="siret",
        )
    ]


def invalid_iban(c: Convention) -> list[Flag]:
    """An IBAN that fails its ISO 13616 mod-97 check."""
    iban = re.sub(r"\s+", "", c.fields.iban).upper()
    if not iban or iban_ok(iban):
        return []
    return [
        flag(
            c,
            "INVALID_IBAN",
            f"L'IBAN {iban} échoue au contrôle ISO 13616 (clé mod 97) : coordonnées bancaires à vérifier "
            "avant tout versement",
            page=c.fields.iban_page,
            trouve=iban,
            champ="iban",
        )
    ]


_DATE_BLANK = re.compile(r"^(.*?\ble\b\s*:?)", re.IGNORECASE)
_DELIB_NUMBER_BLANK = re.compile(r"n\s*°(?!\s*[\w/-]*\d)", re.IGNORECASE)
_DELIB_DATE_BLANK = re.compile(r"\bdu\s*(?:\.{2,}|…|_{2,}|$)", re.IGNORECASE)
_FIELD_TEXT = {
    "date_signature": "la date de signature est laissée en blanc",
    "numero_deliberation": "le numéro de la délibération est laissé en blanc",
    "date_deliberation": "la date de la délibération est laissée en blanc",
}


def missing_field(c: Convention) -> list[Flag]:
    """A required field printed blank or as a placeholder (signature date, deliberation number or date)."""
    flags = []
    for p in c.fields.placeholders:
        found: list[tuple[str, str]] = []
        if p.champ == "deliberation":
            if _DELIB_NUMBER_BLANK.search(p.trouve):
                found.append(("numero_deliberation", p.trouve.split(" du ....")[0].strip()))
            m = _DELIB_DATE_BLANK.search(p.trouve)
            if m:
                found.append(("date_deliberation", m.group(0).strip()))
        elif p.champ == "date_signature":
            m = _DATE_BLANK.match(p.trouve)
            found.append((p.champ, m.group(1).strip() if m else p.trouve))
        else:
            found.append((p.champ, p.trouve))
        for champ, trouve in found:
            flags.append(
                flag(
                    c,
                    "MISSING_FIELD",
                    f"Page {p.page} : {_FIELD_TEXT.get(champ, champ + ' : champ non rempli')} (« {trouve} »)",
                    page=p.page,
                    trouve=trouve,
                    champ=champ,
                )
            )
    return flags


CHECKS: list[Check] = [
    total_mismatch,
    row_arithmetic,
    declared_vs_annex,
    remainder_mismatch,
    breakdown_mismatch,
    amount_unparsed,
    invalid_siret,
    invalid_iban,
    duplicate_action_number,
    missing_field,
    no_total_row,
    table_not_found,
    column_unrecognised,
]
