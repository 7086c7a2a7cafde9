"""Column meaning and statuses from evidence, proved on what they were not told: every corpus wording
left out of the lexicon in turn, shuffled, missing and extra columns, and the flags that keep an
unsure table from being silent."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest

from extract.annexes import tables_to_annexes
from models import Convention, DocumentFields, Parties
from models.provenance import BBox
from models.table import Cell, PageTable, ParsingReport, RawRow
from normalize.actions import raw_to_annex
from normalize.columns import _same, _words, ami_nature, header_hits, map_columns
from normalize.lexique import Lexique, LexiqueError, builtin_lexique, load_lexique, parse_lexique
from normalize.statuses import _hits, _split, evolution, statut
from normalize.text import fold
from reconcile import convention_to_flags

DATA = Path(__file__).parent / "data"
TABLES: list[dict[str, Any]] = json.loads((DATA / "corpus_tables.json").read_text(encoding="utf-8"))["tables"]
STATUSES: list[dict[str, str]] = json.loads((DATA / "corpus_statuses.json").read_text(encoding="utf-8"))["statuses"]


# --- leave one wording out: columns ----------------------------------------------------------


def _wording_cases() -> list[tuple[str, str, dict[str, Any], int]]:
    """Every distinct (header wording, field) of the corpus tables, with one table that holds it."""
    cases: dict[tuple[str, str], tuple[dict[str, Any], int]] = {}
    for t in TABLES:
        for i, (h, f) in enumerate(zip(t["headers"], t["fields"], strict=True)):
            if f:
                cases.setdefault((" ".join(h.split()), f), (t, i))
    return [(h, f, t, i) for (h, f), (t, i) in sorted(cases.items())]


CASES = _wording_cases()


def close_entries(wording: str, lex: Lexique) -> set[str]:
    """Every lexicon entry sharing a word (stem, OCR slip, abbreviation) with the wording."""
    words = _words(wording)
    out = set()
    for table in (lex.concepts, lex.libelles, lex.contenus):
        for entries in table.values():
            for e in entries:
                if any(_same(a, b) or _same(b, a) for a in _words(e) for b in words):
                    out.add(e)
    return out


# Wordings whose column, once every word of its header is unknown, has nothing left that tells it
# from a neighbour (two columns of short titles; a sparse comment beside the sources). Strict xfail:
# the day evidence reaches them, the test says so.
HARD = {
    ("Descriptif", "description"),
    ("Description de l'action", "description"),
    ("Modalités de mise en œuvre", "description"),
    ("Observations", "commentaire"),
    ("Sources cofinancements 2025", "sources_cofinancement"),
}


def test_corpus_wordings_are_many() -> None:
    assert len(CASES) >= 100
    assert {f for _, f, _, _ in CASES} >= {"pilote", "action", "cout_total", "financement_ami", "cofinancement"}


@pytest.mark.parametrize(
    ("wording", "field", "table", "index"),
    [
        pytest.param(*c, marks=pytest.mark.xfail(strict=True, reason="no evidence left")) if c[:2] in HARD else c
        for c in CASES
    ],
    ids=[f"{f}:{h}" for h, f, _, _ in CASES],
)
def test_leave_one_wording_out(wording: str, field: str, table: dict[str, Any], index: int) -> None:
    """With every lexicon entry close to the header removed, its column is typed right from what is left:
    the other headers, the column's content, the arithmetic between amount columns, the assignment."""
    lex = builtin_lexique()
    dropped = close_entries(wording, lex)
    reduced = lex.without(dropped)
    assert not close_entries(wording, reduced)
    got = map_columns(table["headers"], table["rows"], reduced)[index]
    assert got.field == field, (got.role, got.reasons)


def test_whole_lexicon_types_every_corpus_column() -> None:
    for t in TABLES:
        assert [m.field for m in map_columns(t["headers"], t["rows"])] == t["fields"], t["headers"]


# --- leave one wording out: statuses ---------------------------------------------------------


def _decisive(raw: str, lex: Lexique) -> set[str]:
    """The status entries found in a wording, and every entry sharing a word stem with them."""
    words = _split(raw)
    found: set[str] = set()
    entries = [
        (code, e) for d in (lex.statuts, lex.statuts_faibles, lex.evolutions) for code, es in d.items() for e in es
    ]
    for _, e in entries:
        if _hits(words, [("x", _split(e))]):
            found.add(e)
    stems = {w[:5] for e in found for w in _split(e) if len(w) > 2}
    return found | {e for _, e in entries if any(w[:5] in stems for w in _split(e) if len(w) > 2)}


