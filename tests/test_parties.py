"""Territory names as analysts know them, from the parties' block of real territories' conventions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from export.contract import territory_slug
from export.paths import slugify
from models import Convention, DocumentFields, Flag, Parties, RunEntry
from normalize.parties import group_territories, read_parties, recase, strip_article
from normalize.text import fold, strip_accents
from pipeline.batch import BatchOutcome, DocumentResult, unify_territories
from pipeline.cli import _summary

LIST = Path(__file__).parent / "fixtures" / "territoires.txt"
TERRITORIES = [ln.strip() for ln in LIST.read_text(encoding="utf-8").splitlines() if ln.strip() and ln[0] != "#"]
SINGLE = [t for t in TERRITORIES if " + " not in t]
JOINT = [t for t in TERRITORIES if " + " in t]

_FEMININE = {"metropole", "communaute", "ville", "commune", "collectivite"}
_MASCULINE = {"departement", "conseil"}
_ELIDED = {"eurometropole", "etablissement", "agglomeration"}

STATE = "L'État, représenté par Monsieur le Préfet de la région Auvergne-Rhône-Alpes, préfet du Rhône, d'une part,"
PREAMBLE = "PRÉAMBULE\n{the} est devenue en 2021 un des 46 territoires nationaux de mise en œuvre accélérée du plan."


def preamble(names: list[str]) -> str:
    return PREAMBLE.format(the=" et ".join(the(n) for n in names))


def the(name: str, capital: bool = True) -> str:
    """The name as a sentence writes it: `La Métropole de Lyon`, `L'Eurométropole…`, `Bordeaux Métropole`."""
    first = fold(name.split()[0])
    if first in _ELIDED:
        art = "L'"
    elif first in _FEMININE:
        art = "La "
    elif first in _MASCULINE:
        art = "Le "
    else:
        return name
    return (art if capital else art.lower()) + name


def kind(name: str) -> str:
    """The kind noun a convention uses to call the body in short (`« la Métropole »`)."""
    for w in name.split():
        if fold(w) in _FEMININE | _MASCULINE | _ELIDED:
            return the(w.capitalize(), capital=False)
    return "la Collectivité"


def capitals(text: str) -> str:
    """A title line: capitals, accents dropped as the corpus titles print them."""
    return strip_accents(text).upper()


def title(names: list[str]) -> str:
    return "CONVENTION PLURIANNUELLE D'OBJECTIFS\n2023 – 2025\nCONCLUE AVEC " + " ET ".join(
        capitals(the(n)) for n in names
    )


def party(name: str, alias: str | None = None) -> str:
    said = alias if alias is not None else the(name)
    return (
        f"{the(name)}, représentée par Madame Claire MARTIN, Présidente de {the(name, capital=False)}, "
        f"et désignée ci-après par les termes « {said} »,"
    )


def cpo(names: list[str], body: Callable[[str], str] = party) -> list[str]:
    """A convention: title in capitals, the State, then each body, `d'autre part`."""
    parties = "\nEt\n".join(body(n) for n in names)
    text = f"{title(names)}\nretenue dans le cadre de l'AMI 2\nEntre\n{STATE}\nEt\n{parties} d'autre part,\n"
    return [text + "N° SIRET : 29456961100014\nIl est convenu ce qui suit :\n" + preamble(names)]


def cpo_generic_alias(names: list[str]) -> list[str]:
    """The body called by its kind only (`ci-après « la Métropole »`): the name stays the party's."""
    return cpo(names, lambda n: party(n, alias=kind(n)))


def cpo_capitals(names: list[str]) -> list[str]:
    """The parties written in capitals (accents kept), the preamble in lower case."""
    return cpo(names, lambda n: f"{the(n).upper()}, REPRÉSENTÉE PAR MADAME CLAIRE MARTIN,")


def cpo_two_lines(names: list[str]) -> list[str]:
    """Each name cut over two lines: at its middle space, or after a dash of the name."""

    def split(n: str) -> str:
        text = the(n)
        if "-" in text:
            return text.replace("-", "-\n", 1) + ", représentée par Madame Claire MARTIN,"
        words = text.split(" ")
        half = len(words) // 2
        return " ".join(words[:half]) + "\n" + " ".join(words[half:]) + ", représentée par Madame Claire MARTIN,"

    return cpo(names, split)


