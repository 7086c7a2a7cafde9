"""Column meaning, pilots, statuses, hyphen repair, parties."""

from __future__ import annotations

import pytest

from models import Parties
from normalize.columns import ami_nature, ami_period, map_columns
from normalize.parties import acronym_of, read_parties
from normalize.pilots import canonical_pilots
from normalize.statuses import evolution, statut
from normalize.text import join_lines, lexicon


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Financement AMI validé en 2023 pour 12 mois", "financement_ami"),
        ("Crédits Etat sollicités 2023- 2024", "financement_ami"),
        ("Participation État 2023", "financement_ami"),
        ("Financement demandé année 1", "financement_ami"),
        # wordings not in the corpus
        ("Contribution de l'État sollicitée", "financement_ami"),
        ("Aide de l'Etat accordée (en €)", "financement_ami"),
        ("Coût total prévisionnel", "cout_total"),
        ("Budget global de l'action", "cout_total"),
        ("Cofinancements locaux", "cofinancement"),
        ("Autres financements", "cofinancement"),
        ("Sources cofinancements 2023", "sources_cofinancement"),
        ("Financeurs", "sources_cofinancement"),
        ("Territoire", "pilote"),
        ("Porteur de projet", "pilote"),
        ("Intitulé de l'action", "action"),
        ("Objectifs poursuivis", "objectif"),
        ("Résultats attendus et indicateurs de suivi", "indicateurs"),
        ("Etat d'avancement", "statut"),
        ("Observations", "commentaire"),
        ("N°", "numero"),
        # an OCR slip
        ("Cofinancemcnts", "cofinancement"),
    ],
)
def test_header_wordings_map_to_fields(header: str, field: str) -> None:
    assert map_columns([header])[0].field == field


def test_each_field_goes_to_one_column() -> None:
    cols = map_columns(
        [
            "Pilote",
            "Action et objectif",
            "Description de l'action",
            "Cofinancements 2023",
            "Sources cofinancements 2023",
        ]
    )
    assert [c.field for c in cols] == ["pilote", "action", "description", "cofinancement", "sources_cofinancement"]


def test_unknown_header_maps_to_nothing() -> None:
    assert map_columns(["Lorem ipsum"])[0].field is None


@pytest.mark.parametrize(
    ("header", "nature", "period"),
    [
        ("Financement AMI validé en 2023 pour 12 mois", "accorde", "2023"),
        ("Financement AMI sollicité pour 2024- 2025", "demande", "2024-2025"),
        ("Financement AMI obtenu en 2021 ou 2022", "obtenu_precedemment", "2021 ou 2022"),
        ("Financement AMI obtenu précédemment", "obtenu_precedemment", ""),
        ("Financement demandé année 1", "demande", "année 1"),
        ("Montant AMI accordé pour 2023-2024", "accorde", "2023-2024"),
    ],
)
def test_ami_nature_and_period_from_header(header: str, nature: str, period: str) -> None:
    assert (ami_nature(header), ami_period(header)) == (nature, period)


AMP = Parties(
    territoire="Métropole Aix-Marseille-Provence",
    aliases=["Métropole Aix-Marseille-Provence"],
    cities=["Marseille", "Aix-en-Provence"],
    main_city="Marseille",
)


@pytest.mark.parametrize(
    ("raw", "codes"),
    [
        ("AMP", ["EPCI"]),
        ("Ville – Marseille", ["VILLE:Marseille"]),
        ("DDETS/AMP", ["DDETS", "EPCI"]),
        ("AMP-DDETS", ["EPCI", "DDETS"]),
        ("Marseille/aix", ["VILLE:Marseille", "VILLE:Aix-en-Provence"]),
        ("CD / DDETS", ["CD", "DDETS"]),
        ("Ville", ["VILLE:Marseille"]),
        ("Ville-Aix-en-Provence", ["VILLE:Aix-en-Provence"]),
        ("CCAS de Marseille", ["CCAS"]),
        ("SIAO", ["SIAO"]),
        ("Conseil départemental", ["CD"]),
        ("Métropole Aix-Marseille-Provence", ["EPCI"]),
        ("DDETS 13", ["DDETS"]),
        ("Etat (DDETS)", ["DDETS"]),
        ("ADIL 13", ["ADIL"]),
        ("SIAO + CCAS", ["SIAO", "CCAS"]),
        ("CD et DDETS", ["CD", "DDETS"]),
        ("la Métropole", ["EPCI"]),
        ("MARSEILLE", ["VILLE:Marseille"]),
    ],
)
def test_pilots_to_codes(raw: str, codes: list[str]) -> None:
    assert canonical_pilots(raw, AMP) == codes