@pytest.mark.parametrize("row", STATUSES, ids=[s["statut_brut"][:40] for s in STATUSES])
def test_status_leave_one_out(row: dict[str, str]) -> None:
    """With the entries that read a status removed, what is left (a second word, the leading code)
    still reads it right, or leaves it empty: a status is never read wrong for want of a word."""
    lex = builtin_lexique()
    raw = row["statut_brut"]
    assert (statut(raw), evolution(raw)) == (row["statut"], row["evolution_financement"])
    reduced = lex.without(_decisive(raw, lex))
    got = statut(raw, reduced)
    assert got in (row["statut"], "")
    has_code = bool(_split(raw)) and _split(raw)[0] in lex.statuts_codes
    if has_code:
        assert got == row["statut"]


def test_status_leave_one_out_count() -> None:
    """Statuses with a second cue (a leading code, a second word) keep it once their first is removed
    (10 of the 37 corpus wordings today: the floor)."""
    lex = builtin_lexique()
    kept = sum(statut(s["statut_brut"], lex.without(_decisive(s["statut_brut"], lex))) == s["statut"] for s in STATUSES)
    assert kept >= 10


@pytest.mark.parametrize(
    ("raw", "code", "evo"),
    [
        ("Action arrêtée en 2024", "abandonnee", ""),
        ("Stoppée faute de porteur", "abandonnee", ""),
        ("Nouvelle action", "a_lancer", "nouveau"),
        ("Action poursuivie", "en_cours", ""),  # the action goes on; its funding may not
        ("Action poursuivie, financement reconduit", "en_cours", "renouvellement"),
        ("Reconduite", "en_cours", "renouvellement"),
        ("Terminée", "realisee", ""),
        ("Achevée en 2023", "realisee", ""),
        ("Abandonnéc", "abandonnee", ""),  # an OCR slip
        ("Non démarrée", "a_lancer", ""),
        ("Blablabla", "", ""),
    ],
)
def test_status_words_from_meaning(raw: str, code: str, evo: str) -> None:
    assert (statut(raw), evolution(raw)) == (code, evo)


# --- synthetic tables ------------------------------------------------------------------------

HEAD = {
    "n": "N°",
    "pilote": "Pilote",
    "action": "Intitulé de l'action",
    "cout": "Coût total",
    "ami": "Aide de l'État notifiée 2024",
    "cof": "Participations locales",
    "src": "Financeurs",
    "geo": "Secteur",
    "com": "Commentaires",
    "statut": "Avancement",
}
FIELD = {
    "n": "numero",
    "pilote": "pilote",
    "action": "action",
    "cout": "cout_total",
    "ami": "financement_ami",
    "cof": "cofinancement",
    "src": "sources_cofinancement",
    "geo": None,
    "com": "commentaire",
    "statut": "statut",
}
ROWS = [
    {
        "n": "1",
        "pilote": "DDETS",
        "action": "Plateforme d'accompagnement vers le logement",
        "cout": "50 000 €",
        "ami": "30 000 €",
        "cof": "20 000 €",
        "src": "CAF, Département",
        "geo": "Quartier Nord",
        "com": "",
        "statut": "En cours",
    },
    {
        "n": "2",
        "pilote": "Ville de Lormessac",
        "action": "Équipe mobile d'aller-vers",
        "cout": "80 000 €",
        "ami": "45 000 €",
        "cof": "35 000 €",
        "src": "Métropole",
        "geo": "Centre",
        "com": "Recrutement prévu au printemps",
        "statut": "Nouvelle action",
    },
    {
        "n": "3",
        "pilote": "CCAS",
        "action": "Observatoire partagé du sans-abrisme",
        "cout": "12 000 €",
        "ami": "12 000 €",
        "cof": "",
        "src": "",
        "geo": "Rive Gauche",
        "com": "",
        "statut": "Arrêtée",
    },
]


def page_table(headers: list[str], rows: list[list[str]], title: str = "Annexe 2 : tableau des actions") -> PageTable:
    box = BBox(x0=0, top=0, x1=10, bottom=10)
    return PageTable(
        page=7,
        bbox=box,
        title=title,
        header=[Cell(text=h, lines=[h]) for h in headers],
        rows=[RawRow(page=7, kind="body", cells=[Cell(text=c, lines=[c] if c else []) for c in r]) for r in rows],
        report=ParsingReport(method="ruled", evidence="test", confidence=1.0, rows=len(rows)),
    )


def _table(keys: list[str], rows: list[dict[str, str]] = ROWS, heads: dict[str, str] = HEAD) -> PageTable:
    return page_table([heads[k] for k in keys], [[r[k] for k in keys] for r in rows])