def title_only(names: list[str]) -> list[str]:
    """No parties' block: the title in capitals over two lines, the name written in the preamble."""
    head = title(names)
    cut = head.rfind(" ", 0, len(head) - 4)
    return [head[:cut] + "\n" + head[cut + 1 :] + "\nretenue dans le cadre de l'AMI 1\n" + preamble(names)]


def partnership(names: list[str]) -> list[str]:
    """A partnership convention: the body first, an association second, no State."""
    (name,) = names
    return [
        "CONVENTION DE PARTENARIAT\n2024 - 2026\nEntre :\n"
        f"{the(name)}, Etablissement Public de Coopération Intercommunale sise 13 place de l'Hôtel de Ville "
        "représentée par sa Présidente, dûment habilitée par délibération n° du Conseil du ....\nd'une part,\n"
        "et l'Association régionale des organismes Hlm de la région Occitanie, sise 49 quai des Carmes, "
        "représentée par son Président Monsieur Pascal SORNIAC habilité\nd'autre part,\n"
        "Il a été convenu ce qui suit :\nPREAMBULE"
    ]


def partnership_second(names: list[str]) -> list[str]:
    """The association first, the body second (`Entre : L'Agence départementale …, et la Métropole …`)."""
    (name,) = names
    return [
        "CONVENTION DE PARTENARIAT\nEntre :\nL'Agence départementale d'information sur le logement de la Haute-Loire, "
        "sise 8 rue des Tanneurs, représentée par son Président\nd'une part,\n"
        f"et {the(name, capital=False)}, représentée par sa Présidente\nd'autre part,\n"
        "Il a été convenu ce qui suit :"
    ]


def one_line(names: list[str]) -> list[str]:
    """The parties in one sentence: `Entre l'État, …, et la Métropole …, il est convenu`."""
    (name,) = names
    return [
        "CONVENTION PLURIANNUELLE D'OBJECTIFS\nEntre l'État, représenté par le préfet de la région, "
        f"et {the(name, capital=False)}, représentée par sa présidente, il est convenu ce qui suit :"
    ]


def cpo_ocr_formula(names: list[str]) -> list[str]:
    """A scan's OCR glues or marks the closing formula (`Ilest convenu`, `Il'est convenu`); the article
    after it names the bodies in a sentence that must not join the parties."""
    glued = [t.replace("Il est convenu", "Il'est convenu") for t in cpo(names)]
    said = " et ".join(the(n, capital=False) for n in names)
    return [glued[0] + f"\nARTICLE 1\nPar la présente convention, l'État et {said} se fixent des objectifs partagés."]


def cpo_ocr_glued(names: list[str]) -> list[str]:
    return [t.replace("Il'est convenu", "Ilest convenu") for t in cpo_ocr_formula(names)]


SINGLE_FORMS = [
    cpo,
    cpo_ocr_formula,
    cpo_ocr_glued,
    cpo_generic_alias,
    cpo_capitals,
    cpo_two_lines,
    title_only,
    partnership,
    partnership_second,
    one_line,
]
JOINT_FORMS = [cpo, cpo_ocr_formula, cpo_ocr_glued, cpo_generic_alias, cpo_capitals, cpo_two_lines, title_only]


