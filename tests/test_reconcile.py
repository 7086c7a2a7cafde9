"""Each check fires on a small hand-built convention and stays silent on its corrected twin;
real PDFs give the flags verified by hand (`<stem>.reconcile.json` beside them)."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from models import (
    ActionLine,
    Annex,
    ColumnMapping,
    Convention,
    DeclaredAmount,
    DocumentFields,
    Flag,
    Parties,
    PlaceholderField,
    Provenance,
    TotalRow,
)
from models.convention import Role
from models.provenance import BBox
from models.table import Nature
from normalize.amounts import parse_amount
from reconcile import convention_to_flags
from reconcile.checks import (
    CHECKS,
    amount_unparsed,
    breakdown_mismatch,
    declared_vs_annex,
    duplicate_action_number,
    iban_ok,
    invalid_iban,
    invalid_siret,
    missing_field,
    no_total_row,
    remainder_mismatch,
    row_arithmetic,
    siret_ok,
    total_mismatch,
)
from tests.conftest import FIXTURES, convention_of

FILE = "Ville/convention.pdf"
SHA = "0" * 64


# --- builders (also used by tests/test_cross.py) -----------------------------------------


def prov(page: int, top: float = 100.0) -> Provenance:
    return Provenance(file=FILE, sha256=SHA, page=page, bbox=BBox(x0=10, top=top, x1=50, bottom=top + 10))


def line(
    ligne: int,
    cost: str | None = None,
    ami: str | None = None,
    cof: str | None = None,
    *,
    numero: str = "",
    commentaire: str = "",
    page: int = 5,
) -> ActionLine:
    """An action row; amounts are written as printed (`12 000 €`, `A préciser`, `-`)."""
    return ActionLine(
        annexe="1",
        ligne=ligne,
        page=page,
        numero=numero,
        action=f"Action {ligne}",
        cout_total=None if cost is None else parse_amount(cost),
        financement_ami=None if ami is None else parse_amount(ami),
        cofinancement=None if cof is None else parse_amount(cof),
        commentaire=commentaire,
        provenance=prov(page, 100.0 + 20 * ligne),
        cells={"commentaire": prov(page, 100.0 + 20 * ligne)},
    )


def total(label: str, page: int = 5, top: float = 700.0, role: str = "total_annexe", **amounts: str) -> TotalRow:
    return TotalRow(
        label=label,
        role="reliquat" if role == "reliquat" else "total_annexe",
        amounts={k: parse_amount(v) for k, v in amounts.items()},
        provenance=prov(page, top),
    )


def annex(
    lines: list[ActionLine],
    totals: list[TotalRow] | None = None,
    *,
    fields: tuple[str, ...] = ("cout_total", "financement_ami", "cofinancement"),
    number: str = "1",
    nature: Nature = "demande",
    periode: str = "2024",
    title: str = "",
) -> Annex:
    columns = [ColumnMapping(index=0, header="Action", field="action", score=1.0)]
    for i, f in enumerate(fields, start=1):
        header = f"Financement AMI {periode}" if f == "financement_ami" else f
        columns.append(
            ColumnMapping(
                index=i,
                header=header,
                field=f,
                score=1.0,
                nature=nature if f == "financement_ami" else "",
                periode=periode if f == "financement_ami" else "",
            )
        )
    return Annex(annexe=number, title=title, pages=[5], columns=columns, lines=lines, totals=totals or [])


def declared(role: Role, montant: str, periode: str = "2024", extrait: str = "", page: int = 2) -> DeclaredAmount:
    return DeclaredAmount(
        role=role,
        montant=Decimal(montant),
        periode=periode,
        extrait=extrait or f"Le montant est de {montant} €.",
        page=page,
        provenance=prov(page),
    )


def convention(
    annexes: list[Annex] | None = None,
    declared_amounts: list[DeclaredAmount] | None = None,
    *,
    fichier: str = FILE,
    territoire: str = "Métropole de Ville",
    type_document: str = "convention",
    years: tuple[int, int] = (2024, 2024),
    siret: str = "",
    iban: str = "",
    placeholders: list[PlaceholderField] | None = None,
) -> Convention:
    fields = DocumentFields.model_validate(
        {
            "type_document": type_document,
            "annee_debut": years[0],
            "annee_fin": years[1],
            "territoire": territoire,
            "siret": siret,
            "siret_page": 1 if siret else None,
            "iban": iban,
            "iban_page": 3 if iban else None,
            "placeholders": placeholders or [],
        }
    )
    return Convention(
        fichier=fichier,
        sha256=SHA,
        pages=8,
        fields=fields,
        parties=Parties(territoire=territoire),
        annexes=annexes or [],
        declared=declared_amounts or [],
    )


def keys(flags: list[Flag]) -> list[tuple[str, str, int | None, str, str]]:
    return sorted((f.code, f.annexe, f.ligne, f.attendu, f.trouve) for f in flags)


# --- TOTAL_MISMATCH ------------------------------------------------------------------------


def test_total_mismatch_fires_per_column_with_decimal_sums() -> None:
    rows = [line(1, ami="100 000,10 €", cof="5 000 €"), line(2, ami="50 000,20 €", cof="5 000 €")]
    c = convention([annex(rows, [total("TOTAL", financement_ami="150 000,30 €", cofinancement="11 000 €")])])
    flags = total_mismatch(c)
    assert keys(flags) == [("TOTAL_MISMATCH", "1", None, "10000", "11000")]
    assert flags[0].gravite == "erreur" and flags[0].page == 5
    assert "11\u202f000 €" in flags[0].message and "10\u202f000 €" in flags[0].message


def test_total_mismatch_silent_when_totals_add_up_and_for_remainder_rows() -> None:
    rows = [line(1, ami="0,10 €"), line(2, ami="0,20 €")]  # 0.1 + 0.2 == 0.3 only with Decimal
    totals = [total("Total", financement_ami="0,30 €"), total("Reliquat 2023", role="reliquat", financement_ami="9 €")]
    assert total_mismatch(convention([annex(rows, totals)])) == []


def test_total_mismatch_compares_a_subtotal_with_the_rows_of_its_section() -> None:
    rows = [line(1, ami="10 €"), line(2, ami="20 €"), line(3, ami="5 €", page=6)]
    totals = [total("Sous-total", page=5, financement_ami="30 €"), total("Total", page=6, financement_ami="35 €")]
    assert total_mismatch(convention([annex(rows, totals)])) == []


# --- ROW_ARITHMETIC ------------------------------------------------------------------------


def test_row_arithmetic_fires_with_the_sum_in_the_message() -> None:
    c = convention([annex([line(9, "396 000 €", "238 000 €", "150 000 €")])])
    flags = row_arithmetic(c)
    assert keys(flags) == [("ROW_ARITHMETIC", "1", 9, "388000", "396000")]
    assert flags[0].message == (
        "Annexe 1, ligne 9 : coût total 396\u202f000 € ≠ AMI 238\u202f000 € "
        "+ cofinancement 150\u202f000 € = 388\u202f000 €"
    )


def test_row_arithmetic_counts_an_absent_cofinancing_as_zero() -> None:
    assert keys(row_arithmetic(convention([annex([line(4, "51 000 €", "49 000 €", "-")])]))) == [
        ("ROW_ARITHMETIC", "1", 4, "49000", "51000")
    ]


def test_row_arithmetic_silent_when_it_adds_up_or_cannot_be_read() -> None:
    rows = [line(1, "30 000 €", "20 000 €", "10 000 €"), line(2, "30 000 €", "20 000 €", "A préciser"), line(3, "-")]
    assert row_arithmetic(convention([annex(rows)])) == []


# --- BREAKDOWN_MISMATCH --------------------------------------------------------------------


def test_breakdown_mismatch_fires_when_the_parts_do_not_add_up() -> None:
    text = "Répartition : 17 500 euros pour L'Étape et 18 000 € pour Fil d'Ariane"
    c = convention([annex([line(8, ami="32 500 €", commentaire=text)], fields=("financement_ami",))])
    flags = breakdown_mismatch(c)
    assert keys(flags) == [("BREAKDOWN_MISMATCH", "1", 8, "32500", "35500")]
    assert flags[0].gravite == "alerte"


def test_breakdown_mismatch_reads_a_stated_total_followed_by_its_parts() -> None:
    text = "Financement de 35 500 € dont 17 500 € pour le CCAS et 18 000 € pour l'ADIL"
    c = convention([annex([line(2, ami="32 500 €", commentaire=text)], fields=("financement_ami",))])
    assert keys(breakdown_mismatch(c)) == [("BREAKDOWN_MISMATCH", "1", 2, "32500", "35500")]


def test_breakdown_mismatch_silent_for_a_right_split_a_single_amount_or_a_remainder() -> None:
    rows = [
        line(1, ami="55 000 €", commentaire="Financement de 50 000 euros pour Marseille et 5000 euros pour Aix"),
        line(2, ami="110 000 €", commentaire="Reliquat de 55 000 euros"),
        line(3, ami="70 000 €", commentaire="Reliquat de 55 000 euros, 20 000 € pour l'étude et 50 000 € pour l'IML"),
        line(4, ami="40 000 €", cof="40 000 €", commentaire="- A : 14 000 € - B : 26 000 €"),
    ]
    assert breakdown_mismatch(convention([annex(rows)])) == []


# --- AMOUNT_UNPARSED -----------------------------------------------------------------------


def test_amount_unparsed_fires_on_text_in_an_amount_column() -> None:
    flags = amount_unparsed(convention([annex([line(6, ami="12 000 €", cof="A préciser")])]))
    assert keys(flags) == [("AMOUNT_UNPARSED", "1", 6, "", "A préciser")]


def test_amount_unparsed_silent_on_amounts_and_blanks() -> None:
    assert amount_unparsed(convention([annex([line(1, "12 000 €", "-", "")])])) == []


# --- DUPLICATE_ACTION_NUMBER ---------------------------------------------------------------


def test_duplicate_action_number_flags_the_later_row() -> None:
    rows = [line(13, numero="18"), line(14, numero="18"), line(15, numero="19")]
    assert keys(duplicate_action_number(convention([annex(rows)]))) == [("DUPLICATE_ACTION_NUMBER", "1", 14, "", "18")]


def test_duplicate_action_number_silent_on_distinct_or_missing_numbers() -> None:
    rows = [line(1, numero="1"), line(2, numero="2"), line(3), line(4)]
    assert duplicate_action_number(convention([annex(rows)])) == []


# --- NO_TOTAL_ROW --------------------------------------------------------------------------


def test_no_total_row_once_per_annex_with_amount_columns() -> None:
    flags = no_total_row(convention([annex([line(1, ami="5 €"), line(2, ami="6 €")])]))
    assert keys(flags) == [("NO_TOTAL_ROW", "1", None, "", "")]
    assert flags[0].gravite == "info" and "11 €" in flags[0].message


def test_no_total_row_silent_with_a_total_or_without_amount_columns() -> None:
    with_total = annex([line(1, ami="5 €")], [total("Total", financement_ami="5 €")])
    no_amounts = annex([line(1)], fields=())
    only_remainder = annex([line(1, ami="5 €")], [total("Reliquat", role="reliquat", financement_ami="5 €")])
    assert no_total_row(convention([with_total, no_amounts])) == []
    assert len(no_total_row(convention([only_remainder]))) == 1


# --- DECLARED_VS_ANNEX ---------------------------------------------------------------------


def _requested(ami_total: str, remainder: str | None = None) -> Annex:
    totals = [total("Montant total demandé (avant retrait du reliquat)", financement_ami=ami_total)]
    if remainder:
        totals.append(total("Reliquat total", top=720.0, role="reliquat", financement_ami=remainder))
    return annex([line(1, ami=ami_total)], totals, fields=("financement_ami",), periode="2024-2025")


def test_declared_vs_annex_fires_after_remainder_with_the_annex_figure_expected() -> None:
    sentence = "Le soutien s'élève à un montant 197 000 euros tenant compte du reliquat de 219 000 €."
    c = convention(
        [_requested("1 305 720 €", "319 000 €")],
        [declared("soutien_etat", "197000", "2024-2025", sentence), declared("reliquat", "219000", "2023", sentence)],
    )
    flags = declared_vs_annex(c)
    assert keys(flags) == [("DECLARED_VS_ANNEX", "1", None, "986720", "197000")]
    assert flags[0].page == 2 and flags[0].gravite == "alerte"


def test_declared_vs_annex_silent_when_the_support_is_the_total_less_a_remainder() -> None:
    sentence = "Le soutien s'élève à 672 351 € tenant compte du reliquat de 201 000 €."
    c = convention(
        [_requested("873 351 €")],
        [declared("soutien_etat", "672351", "2025", sentence), declared("reliquat", "201000", "2023", sentence)],
    )
    assert declared_vs_annex(c) == []


def test_declared_vs_annex_ceiling_and_cost_compared_with_their_columns() -> None:
    a = annex(
        [line(1, "1 940 000 €", "980 000 €", "960 000 €")],
        [total("TOTAUX", cout_total="1 940 000 €", financement_ami="980 000 €", cofinancement="960 000 €")],
        nature="accorde",
        periode="2023",
    )
    c = convention([a], [declared("soutien_etat_max", "479000", "2023-2024"), declared("cout_eligible", "1940000")])
    assert keys(declared_vs_annex(c)) == [("DECLARED_VS_ANNEX", "1", None, "980000", "479000")]


def test_declared_vs_annex_uses_the_rows_sum_without_a_total_row() -> None:
    a = annex([line(1, ami="600 000 €"), line(2, ami="6 000 €")], fields=("financement_ami",), periode="2024")
    assert keys(declared_vs_annex(convention([a], [declared("soutien_etat", "606100")]))) == [
        ("DECLARED_VS_ANNEX", "1", None, "606000", "606100")
    ]
    assert declared_vs_annex(convention([a], [declared("soutien_etat", "606000")])) == []


def test_declared_vs_annex_silent_for_another_period_or_earlier_funding() -> None:
    current = _requested("500 000 €")
    earlier = annex([line(1, ami="300 000 €")], fields=("financement_ami",), nature="obtenu_precedemment", number="2")
    c = convention([current, earlier], [declared("soutien_etat", "479000", "2023"), declared("soutien_etat", "300000")])
    assert [f.trouve for f in declared_vs_annex(c)] == ["300000"]  # compared with annex 1, never with annex 2


# --- REMAINDER_MISMATCH --------------------------------------------------------------------


def test_remainder_mismatch_once_per_differing_value_annex_row_as_reference() -> None:
    a = _requested("600 000 €", "110 400 €")
    c = convention(
        [a],
        [
            declared("reliquat", "114000", "2023", page=1),
            declared("reliquat", "114000", "2023", page=2),
        ],
    )
    flags = remainder_mismatch(c)
    assert keys(flags) == [("REMAINDER_MISMATCH", "1", None, "110400", "114000")]
    assert flags[0].page == 1 and flags[0].gravite == "erreur"


def test_remainder_mismatch_between_two_article_statements() -> None:
    c = convention([], [declared("reliquat", "132000", "2023"), declared("reliquat", "122000", "2023", page=3)])
    assert keys(remainder_mismatch(c)) == [("REMAINDER_MISMATCH", "", None, "132000", "122000")]


def test_remainder_mismatch_compares_each_year_with_its_own_statement() -> None:
    rows = [
        total("Reliquat 2022", role="reliquat", financement_ami="50 000 €"),
        total("Reliquat 2023", top=720.0, role="reliquat", financement_ami="110 400 €"),
    ]
    a = annex([line(1, ami="600 000 €")], rows, fields=("financement_ami",))
    c = convention([a], [declared("reliquat", "114000", "2023"), declared("reliquat", "50000", "2022")])
    assert keys(remainder_mismatch(c)) == [("REMAINDER_MISMATCH", "1", None, "110400", "114000")]


def test_remainder_mismatch_silent_when_equal_single_or_other_years() -> None:
    same = convention([_requested("600 000 €", "73 000 €")], [declared("reliquat", "73000", "2023")])
    single = convention([], [declared("reliquat", "75000", "2023")])
    other_years = convention([], [declared("reliquat", "75000", "2023"), declared("reliquat", "20000", "2024")])
    assert remainder_mismatch(same) == remainder_mismatch(single) == remainder_mismatch(other_years) == []


# --- SIRET, IBAN ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("siret", "ok"),
    [
        ("13001303000106", True),
        ("24210041000123", True),
        ("29446026000017", False),  # one digit changed
        ("2944602600001", False),  # 13 digits
        ("35600000000048", True),  # La Poste head office: Luhn
    ],
)
def test_siret_check(siret: str, ok: bool) -> None:
    assert siret_ok(siret) is ok


@pytest.mark.parametrize(
    ("iban", "ok"),
    [
        ("FR093000100512C130000000002", True),
        ("FR76 3000 6000 0112 3456 7890 189", True),
        ("FR163000100233C772503682927", False),
        ("FR09300010051", False),
    ],
)
def test_iban_check(iban: str, ok: bool) -> None:
    assert iban_ok(iban) is ok


def test_invalid_siret_and_iban_fire_with_their_page() -> None:
    c = convention(siret="29446026000017", iban="FR163000100233C772503682927")
    assert keys(invalid_siret(c)) == [("INVALID_SIRET", "", None, "", "29446026000017")]
    assert keys(invalid_iban(c)) == [("INVALID_IBAN", "", None, "", "FR163000100233C772503682927")]
    assert invalid_siret(c)[0].page == 1 and invalid_iban(c)[0].page == 3


def test_invalid_siret_and_iban_silent_when_valid_or_absent() -> None:
    for c in (convention(siret="13001303000106", iban="FR093000100512C130000000002"), convention()):
        assert invalid_siret(c) == invalid_iban(c) == []


# --- MISSING_FIELD -------------------------------------------------------------------------


def test_missing_field_splits_a_blank_deliberation_and_trims_the_signature_line() -> None:
    c = convention(
        placeholders=[
            PlaceholderField(champ="deliberation", trouve="délibération n° du Conseil de la Métropole du ....", page=1),
            PlaceholderField(
                champ="date_signature", trouve="Fait à Quimberel, le Le Président de la Métropole", page=4
            ),
        ]
    )
    flags = missing_field(c)
    assert sorted((f.champ, f.trouve, f.page) for f in flags) == [
        ("date_deliberation", "du ....", 1),
        ("date_signature", "Fait à Quimberel, le", 4),
        ("numero_deliberation", "délibération n° du Conseil de la Métropole", 1),
    ]
    assert {f.gravite for f in flags} == {"alerte"}


def test_missing_field_silent_for_a_filled_deliberation_or_no_placeholder() -> None:
    filled = PlaceholderField(champ="deliberation", trouve="délibération n° 2023-45 du 12 mars 2023", page=1)
    assert missing_field(convention(placeholders=[filled])) == []
    assert missing_field(convention()) == []


# --- all checks together -------------------------------------------------------------------


def test_every_contract_code_but_extraction_failed_has_a_check() -> None:
    assert len(CHECKS) == 13
    c = convention(
        [
            annex(
                [
                    line(1, "10 €", "5 €", "A préciser", numero="1", commentaire="3 € et 4 €"),
                    line(2, numero="1"),
                    line(3, "10 €", "5 €", "4 €"),
                ]
            )
        ],
        [declared("soutien_etat", "20"), declared("reliquat", "1", "2023"), declared("reliquat", "2", "2023")],
        siret="123",
        iban="FR00",
        placeholders=[PlaceholderField(champ="date_signature", trouve="le :", page=3)],
    )
    c.annexes[0].totals = [total("Total", cout_total="99 €")]
    c.annexes.append(annex([line(1, ami="1 €")], number="2"))
    c.annexes.append(annex([line(1, cost="1 €")], number="3", fields=("cout_total",)))
    c.page_texts = ["", "Annexe 4 : tableau des actions", ""]
    codes = {f.code for f in convention_to_flags(c)}
    assert codes == {
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
        "TABLE_NOT_FOUND",
        "COLUMN_UNRECOGNISED",
    }
    assert all(f.message and f.fichier == FILE and f.territoire == "Métropole de Ville" for f in convention_to_flags(c))


# --- real PDFs ------------------------------------------------------------------------------

EXPECTED = sorted((FIXTURES / "lattice").glob("*.reconcile.json"))


def expected_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def pdf_of(expected: Path) -> Path:
    return expected.with_name(expected.name.replace(".reconcile.json", ".pdf"))


def test_reconcile_fixtures_are_present() -> None:
    assert len(EXPECTED) >= 3 and all(pdf_of(p).exists() for p in EXPECTED)


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda p: p.name.split(".")[0])
def test_flags_of_real_pdfs(expected: Path) -> None:
    data = expected_of(expected)
    conv = convention_of(pdf_of(expected))
    flags = convention_to_flags(conv)
    allowed = {(k["code"], k["annexe"], k["ligne"]) for k in data["known_extra_flags"]}
    found = Counter(
        (f.code, f.gravite, f.page, f.annexe, f.ligne, f.attendu, f.trouve)
        for f in flags
        if (f.code, f.annexe, f.ligne) not in allowed
    )
    wanted = Counter(
        (f["code"], f["gravite"], f["page"], f["annexe"], f["ligne"], f["attendu"], f["trouve"]) for f in data["flags"]
    )
    assert found == wanted
    assert all(f.message and "€" in f.message for f in flags if f.attendu or f.code == "BREAKDOWN_MISMATCH")