def _convention(tables: list[PageTable], texts: list[str] | None = None) -> Convention:
    parties = Parties(territoire="Ville de Lormessac", aliases=["Ville de Lormessac"], cities=["Lormessac"])
    annexes = [
        raw_to_annex(ra, parties, "x.pdf", "0" * 64, set()) for ra in tables_to_annexes(tables) if ra.lists_actions
    ]
    return Convention(
        fichier="x.pdf",
        sha256="0" * 64,
        pages=8,
        fields=DocumentFields(),
        parties=parties,
        annexes=annexes,
        page_texts=texts or [""] * 8,
    )


ALL = ["n", "pilote", "action", "cout", "ami", "cof", "src", "com", "statut"]


@pytest.mark.parametrize("seed", range(6))
def test_shuffled_columns_keep_their_meaning(seed: int) -> None:
    keys = list(ALL)
    random.Random(seed).shuffle(keys)
    cols = map_columns([HEAD[k] for k in keys], [[r[k] for k in keys] for r in ROWS])
    assert [c.field for c in cols] == [FIELD[k] for k in keys]


def test_missing_cofinancing_and_extra_geography() -> None:
    keys = ["geo", "pilote", "action", "cout", "ami", "com"]
    cols = map_columns([HEAD[k] for k in keys], [[r[k] for k in keys] for r in ROWS])
    assert [c.field for c in cols] == [FIELD[k] for k in keys]
    assert cols[0].role == "geographie"


@pytest.mark.parametrize("header", ["Secteur", "Commune", "Territoire", "Quartier"])
def test_a_geography_column_is_not_the_pilot(header: str) -> None:
    keys = ["geo", "pilote", "action", "ami"]
    heads = {**HEAD, "geo": header}
    cols = map_columns([heads[k] for k in keys], [[r[k] for k in keys] for r in ROWS])
    assert [c.field for c in cols] == [None, "pilote", "action", "financement_ami"]


@pytest.mark.parametrize("header", ["Territoire", "Périmètre", "Secteur"])
def test_places_named_by_words_of_bodies_are_a_geography(header: str) -> None:
    # `Toutes communes`, `Centre`: words of bodies too, so the header and the other cells decide
    keys = ["pilote", "geo", "action", "ami"]
    places = ["Toutes communes", "Quartiers prioritaires", "Centre", "Zone rurale", "Toutes communes"]
    rows = [{**r, "geo": place} for r, place in zip(ROWS, itertools.cycle(places), strict=False)]
    cols = map_columns([{**HEAD, "geo": header}[k] for k in keys], [[r[k] for k in keys] for r in rows])
    assert [c.field for c in cols] == ["pilote", None, "action", "financement_ami"]
    assert cols[1].role == "geographie"


def test_pilot_found_from_its_bodies_when_its_header_says_nothing() -> None:
    keys = ["geo", "pilote", "action", "ami"]
    heads = {**HEAD, "pilote": "Entité"}
    cols = map_columns([heads[k] for k in keys], [[r[k] for k in keys] for r in ROWS])
    assert cols[1].field == "pilote" and cols[0].field is None


def test_amount_columns_typed_by_their_arithmetic() -> None:
    """Headers that say nothing: the column that is the sum of the two others is the total cost."""
    heads = {**HEAD, "cout": "Colonne A", "ami": "Colonne B", "cof": "Colonne C"}
    keys = ["action", "cof", "cout", "ami"]
    cols = map_columns([heads[k] for k in keys], [[r[k] for k in keys] for r in ROWS])
    assert cols[2].field == "cout_total"
    assert any("somme des deux autres" in r for r in cols[2].reasons)


@pytest.mark.parametrize(
    ("header", "nature", "periode", "multiplier"),
    [
        ("Aide de l'État notifiée 2024 (k€)", "accorde", "2024", 1000),
        ("Crédits programme 177 alloués 2025", "accorde", "2025", 1),
        ("Participation Dihal sollicitée 2024-2025", "demande", "2024-2025", 1),
        ("Subvention AMI obtenue en 2023", "obtenu_precedemment", "2023", 1),
        ("Soutien du BOP 177 demandé (en milliers d'euros)", "demande", "", 1000),
        ("Dotation État accordée", "accorde", "", 1),
    ],
)
def test_state_funding_in_other_words(header: str, nature: str, periode: str, multiplier: int) -> None:
    cols = map_columns(
        ["Pilote", "Action", header, "Cofinancement"], [[r["pilote"], r["action"], "30", "20"] for r in ROWS]
    )
    ami = cols[2]
    assert (ami.field, ami.nature, ami.periode, ami.multiplier) == ("financement_ami", nature, periode, multiplier)