@pytest.mark.parametrize("form", SINGLE_FORMS, ids=lambda f: f.__name__)
def test_every_territory_one_name_and_one_slug_whatever_the_wording(form: Callable[[list[str]], list[str]]) -> None:
    wrong = []
    for name in SINGLE:
        got = read_parties(form([name])).territoire
        if got != name or slugify(got) != slugify(name):
            wrong.append(f"{name!r} -> {got!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("form", JOINT_FORMS, ids=lambda f: f.__name__)
def test_joint_candidacies_are_one_territory_of_both_bodies(form: Callable[[list[str]], list[str]]) -> None:
    for line in JOINT:
        names = line.split(" + ")
        assert read_parties(form(names)).territoire == " et ".join(names)


def test_the_list_holds_the_plan_s_territories() -> None:
    # the first wave alone was 24 territories; the later ones bring it to 46 and more
    assert len(TERRITORIES) >= 46
    assert len(set(map(slugify, TERRITORIES))) == len(TERRITORIES)


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("la Métropole de Lyon", "Métropole de Lyon"),
        ("LA METROPOLE DE LYON", "METROPOLE DE LYON"),
        ("L'Eurométropole de Strasbourg", "Eurométropole de Strasbourg"),
        ("l’Établissement public territorial Plaine Commune", "Établissement public territorial Plaine Commune"),
        ("le département du Val-d'Oise", "Département du Val-d'Oise"),
        ("la collectivité", "Collectivité"),
        ("Le Mans Métropole", "Le Mans Métropole"),
        ("LE HAVRE SEINE METROPOLE", "LE HAVRE SEINE METROPOLE"),
        ("Les Sables-d'Olonne Agglomération", "Les Sables-d'Olonne Agglomération"),
        ("La Rochelle", "La Rochelle"),
        ("Laval Agglomération", "Laval Agglomération"),
        ("Lens-Liévin", "Lens-Liévin"),
        ("Lesneven", "Lesneven"),
        ("Lannion-Trégor Communauté", "Lannion-Trégor Communauté"),
        ("Lantiveron Métropole", "Lantiveron Métropole"),
    ],
)
def test_an_article_goes_only_when_it_is_not_the_name_s(written: str, name: str) -> None:
    assert strip_article(written) == name


def test_a_name_in_capitals_is_written_as_the_document_writes_it_else_in_name_case() -> None:
    text = "La Communauté d'agglomération de Dembéni-Mamoudzou est devenue…"
    assert recase("COMMUNAUTE D'AGGLOMERATION DE DEMBENI-MAMOUDZOU", text) == (
        "Communauté d'agglomération de Dembéni-Mamoudzou"
    )
    assert recase("COMMUNAUTE URBAINE D'ARRAS", "") == "Communauté urbaine d'Arras"
    assert recase("METROPOLE EUROPEENNE DE LILLE", "") == "Métropole européenne de Lille"
    assert recase("MEL", "") == "MEL"
    assert recase("MÉTROPOLE de DIJON", "la Métropole de Dijon, représentée…") == "Métropole de Dijon"
    assert recase("Le Mans Métropole", "LE MANS MÉTROPOLE") == "Le Mans Métropole"


def test_a_laval_territory_keeps_its_letters_through_the_parties_block() -> None:
    page = (
        "Entre\nL'État, représenté par le préfet de la Mayenne, d'une part,\nEt\nLaval Agglomération, représentée "
        "par son président, et désignée ci-après « l'Agglomération », d'autre part,\nIl est convenu ce qui suit :"
    )
    p = read_parties([page])
    assert p.territoire == "Laval Agglomération"
    assert slugify(p.territoire) == "laval-agglomeration"
    assert "Laval" in p.cities


def test_one_folder_for_the_spellings_of_one_territory() -> None:
    names = [
        "Métropole Aix-Marseille-Provence",
        "Métropole Aix-Marseille-Provence",
        "Métropole d'Aix-Marseille-Provence",
        "AMP",
        "Dijon Métropole",
        "Métropole de Dijon",
        "Dijon Métropole",
        "Département de la Gironde",
        "Conseil départemental de la Gironde",
        "METROPOLE DE LYON",
        "Métropole de Lyon",
    ]
    g = group_territories(names)
    assert {g.canonical[n] for n in names[:4]} == {"Métropole Aix-Marseille-Provence"}
    assert {g.canonical[n] for n in names[4:7]} == {"Dijon Métropole"}
    assert g.canonical["Conseil départemental de la Gironde"] == g.canonical["Département de la Gironde"]
    assert g.canonical["METROPOLE DE LYON"] == "Métropole de Lyon"
    assert g.unsure == []


