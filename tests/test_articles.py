"""Declared amounts of the articles: roles from the governing words, periods, page text clean-up."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from normalize.articles import article_paragraphs, articles_to_declared
from tests.conftest import FIXTURES, convention_of


def roles(text: str) -> list[tuple[str, Decimal]]:
    return [(d.role, d.montant) for d in articles_to_declared([text], "x.pdf", "0" * 64)]


# Wordings of the corpus and others it does not hold: the role comes from the words governing the amount.
WORDINGS = [
    (
        "Au titre de l'année 2023, le soutien de l'État s'élève à un montant prévisionnel maximal de 586 326 €, "
        "correspondant aux actions décrites en annexe 1.",
        [("soutien_etat_max", "586326")],
    ),
    (
        "Au titre de l'année 2023, le soutien de l'État s'élève à un montant de 337 600 euros et a été arrêté à la "
        "suite du dialogue de gestion entre la collectivité et l'État.",
        [("soutien_etat", "337600")],
    ),
    (
        "Le bilan d'exécution fait apparaître un reliquat de 132 000 euros sur les crédits attribués au titre de "
        "l'année 2023.",
        [("reliquat", "132000")],
    ),
    (
        "L'ADIL appellera chaque année cette participation de 10 000 € auprès de la Métropole.",
        [("participation_annuelle", "10000")],
    ),
    (
        "Sur la base du projet initial retenu en 2021, le soutien de l'État s'élève à un montant prévisionnel annuel "
        "maximal de 494 000 €, au regard du montant total estimé du coût éligible de la convention soit 571 000 €, "
        "établi à la signature de la convention 2021-2022.",
        [("soutien_etat_max", "494000"), ("cout_eligible", "571000")],
    ),
    (
        "La subvention de l'État, qui tient compte du reliquat constaté, s'élève à 120 000 €.",
        [("soutien_etat", "120000")],
    ),
    ("Le montant de la subvention est plafonné à 250 000 €.", [("soutien_etat_max", "250000")]),
    ("Le coût total éligible du projet est estimé à 800 000 €.", [("cout_eligible", "800000")]),
    ("Le montant total des dépenses éligibles est de 1 200 000 €.", [("cout_eligible", "1200000")]),
    ("Un reliquat de 45 000 € reste disponible sur les crédits 2023.", [("reliquat", "45000")]),
    ("La Métropole versera chaque année à l'ADIL une cotisation de 5 000 €.", [("participation_annuelle", "5000")]),
    ("La participation annuelle du Département est fixée à 15 000 €.", [("participation_annuelle", "15000")]),
    ("La contribution de l'État ne pourra excéder 100 000 € par an.", [("soutien_etat_max", "100000")]),
    ("Pour 2024, l'aide de l'État est de 410 000 euros.", [("soutien_etat", "410000")]),
    ("En 2023, l'État a versé 612 000 € à la Métropole.", [("soutien_etat", "612000")]),
    (
        "Pour l'année 2024, l'État verse à la collectivité la somme de 350 000 €, déduction faite du reliquat de "
        "20 000 € constaté au titre de 2023.",
        [("soutien_etat", "350000"), ("reliquat", "20000")],
    ),
    (
        "Le soutien financier de l'État est fixé à 480 000 € pour 2025 dans la limite d'un plafond de 500 000 €.",
        [("soutien_etat", "480000"), ("soutien_etat_max", "500000")],
    ),
    ("L'association dispose d'un fonds de réserve de 50 000 €.", [("autre", "50000")]),
    ("Le reliquat constaté au 31 décembre 2023 s'élève à 42 500 €.", [("reliquat", "42500")]),
    ("Le budget prévisionnel global de l'action s'élève à 1 000 000 € TTC.", [("cout_eligible", "1000000")]),
    ("Une avance de 50 % du montant, soit 125 000 €, sera versée à la signature.", [("autre", "125000")]),
    ("Montant de la participation de la Métropole : 25 000 € par an.", [("participation_annuelle", "25000")]),
    ("Le Département apporte un cofinancement de 80 000 €.", [("autre", "80000")]),
    ("Le financement du Département s'élève à 80 000 €.", [("autre", "80000")]),
    ("La contribution annuelle de la Métropole est fixée à 30 000 €.", [("participation_annuelle", "30000")]),
    (
        "L'État s'engage à verser une subvention maximale de 300 000 € pour la durée de la convention.",
        [("soutien_etat_max", "300000")],
    ),
    (
        "Le coût éligible retenu est de 900 000 €, la subvention de l'État représentant 50 % soit 450 000 €.",
        [("cout_eligible", "900000"), ("soutien_etat", "450000")],
    ),
]


def test_periods_of_each_amount() -> None:
    text = "Pour 2024, le financement de l'État est arrêté à 150 000 €, déduction faite du reliquat 2023 de 30 000 €."
    found = articles_to_declared([text], "x.pdf", "0" * 64)
    assert [(d.role, d.periode) for d in found] == [("soutien_etat", "2024"), ("reliquat", "2023")]


@pytest.mark.parametrize(("text", "expected"), WORDINGS, ids=[w[0][:50] for w in WORDINGS])
def test_role_from_the_governing_words(text: str, expected: list[tuple[str, str]]) -> None:
    assert roles(text) == [(r, Decimal(m)) for r, m in expected]


def test_one_sentence_with_support_remainder_and_restated_grant() -> None:
    text = (
        "Au titre de l'année 2025, le soutien de l'État aux actions développées directement par la Communauté "
        "d'agglomération dans le cadre de l'appel à manifestation « Logement d'abord 2 » s'élève à un montant de "
        "672 351 € tenant compte du reliquat de 201 000 € de la somme de 1 220 653 € attribuée en 2023."
    )
    found = articles_to_declared([text], "x.pdf", "0" * 64)
    assert [(d.role, d.montant, d.periode) for d in found] == [
        ("soutien_etat", Decimal("672351"), "2025"),
        ("reliquat", Decimal("201000"), "2023"),
        ("soutien_etat", Decimal("1220653"), "2023"),
    ]
    assert {d.extrait for d in found} == {text}


def test_sentence_across_lines_and_pages_without_footers() -> None:
    pages = [
        "ARTICLE 2 – FINANCEMENT\n2.2.1 Versement des crédits Etat\n"
        "Au titre de l’année 2023-2024, le soutien de l’Etat, dans le cadre de l’appel à manifestation «\n"
        "Logement d’abord 2 » s’élève à un montant prévisionnel maximal de 479 000 €, au regard du\n"
        "Reçu au Contrôle de légalité le 16 octobre 2023\nPage 3 sur 4",
        "montant total estimé du coût éligible de la convention de 980 000 €, établi à la signature de la\n"
        "présente convention.\nReçu au Contrôle de légalité le 16 octobre 2023\nPage 4 sur 4",
    ]
    found = articles_to_declared(pages, "x.pdf", "0" * 64)
    assert [(d.role, d.montant, d.page, d.periode) for d in found] == [
        ("soutien_etat_max", Decimal("479000"), 1, "2023-2024"),
        ("cout_eligible", Decimal("980000"), 2, "2023-2024"),
    ]
    extrait = found[0].extrait
    assert extrait.startswith("Au titre de l’année 2023-2024") and extrait.endswith("présente convention.")
    assert "Reçu" not in extrait and "Page" not in extrait and "2.2.1" not in extrait


def test_amount_split_over_two_lines_and_written_in_words() -> None:
    text = (
        "Au titre de l'année 2023-2024, le soutien de l'État s'élève à un montant de 1 445\n900,25 €.\n"
        "Elle donnera lieu au versement d'une participation de la Métropole de Vingt Mille euros\n(20.000,00 €) par an."
    )
    assert roles(text) == [("soutien_etat", Decimal("1445900.25")), ("participation_annuelle", Decimal("20000"))]


def test_annex_tables_and_non_money_numbers_are_not_declarations() -> None:
    pages = [
        "Le plan a permis à 440 000 personnes d'accéder au logement.\nLe soutien de l'État s'élève à 90 000 €.",
        "Annexe 1 – Plan d'actions et financements\nDDETS Mobiliser le parc privé 30 000 € 20 000 €\nTotal 90 000 €\n"
        "Reliquat de 55 000 euros",
    ]
    assert [(d.role, d.montant, d.page) for d in articles_to_declared(pages, "x.pdf", "0" * 64)] == [
        ("soutien_etat", Decimal("90000"), 1)
    ]


def test_a_reference_to_an_annex_inside_a_sentence_does_not_end_the_articles() -> None:
    pages = ["Les actions sont décrites en\nannexe 1.\nLe soutien de l'État s'élève à 90 000 €."]
    assert len(article_paragraphs(pages)) == 2
    assert roles(pages[0]) == [("soutien_etat", Decimal("90000"))]


def test_no_amount_no_declaration() -> None:
    assert articles_to_declared(["Tout reliquat de subvention viendra en déduction."], "x.pdf", "0") == []
    assert articles_to_declared([], "x.pdf", "0") == []


def test_importing_the_package_does_not_load_spacy() -> None:
    code = "import sys, normalize.articles, reconcile, reconcile.cross; assert 'spacy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


EXPECTED = sorted((FIXTURES / "lattice").glob("*.reconcile.json"))


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda p: p.name.split(".")[0])
def test_declared_amounts_of_real_pdfs(expected: Path) -> None:
    data = json.loads(expected.read_text(encoding="utf-8"))
    conv = convention_of(expected.with_name(expected.name.replace(".reconcile.json", ".pdf")))
    found = Counter((d.role, d.montant, d.periode, d.page) for d in conv.declared if not d.annexe)
    wanted = Counter((d["role"], Decimal(d["montant"]), d["periode"], d["page"]) for d in data["declared_articles"])
    assert found == wanted
    assert all(d.extrait and d.provenance.extractor.startswith("articles/") for d in conv.declared if not d.annexe)