def test_one_amount_column_per_year_is_a_breakdown() -> None:
    rows = [
        [r["action"], r["cout"], r["ami"], y1, y2]
        for r, (y1, y2) in zip(ROWS, [("10 000", "20 000"), ("20 000", "25 000"), ("6 000", "6 000")], strict=True)
    ]
    cols = map_columns(["Action", "Coût total", "Financement AMI", "dont 2024", "dont 2025"], rows)
    assert [c.field for c in cols] == ["action", "cout_total", "financement_ami", None, None]
    assert [c.role for c in cols[3:]] == ["ventilation", "ventilation"]
    conv = _convention([page_table(["Action", "Coût total", "Financement AMI", "dont 2024", "dont 2025"], rows)])
    assert not [f for f in convention_to_flags(conv) if f.code == "COLUMN_UNRECOGNISED"]


def test_mapping_reasons_reach_the_parsing_report() -> None:
    t = _table(ALL)
    tables_to_annexes([t])
    assert any("financement_ami" in n and "confiance" in n for n in t.report.notes)


# --- never silent ----------------------------------------------------------------------------


def _codes(conv: Convention) -> list[tuple[str, str, str]]:
    return [
        (f.code, f.gravite, f.annexe)
        for f in convention_to_flags(conv)
        if f.code in ("COLUMN_UNRECOGNISED", "TABLE_NOT_FOUND")
    ]


def test_a_clean_table_raises_no_new_flag() -> None:
    assert _codes(_convention([_table(ALL)])) == []


def test_amount_column_without_meaning_is_flagged_with_its_header() -> None:
    heads = {**HEAD, "cof": "Zorglub"}
    conv = _convention([_table(["pilote", "action", "cout", "ami", "cof"], heads=heads)])
    flags = [f for f in convention_to_flags(conv) if f.code == "COLUMN_UNRECOGNISED"]
    assert flags and flags[0].gravite == "alerte" and flags[0].annexe == "2" and "« Zorglub »" in flags[0].message


def test_annex_without_state_funding_column_is_flagged() -> None:
    conv = _convention([_table(["pilote", "action", "cout", "cof"])])
    assert ("COLUMN_UNRECOGNISED", "alerte", "2") in _codes(conv)
    msg = next(f.message for f in convention_to_flags(conv) if f.code == "COLUMN_UNRECOGNISED")
    assert "Coût total" in msg


def test_unit_lost_by_ocr_is_doubtful() -> None:
    """`(kE)` read for `(k€)`: the AMI amounts stay 1 000 times below the costs beside them."""
    rows = [[r["action"], r["cout"], v] for r, v in zip(ROWS, ["30", "45", "12"], strict=True)]
    conv = _convention([page_table(["Action", "Coût total", "AMI 2024 (kE)"], rows)])
    flags = [f for f in convention_to_flags(conv) if f.code == "COLUMN_UNRECOGNISED"]
    assert flags and "unité douteuse" in flags[0].message and flags[0].annexe == "2"


def test_announced_annex_with_no_table() -> None:
    texts = ["Article 1", "Annexe 1 : liste des axes", "Annexe 2 : tableau des actions et de leur financement", ""]
    conv = _convention([], texts)
    assert _codes(conv) == [("TABLE_NOT_FOUND", "alerte", "2")]
    assert next(f.page for f in convention_to_flags(conv) if f.code == "TABLE_NOT_FOUND") == 3


def test_page_dense_with_amounts_and_no_table() -> None:
    dense = "Annexe 3\n" + "\n".join(f"Ligne {i} pour l'action {i} 12 500 €" for i in range(10))
    conv = _convention([_table(ALL)], ["", dense, ""])
    assert ("TABLE_NOT_FOUND", "alerte", "3") in _codes(conv)


def test_read_annex_is_not_announced_missing() -> None:
    texts = ["", "Annexe 2 : tableau des actions", ""]
    assert _codes(_convention([_table(ALL)], texts)) == []


# --- the lexicon is data ---------------------------------------------------------------------


def test_an_analyst_lexicon_teaches_a_new_word(tmp_path: Path) -> None:
    headers = ["Pilote", "Action", "Enveloppe Zorglub", "Cofinancement"]
    rows = [[r["pilote"], r["action"], r["ami"], r["cof"]] for r in ROWS]
    before = map_columns(headers, rows)[2]
    assert "etat +0.50" not in before.reasons
    assert statut("En sommeil") == ""
    extra = tmp_path / "mon_lexique.toml"
    extra.write_text('[concepts]\netat = ["Zorglub"]\n[statuts]\nabandonnee = ["sommeil"]\n', encoding="utf-8")
    lex = load_lexique(extra)
    assert "zorglub" in lex.concepts["etat"] and "dihal" in lex.concepts["etat"]
    after = map_columns(headers, rows, lex)[2]
    assert after.field == "financement_ami" and "etat +0.50" in after.reasons
    assert after.confidence >= before.confidence
    assert statut("En sommeil", lex) == "abandonnee"