def test_names_that_may_be_one_territory_stay_apart_and_are_reported() -> None:
    names = [
        "Métropole de Grisemont",
        "Métropole de Grisemond",
        "Bordeaux Métropole",
        "Bordeaux Métropole et Département de la Gironde",
        "Communauté de communes du Pays de Gravelune",
        "Communauté d'agglomération du Pays de Gravelune",
        "Métropole de Lyon",
        "Métropole de Lens",
    ]
    g = group_territories(names)
    assert all(g.canonical[n] == n for n in names)
    unsure = {frozenset(p) for p in g.unsure}
    assert frozenset({"Métropole de Grisemont", "Métropole de Grisemond"}) in unsure
    assert frozenset({"Bordeaux Métropole", "Bordeaux Métropole et Département de la Gironde"}) in unsure
    assert (
        frozenset({"Communauté de communes du Pays de Gravelune", "Communauté d'agglomération du Pays de Gravelune"})
        in unsure
    )
    assert frozenset({"Métropole de Lyon", "Métropole de Lens"}) not in unsure


def _result(fichier: str, territoire: str) -> DocumentResult:
    convention = Convention(
        fichier=fichier,
        sha256="0" * 64,
        pages=1,
        fields=DocumentFields(territoire=territoire),
        parties=Parties(territoire=territoire, aliases=[territoire]),
    )
    flag = Flag(territoire=territoire, fichier=fichier, code="NO_TOTAL_ROW", gravite="info", message="…")
    entry = RunEntry(fichier=fichier, statut="ok", territoire=territoire)
    return DocumentResult(entry=entry, convention=convention, flags=[flag])


def test_a_batch_files_one_territory_s_documents_under_one_name_and_reports_the_doubtful(tmp_path: Path) -> None:
    results = [
        _result("CPO_AMP.pdf", "Métropole Aix-Marseille-Provence"),
        _result("Avenant_AMP.pdf", "Métropole d'Aix-Marseille-Provence"),
        _result("Partenariat_AMP.pdf", "Métropole Aix-Marseille-Provence"),
        _result("CPO_Gravelune.pdf", "Communauté de communes du Pays de Gravelune"),
        _result("Avenant_Gravelune.pdf", "Communauté d'agglomération du Pays de Gravelune"),
    ]
    unsure = unify_territories(results)
    amp = results[1]
    assert amp.entry.territoire == amp.convention.parties.territoire == "Métropole Aix-Marseille-Provence"  # type: ignore[union-attr]
    assert amp.flags[0].territoire == "Métropole Aix-Marseille-Provence"
    assert "Métropole d'Aix-Marseille-Provence" in amp.convention.parties.aliases  # type: ignore[union-attr]
    assert {territory_slug(r.convention) for r in results[:3]} == {"metropole-aix-marseille-provence"}  # type: ignore[arg-type]
    assert results[4].entry.territoire == "Communauté d'agglomération du Pays de Gravelune"
    assert [set(p) for p in unsure] == [
        {"Communauté de communes du Pays de Gravelune", "Communauté d'agglomération du Pays de Gravelune"}
    ]
    console = Console(record=True, width=200)
    _summary(console, BatchOutcome(results=results), Counter(), [], tmp_path, unsure)
    shown = console.export_text()
    assert "Territoires peut-être identiques" in shown
    assert "Communauté d'agglomération du Pays de Gravelune" in shown


def test_a_party_called_by_its_kind_alone_leaves_the_name_to_its_alias_or_the_title() -> None:
    block = "Entre\nL'État, représenté par le préfet, d'une part,\nEt\nla Métropole, représentée par son président{}, "
    end = "d'autre part,\nIl est convenu ce qui suit :"
    by_alias = block.format(", ci-après dénommée « Lantiveron Métropole »") + end
    assert read_parties([by_alias]).territoire == "Lantiveron Métropole"
    by_title = "CONVENTION\nENTRE L'ÉTAT ET LANTIVERON MÉTROPOLE\n" + block.format("") + end
    assert read_parties([by_title]).territoire == "Lantiveron Métropole"