@pytest.mark.parametrize(
    ("acronym", "name", "expected"),
    [
        ("CAAB", "Communauté d'agglomération d'Aubrelac", True),
        ("LRM", "Lorvenac Métropole", True),
        ("CCPGR", "Communauté de communes du Pays de Gravelune", True),
        ("SIAO", "Métropole de Sablonval", False),
        ("DDETS", "Métropole de Sablonval", False),
    ],
)
def test_acronym_of_the_territory(acronym: str, name: str, expected: bool) -> None:
    assert acronym_of(acronym, name) is expected


@pytest.mark.parametrize(
    ("raw", "code", "evo"),
    [
        ("2-Action en cours", "en_cours", ""),
        ("1-Action à lancer", "a_lancer", ""),
        ("3- action modifiée (nature, périmètre)", "modifiee", ""),
        ("A lancer - Nouveau financement", "a_lancer", "nouveau"),
        ("Renouvellement du financement AMI pour année 3", "en_cours", "renouvellement"),
        ("Augmentation du financement AMI pour 2024", "en_cours", "augmentation"),
        ("Action abandonnée ayant en 2021/2022 obtenu des crédits AMI", "abandonnee", ""),
        ("Action réalisée ayant en 2021 obtenu des crédits AMI LDA", "realisee", ""),
        ("", "", ""),
    ],
)
def test_statuses(raw: str, code: str, evo: str) -> None:
    assert (statut(raw), evolution(raw)) == (code, evo)


def test_line_break_hyphen_repaired_but_compounds_kept() -> None:
    words = lexicon(["La ville de Marseille et Aix-en-Provence", "le co-financement de l'action"])
    assert join_lines(["Ville – Mar-", "seille"], words) == "Ville – Marseille"
    assert join_lines(["Ville-Aix-en-", "Provence"], words) == "Ville-Aix-en-Provence"
    assert join_lines(["un co-", "financement"], words) == "un co-financement"
    assert (
        join_lines(["Animer la démarche", "- Poste coordinateur"], words) == "Animer la démarche - Poste coordinateur"
    )


def test_a_compound_cut_at_its_own_hyphen_keeps_it() -> None:
    # two words the document uses alone and never joined: the hyphen was the compound's
    words = lexicon(["les bailleurs et les locataires", "une équipe d'aller vers les ménages", "pour la suite"])
    assert join_lines(["médiation bailleurs-", "locataires"], words) == "médiation bailleurs-locataires"
    assert join_lines(["équipe mobile d'aller-", "vers"], words) == "équipe mobile d'aller-vers"
    # a syllable break stays one word, even where its halves are words (`pour` + `suite`)
    assert join_lines(["la pour-", "suite des actions"], words) == "la poursuite des actions"
    assert join_lines(["l'accompagne-", "ment social"], words | {"accompagne"}) == "l'accompagnement social"


def test_parties_read_from_the_parties_block() -> None:
    page = (
        "CONVENTION PLURIANNUELLE D'OBJECTIFS\nEntre\nL'État, représenté par le Préfet, d'une part,\nEt\n"
        "La Métropole de Dijon, représentée par M. X, et désigné ci-après par les termes « Dijon Métropole », "
        "d'autre part,\nIl est convenu ce qui suit :\nla Ville de Dijon"
    )
    p = read_parties([page])
    assert p.territoire == "Dijon Métropole"
    assert "Métropole de Dijon" in p.aliases
    assert "Dijon" in p.cities


def test_an_acronym_the_ocr_misread_is_still_the_territory() -> None:
    # the scanned Joncelune avenant reads `CAPIN` for `CAPJN` (J and I look alike)
    joncelune = Parties(
        territoire="Communauté d'agglomération du Pays de Joncelune",
        aliases=["Communauté d'agglomération du Pays de Joncelune"],
    )
    assert canonical_pilots("CAPIN", joncelune) == ["EPCI"]
    assert canonical_pilots("CAPJN / ADIL", joncelune) == ["EPCI", "ADIL"]
    assert canonical_pilots("SIAO", joncelune) == ["SIAO"]  # a body's own acronym is never swapped


def test_a_body_acronym_is_never_the_territory() -> None:
    # `CAF` spells the first letters of `Communauté d'agglomération de Fengreorac`, but names the family fund
    fengreorac = Parties(
        territoire="Communauté d'agglomération de Fengreorac", aliases=["Communauté d'agglomération de Fengreorac"]
    )
    assert canonical_pilots("CAF", fengreorac) == ["CAF"]
    assert canonical_pilots("CAFG", fengreorac) == ["EPCI"]