def test_a_broken_lexicon_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[concepts\n", encoding="utf-8")
    with pytest.raises(LexiqueError, match="illisible"):
        load_lexique(bad)
    with pytest.raises(LexiqueError, match="mal formé"):
        parse_lexique('[inconnu]\nx = ["y"]\n', "test")


def test_lexicon_fingerprint_follows_the_file_content(tmp_path: Path) -> None:
    from pipeline.document import Options

    f = tmp_path / "l.toml"
    f.write_text('[concepts]\netat = ["zorglub"]\n', encoding="utf-8")
    first = Options(lexique=f).result_fingerprint()
    f.write_text('[concepts]\netat = ["zorglob"]\n', encoding="utf-8")
    assert Options(lexique=f).result_fingerprint() != first != Options().result_fingerprint()


def test_header_hits_still_find_header_labels() -> None:
    assert header_hits("Coût total") == {"cout_total"}
    assert "financement_ami" in header_hits("Financement AMI 2024")
    assert not header_hits("chef de projet de la démarche Logement d'abord")


def test_lexicon_words_are_folded() -> None:
    lex = builtin_lexique()
    for table in (lex.concepts, lex.statuts, lex.evolutions, lex.libelles):
        for entries in table.values():
            assert all(e == fold(e) for e in entries)


def test_header_read_but_rows_lost() -> None:
    """A table whose header is read and whose rows are not: the amount lines its page prints are lost."""
    page = "\n".join(f"Action {i}   50 000 €   30 000 €   20 000 €" for i in range(6))
    texts = [""] * 6 + [page, ""]
    keys = ["pilote", "action", "cout", "ami", "cof"]
    conv = _convention([page_table([HEAD[k] for k in keys], [])], texts)
    assert _codes(conv) == [("TABLE_NOT_FOUND", "alerte", "2")]
    assert _codes(_convention([_table(keys)], [""] * 6 + ["\n".join(page.splitlines()[:3]), ""])) == []


def test_end_of_a_header_cell_is_no_action() -> None:
    """`programme 177 sollicitée 2025 (€)` left under the header by the table finder is not a row."""
    keys = ["pilote", "action", "cout", "ami", "cof"]
    leftover = ["", "", "(€)", "programme 177 sollicitée 2025 (€)", "(€)"]
    t = page_table([HEAD[k] for k in keys], [leftover, *[[r[k] for k in keys] for r in ROWS]])
    conv = _convention([t])
    assert [ln.action for ln in conv.annexes[0].lines] == [r["action"] for r in ROWS]


@pytest.mark.parametrize(
    "header",
    ["Participation État au titre de 2025 requise en €", "Crédits requis 2025", "Aides requises (€)"],
)
def test_a_feminine_or_plural_form_of_a_nature_word_names_it(header: str) -> None:
    # `requis` is stemmed `requi` by the plural rule; its inflected forms are still the same word
    assert ami_nature(header) == "demande"


AIMS = [
    ("Halte de nuit", "CCAS", "Offrir un premier accueil", "94 500 €"),
    ("Observatoire du sans-abrisme", "Ville de Lyon", "Mieux connaître les parcours", "118 000 €"),
    ("Prévention des expulsions", "CCAS", "Agir avant l'assignation", "105 000 €"),
    ("Colocations solidaires", "FAS", "Loger des jeunes sans ressources stables", "20 000 €"),
]


@pytest.mark.parametrize("header", ["Ambition", "Colonne C"])
def test_an_aim_led_by_verbs_beside_names_is_the_objective_whatever_its_header(header: str) -> None:
    cols = map_columns(["Actions", "Porteur", header, "Crédits AMI"], [list(r) for r in AIMS])
    assert [c.field for c in cols] == ["action", "pilote", "objectif", "financement_ami"]
    assert any("verbes" in r for r in cols[2].reasons)


def test_actions_worded_as_aims_with_no_names_beside_them_stay_the_actions() -> None:
    cols = map_columns(["Colonne A", "Porteur", "Crédits AMI"], [[r[2], r[1], r[3]] for r in AIMS])
    assert [c.field for c in cols] == ["action", "pilote", "financement_ami"]
