"""Documents laid out and worded unlike the corpus (tests/fixtures/unseen, built by make_fixtures.py):
the whole pipeline against their truth files, then the wordings they brought in, one by one."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from extract.annexes import UNLABELLED_TOTAL, tables_to_annexes
from extract.tables import page_to_tables
from models import Convention, Flag, Page, Parties, Word
from normalize.amounts import parse_amount
from normalize.articles import articles_to_declared
from normalize.columns import header_hits, header_multiplier, map_columns
from normalize.fields import read_fields, read_iban, read_siret
from normalize.pilots import canonical_pilots
from normalize.statuses import evolution, statut
from reconcile import convention_to_flags
from tests.conftest import FIXTURES, convention_of

UNSEEN = FIXTURES / "unseen"
PDFS = sorted(UNSEEN.glob("*.pdf"))
AMOUNTS = ("cout_total", "financement_ami", "cofinancement")
TEXTS = ("numero", "pilote_brut", "action", "objectif", "description", "indicateurs", "statut_brut", "commentaire")


def _truth(pdf: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(pdf.with_suffix(".truth.json").read_text(encoding="utf-8"))
    return data


@cache
def _flags(pdf: Path) -> tuple[Flag, ...]:
    return tuple(convention_to_flags(convention_of(pdf)))


def _dec(v: object) -> Decimal | None:
    return None if v in ("", None) else Decimal(str(v))


def _norm(s: str) -> str:
    return " ".join(s.replace("’", "'").split()).casefold()


def test_every_fixture_has_its_truth() -> None:
    assert len(PDFS) >= 6
    for pdf in PDFS:
        assert _truth(pdf)["file_stem"] == pdf.stem


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: p.stem)
def test_rows_and_their_values(pdf: Path) -> None:
    conv: Convention = convention_of(pdf)
    got = {a.annexe: a for a in conv.annexes}
    for annex in _truth(pdf)["annexes"]:
        lines = got[annex["annexe"]].lines
        assert len(lines) == len(annex["rows"]), f"annexe {annex['annexe']}"
        for row, ln in zip(annex["rows"], lines, strict=True):
            where = f"annexe {annex['annexe']} ligne {row['ligne']}"
            for f in AMOUNTS:
                a = getattr(ln, f)
                assert (a.value if a else None) == _dec(row[f]), f"{where} {f}"
            assert set(ln.pilotes) == set(row["pilotes"]), where
            assert (ln.statut, ln.evolution_financement) == (row["statut"], row["evolution_financement"]), where
            assert (ln.nature_financement_ami, ln.periode_financement) == (
                row["nature_financement_ami"],
                row["periode_financement"],
            ), where
            assert _norm(ln.sources_cofinancement) == _norm(row["sources_cofinancement"]), where
            for f in TEXTS:
                assert _norm(getattr(ln, f)) == _norm(row[f]), f"{where} {f}"
    assert {a.annexe for a in conv.annexes} == {a["annexe"] for a in _truth(pdf)["annexes"]}


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: p.stem)
def test_declared_amounts_and_totals(pdf: Path) -> None:
    truth = _truth(pdf)
    expected = Counter((m["role"], Decimal(m["montant"])) for m in truth["montants_declares"])
    expected += Counter((t["role"], Decimal(t["montant"])) for a in truth["annexes"] for t in a["totals"])
    found = Counter((d.role, d.montant) for d in convention_of(pdf).declared)
    assert found == expected


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: p.stem)
def test_document_fields(pdf: Path) -> None:
    fields = convention_of(pdf).fields
    for name, value in _truth(pdf)["document"].items():
        if name == "titre":
            continue
        got = getattr(fields, name)
        assert (got or None) == (value or None), name


@pytest.mark.parametrize("pdf", PDFS, ids=lambda p: p.stem)
def test_flags(pdf: Path) -> None:
    """Each expected flag found once (same code, and annex and row where the truth gives them), no other."""
    left = list(_flags(pdf))
    for want in _truth(pdf)["expected_flags"]:
        match = next(
            (
                f
                for f in left
                if f.code == want["code"]
                and (not want["annexe"] or f.annexe == want["annexe"])
                and (want["ligne"] is None or f.ligne == want["ligne"])
            ),
            None,
        )
        assert match is not None, want
        assert match.gravite == want["gravite"], want
        left.remove(match)
    assert not left, [f.message for f in left]


# ---------------------------------------------------------------- the wordings, one by one


@pytest.mark.parametrize(
    ("headers", "fields"),
    [
        (
            [
                "N°",
                "Porteur",
                "Intitulé",
                "Montant total du projet",
                "Contribution État sollicitée (€)",
                "Autres financements (€)",
                "Partenaires financeurs",
            ],
            ["numero", "pilote", "action", "cout_total", "financement_ami", "cofinancement", "sources_cofinancement"],
        ),
        (
            ["Réf.", "Pilote", "Action", "Budget prévisionnel", "AMI 2025", "Cofin.", "Avancement", "Remarques"],
            ["numero", "pilote", "action", "cout_total", "financement_ami", "cofinancement", "statut", "commentaire"],
        ),
        (
            [
                "Structure porteuse",
                "Intitulé du projet",
                "Objectifs visés",
                "Modalités de mise en œuvre",
                "Plan de financement 2023 Coût global",
                "Plan de financement 2023 Part AMI accordée",
                "Plan de financement 2023 Autres financements",
            ],
            ["pilote", "action", "objectif", "description", "cout_total", "financement_ami", "cofinancement"],
        ),
        (
            ["Porteur", "Action", "Financement 2025", "Reliquat 2024", "Cofinancement", "Total"],
            ["pilote", "action", "financement_ami", None, "cofinancement", "cout_total"],
        ),
        (
            [
                "Porteur(s)",
                "Intitulé de la mesure",
                "Financement Dihal sollicité 2024 (€)",
                "Origine des cofinancements",
            ],
            ["pilote", "action", "financement_ami", "sources_cofinancement"],
        ),
        (["Financements AMI 2025", "Financements Cofinancement"], ["financement_ami", "cofinancement"]),
        # words cut by a hyphen at a line break inside the header cell
        (["Pilote", "Finance- ment AMI 2025", "Cofinan- cements"], ["pilote", "financement_ami", "cofinancement"]),
        (["Budget AMI 2025", "Coût de l'opération"], ["financement_ami", "cout_total"]),
        (
            ["N°", "Porteur", "Libellé de l'action", "Stade", "Crédits AMI retenus (€)", "Points d'attention"],
            ["numero", "pilote", "action", "statut", "financement_ami", "commentaire"],
        ),
    ],
)
def test_new_header_wordings(headers: list[str], fields: list[str | None]) -> None:
    assert [c.field for c in map_columns(headers)] == fields


@pytest.mark.parametrize(
    "phrase",
    ["chef de projet de la démarche Logement d'abord", "le comité de pilotage, l'équipe projet et le terrain"],
)
def test_prose_in_a_cell_is_no_header_label(phrase: str) -> None:
    assert not header_hits(phrase)


@pytest.mark.parametrize(
    ("raw", "code", "evo"),
    [
        ("Action engagée", "en_cours", ""),
        ("Reconduite à l'identique", "en_cours", "renouvellement"),
        ("Hausse du financement AMI pour 2024", "en_cours", "augmentation"),
        ("Nouveau financement AMI pour 2024", "a_lancer", "nouveau"),
        ("Non démarrée", "a_lancer", ""),
        ("Achevée", "realisee", ""),
        ("5 - Abandonnée", "abandonnee", ""),
        ("En cours de déploiement", "en_cours", ""),
    ],
)
def test_new_status_wordings(raw: str, code: str, evo: str) -> None:
    assert (statut(raw), evolution(raw)) == (code, evo)


TERRITORY = Parties(
    territoire="Communauté d'agglomération du Val de Morency",
    aliases=["Communauté d'agglomération du Val de Morency"],
    cities=["Morency-le-Haut", "Hauvessac-sur-Brisanne Majoration", "Lormessac Renforcement", "Aix-en-Provence"],
)


@pytest.mark.parametrize(
    ("raw", "codes"),
    [
        ("Etat (DDETS)", ["DDETS"]),
        ("ADIL 61", ["ADIL"]),
        ("Commune de Morency-le-Haut", ["VILLE:Morency-le-Haut"]),
        ("CAVM / SIAO", ["EPCI", "SIAO"]),
        ("Bailleurs sociaux", ["BAILLEURS SOCIAUX"]),
        ("Action Logement et CAF", ["ACTION LOGEMENT", "CAF"]),
        ("Association Habitat et Humanisme", ["ASSOCIATION HABITAT ET HUMANISME"]),
        ("Fondation pour le logement (FPL)", ["FPL"]),
        ("Mairie de Saint-Loup-sur-Marve", ["VILLE:Saint-Loup-sur-Marve"]),
        # a full name is never stretched to a longer "city" the page text ran on into
        ("Hauvessac-sur-Brisanne", ["VILLE:Hauvessac-sur-Brisanne"]),
        ("Ville – Lormessac", ["VILLE:Lormessac"]),
        ("aix", ["VILLE:Aix-en-Provence"]),
    ],
)
def test_new_pilot_wordings(raw: str, codes: list[str]) -> None:
    assert canonical_pilots(raw, TERRITORY) == codes


@pytest.mark.parametrize(
    ("text", "place", "date"),
    [
        ("Fait en deux exemplaires à Morency-le-Haut, le 14 mars 2025", "Morency-le-Haut", "2025-03-14"),
        ("À Brissac, le 2 juin 2025", "Brissac", "2025-06-02"),
        ("Fait à Saint-Aubrac le 30 septembre 2024", "Saint-Aubrac", "2024-09-30"),
        ("Fait à Marvejac, en deux exemplaires, le 15 avril 2025", "Marvejac", "2025-04-15"),
        ("A la suite de la réunion, le comité", "", ""),
    ],
)
def test_signature_wordings(text: str, place: str, date: str) -> None:
    f = read_fields(["CONVENTION\n" + text], "")
    assert (f.lieu_signature, f.date_signature) == (place, date)


@pytest.mark.parametrize(
    ("text", "years"),
    [
        (
            "Au titre de l'année 2024, l'État a attribué 5 €.\nPour l'année 2025, la participation est fixée",
            (2025, 2025),
        ),
        ("L'État apporte une subvention de 96 000 € au titre de 2024, déduction faite", (2024, 2024)),
        ("Au titre de l'exercice 2025, une subvention est allouée", (2025, 2025)),
    ],
)
def test_avenant_years_from_the_articles(text: str, years: tuple[int, int]) -> None:
    f = read_fields(["AVENANT N°2 À LA CONVENTION 2023-2025\n" + text + "\nANNEXE 1 - Plan 2026"], "")
    assert (f.annee_debut, f.annee_fin) == years


def test_identifiers_after_a_few_words() -> None:
    assert read_siret("SIRET de l'ADIL : 418 226 551 00023")[0] == "41822655100023"
    assert read_iban("IBAN de la CACL : FR54 1007 1380 0000 0200 0345 678") == "FR5410071380000002000345678"


def test_article_wordings() -> None:
    text = (
        "ARTICLE 2\nLes crédits non consommés au 31 décembre 2024, soit 22 000 €, restent acquis à la Métropole.\n"
        "Pour 2025 et 2026, l'État s'engage à verser une subvention annuelle plafonnée à 300 000 €.\n"
        "L'État apporte une subvention de 96 000 € au titre de 2024.\n"
        "Fait à Brissac, le 2 juin 2025\n"
        "Annexe 1 – Programme d'actions\nDDETS Action 40 000 €\n"
    )
    got = [(d.role, d.montant, d.periode) for d in articles_to_declared([text], "x.pdf", "0")]
    assert got == [
        ("reliquat", Decimal(22000), "2024"),
        ("soutien_etat_max", Decimal(300000), "2025-2026"),
        ("soutien_etat", Decimal(96000), "2024"),
    ]


def _words(text: str, x: float, y: float, bold: bool = False) -> list[Word]:
    out, cx = [], x
    for token in text.split(" "):
        w = len(token) * 4.4
        out.append(Word(text=token, x0=cx, x1=cx + w, top=y, bottom=y + 8, bold=bold))
        cx += w + 2.2
    return out


@pytest.mark.parametrize(
    ("header", "multiplier"),
    [
        ("Coût total (k€)", 1000),
        ("Cofinancement (en milliers d'euros)", 1000),
        ("Budget (KEUR)", 1000),
        ("Montant (M€)", 1_000_000),
        ("Montant AMI (€)", 1),
        ("Financement AMI 2025", 1),
    ],
)
def test_unit_of_an_amount_column_from_its_header(header: str, multiplier: int) -> None:
    assert header_multiplier(header) == multiplier


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("EUR 12 500", Decimal(12500)),
        ("12 500.00 €", Decimal(12500)),
        ("€ 12 500", Decimal(12500)),
        ("-   €", None),
        ("- EUR", None),
    ],
)
def test_spreadsheet_amounts(raw: str, value: Decimal | None) -> None:
    a = parse_amount(raw)
    assert a.value == value and not a.unreadable


@pytest.mark.parametrize(
    "heading",
    ["ANNEXE FINANCIÈRE", "Annexe : Plan d'actions 2025", "ANNEXE", "Annexe II – Plan", "Annexe 1 bis - Plan"],
)
def test_annex_headings_end_the_articles(heading: str) -> None:
    text = (
        "ARTICLE 2\nAu titre de l'année 2025, l'État apporte une subvention de 96 000 €.\n"
        f"Fait à Brissac, le 2 juin 2025\n{heading}\nPilote Action Financement AMI\nDDETS Former 40 000 €\n"
    )
    assert [d.montant for d in articles_to_declared([text], "x.pdf", "0")] == [Decimal(96000)]


def test_a_sentence_naming_the_annexes_does_not_end_the_articles() -> None:
    text = "ARTICLE 8\nAnnexes : la convention en compte deux.\nLe soutien de l'État s'élève à 5 000 €.\n"
    assert [d.montant for d in articles_to_declared([text], "x.pdf", "0")] == [Decimal(5000)]


def test_amounts_alone_at_the_foot_are_a_total_row() -> None:
    words = _words("Annexe 1 – Actions", 40, 40, True)
    words += _words("Pilote", 40, 70, True) + _words("Action", 120, 70, True)
    words += _words("Financement AMI 2025", 300, 70, True) + _words("Cofinancement", 420, 70, True)
    for i, (pilot, action, ami, cof) in enumerate(
        [("DDETS", "Former", "10 000 €", "2 000 €"), ("SIAO", "Observer", "5 000 €", "1 000 €")]
    ):
        y = 95 + 22 * i
        words += _words(pilot, 40, y) + _words(action, 120, y) + _words(ami, 330, y) + _words(cof, 440, y)
    words += _words("15 000 €", 330, 140, True) + _words("3 000 €", 440, 140, True)
    annexes = tables_to_annexes(page_to_tables(Page(number=1, width=595, height=842, words=words)))
    lines = annexes[0].lines
    assert [ln.kind for ln in lines] == ["action", "action", "total"]
    assert lines[-1].label == UNLABELLED_TOTAL


def test_header_aligned_at_the_bottom_keeps_its_top_words() -> None:
    conv = convention_of(UNSEEN / "CPO_CoeurdeLisere_2024-2026.pdf")
    ami = conv.annexes[0].column("financement_ami")
    assert ami is not None and ami.header == "Financement Dihal sollicité 2024 (€)"
    assert conv.annexes[0].title == "Annexe 1 – Plan d'actions 2024"


def test_unseen_fixtures_are_quick() -> None:
    """Each fixture stays small: a few pages, a few kilobytes."""
    for pdf in PDFS:
        assert pdf.stat().st_size < 20_000, pdf.name
        assert len(convention_of(pdf).page_texts) <= 4, pdf.name
    assert all(re.fullmatch(r"[\w.-]+", p.name) for p in PDFS)
