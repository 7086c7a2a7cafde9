"""Column meaning from evidence: header concept words, column content and arithmetic between amount
columns, weighed together and settled by one assignment over all the columns of a table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import cast

import numpy as np
from rapidfuzz.distance import Levenshtein

from models import ColumnMapping
from models.table import Nature
from normalize.lexique import Lexique, builtin_lexique
from normalize.text import fold

_STOP = {
    "de",
    "du",
    "des",
    "la",
    "le",
    "les",
    "l",
    "d",
    "et",
    "en",
    "pour",
    "sur",
    "a",
    "au",
    "aux",
    "par",
    "un",
    "une",
    "mois",
    "annee",
    "annees",
    "an",
    "ans",
    "valide",
    "validee",
    "accorde",
    "accordee",
    "obtenu",
    "obtenus",
    "precedemment",
    "ou",
    "dont",
    "euros",
    "eur",
    "ttc",
    "ht",
    "(en",
    "en)",
}
_VERBISH = {"valide", "validee", "accorde", "accordee", "obtenu", "obtenus", "precedemment"}
# what an action is called in some tables: `Intitulé du projet`, `Coût de l'opération`, `Mesure`
_SYNONYMS = {"projet": "action", "operation": "action", "mesure": "action"}


def _tokens(text: str) -> list[str]:
    """Header words folded and stemmed; a word cut short by a dot (`Cofin.`, `Réf.`) keeps its dot."""
    # a word cut at a line break inside the header cell (`Finance- ment`, `Cofinan- cements`) is one word
    t = re.sub(r"([a-z])-\s+([a-z])", r"\1\2", fold(text))
    t = t.replace("co-fin", "cofin").replace("n°", " n° ").replace("€", " ")
    out = []
    for m in re.finditer(r"n°|([a-z]+)(\.(?![a-z0-9]))?", t):
        x = m.group(0)
        if x == "n°":
            out.append(x)
            continue
        word = m.group(1)
        if word in _STOP or len(word) <= 1:
            continue
        out.append(word + "." if m.group(2) and len(word) >= 3 else _SYNONYMS.get(word, _stem(word)))
    return out


def _stem(tok: str) -> str:
    """Plural and feminine endings dropped (`porteuses` -> `porteur`, `sollicitees` -> `sollicite`)."""
    if tok.endswith(("s", "x")) and len(tok) > 3:
        tok = tok[:-1]
    if tok.endswith("euse") and len(tok) > 6:
        tok = tok[:-4] + "eur"
    elif tok.endswith("trice") and len(tok) > 7:
        tok = tok[:-5] + "teur"
    elif tok.endswith("ee") and len(tok) > 4:
        tok = tok[:-1]
    return tok


_INFLECTIONS = frozenset({"e", "es", "se", "ses"})


def _same(a: str, b: str) -> bool:
    """Two tokens are one word: equal, an abbreviation of it (`cofin.`), or near-equal with the same
    first letter (OCR slips)."""
    if a == b:
        return True
    if b.endswith("."):
        core = b[:-1]
        return _stem(core) == a or a.startswith(core)
    if a[:1] != b[:1]:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(short) >= 4 and long.startswith(short) and long[len(short) :] in _INFLECTIONS:
        return True  # a feminine form of a stem the plural rule cut (`requis` -> `requi`, header `requise`)
    if len(short) < 5:
        return False
    budget = 1 if max(len(a), len(b)) < 9 else 2
    return Levenshtein.distance(a, b, score_cutoff=budget) <= budget and a[:3] == b[:3]


@cache
def _label_tokens() -> dict[str, list[list[str]]]:
    return {f: [_tokens(w) for w in ws] for f, ws in builtin_lexique().libelles.items()}


@cache
def _label_initials() -> dict[str, list[frozenset[str]]]:
    """The first letters of each wording's words, beside `_label_tokens`."""
    return {f: [frozenset(t[:1] for t in wt) for wt in wts] for f, wts in _label_tokens().items()}


@cache
def _label_vocabulary() -> dict[str, tuple[str, ...]]:
    """The words of the lexicon's labels, by first letter."""
    out: dict[str, set[str]] = {}
    for wordings in _label_tokens().values():
        for t in (t for wt in wordings for t in wt):
            out.setdefault(t[:1], set()).add(t)
    return {k: tuple(sorted(v)) for k, v in out.items()}


@lru_cache(maxsize=16384)
def _label_words_in(word: str) -> frozenset[str]:
    """The label words a header word is (`_same`), among those of its first letter (`_same` pairs no others)."""
    return frozenset(t for t in _label_vocabulary().get(word[:1], ()) if _same(t, word))


def field_scores(header: str) -> dict[str, float]:
    """Score (0-100) of each field for one header text, by the whole header labels of the lexicon
    (`[libelles]`): what finds header lines, not what decides a column's meaning."""
    return dict(_field_scores(header))


def _field_scores(header: str) -> tuple[tuple[str, float], ...]:
    """`field_scores` as pairs (cached with the rest of a text's reading by `_header_hits`)."""
    htoks = _tokens(header)
    scores: dict[str, float] = {}
    if not htoks:
        return ()
    # `_same` never pairs words of different first letters: a wording with a word whose letter the
    # header lacks cannot be whole in it, and is skipped unread
    initials = {h[:1] for h in htoks}
    letters = _label_initials()
    held = [_label_words_in(h) for h in htoks]  # the label words each header word is
    for fld, wordings in _label_tokens().items():
        best = 0.0
        for wt, needed in zip(wordings, letters[fld], strict=True):
            if not wt or not needed <= initials:
                continue
            used: set[int] = set()
            for t in wt:
                j = next((j for j, words in enumerate(held) if t in words and j not in used), None)
                if j is None:
                    break
                used.add(j)
            else:
                # every word of the wording is there: the more of the header it explains, the better
                score = 80 + 20 * len(wt) / max(len(htoks), len(wt))
                # the header's first word leads: "Sources cofinancements" is a source, not an amount
                if wt[0] in held[0]:
                    score += 5
                best = max(best, score)
        if best:
            scores[fld] = best
    return tuple(scores.items())


HIT_SCORE = 88.0  # a wording that covers at least 40 % of the words: a label, not a word inside prose


def header_hits(text: str) -> set[str]:
    """The fields whose wording a short piece of header text holds whole and mostly is (used to find
    header lines: `de projet de la démarche` in a body cell is no `Projet` label): a whole label of the
    lexicon, or a short text made mostly of concept words that lead to one field."""
    return set(_header_hits(text))


@lru_cache(maxsize=65536)
def _header_hits(text: str) -> frozenset[str]:
    """`header_hits`, cached by text (every line of every page is read for labels; phrases recur)."""
    return frozenset({f for f, s in _field_scores(text) if s >= HIT_SCORE} | concept_hits(text))


MAX_LABEL_WORDS = 8  # a header label is short; a longer text is a sentence that happens to hold concepts
LABEL_SCORE = 0.5  # the concepts of a label weigh at least this much for its field


def concept_hits(text: str) -> set[str]:
    """The field (or the geography) a short text names through its concept words, when they lead it
    (its first significant word is one) and make at least half of it: `Enveloppe Dihal retenue
    2025 (k€)` is State funding although no whole label of the lexicon reads so."""
    lex = _builtin_compiled()
    words = _words(text)
    significant = [i for i, w in enumerate(words) if w != "€"]
    if not significant or len(significant) > MAX_LABEL_WORDS or not _may_be_concept(words[significant[0]], lex):
        return set()
    concepts = _header_concepts(text, lex)
    covered = {i for where in concepts.values() for i in where} & set(significant)
    # half of a short label, two thirds of a longer one (`Action portée avec le Département` is a cell)
    share = 0.5 if len(significant) <= 3 else 2 / 3
    if significant[0] not in covered or len(covered) < share * len(significant):
        return set()
    names = _proper_nouns(text)
    if any(words[i] in names for i in significant if i not in covered):
        return set()  # a name beside the concept (`Commune de Dijon`): a cell that names a place or body
    best, best_score = "", 0.0
    for role in (*FIELDS, GEOGRAPHIE):
        weights = lex.champs.get(role, {})
        score = sum(weights.get(c, 0.0) for c in concepts)
        if score > best_score:
            best, best_score = role, score
    return {best} if best_score >= LABEL_SCORE else set()


@lru_cache(maxsize=65536)
def _may_be_concept(word: str, lex: CompiledLexique) -> bool:
    """Whether a word is close to a word of some concept entry (a cheap test before matching them all)."""
    return any(_same(w, word) or _same(word, w) for w in lex.concept_words.get(word[:1], ()))


def _proper_nouns(text: str) -> set[str]:
    """The words of a text written as names (`Dijon`, not `DIHAL` nor the text's first word), as `_words`
    gives them."""
    tokens = re.findall(r"[^\W\d_]+", text)
    return {w for t in tokens[1:] if t[:1].isupper() and t[1:].islower() for w in _words(t)}


# ---------------------------------------------------------------- meaning from evidence

FIELDS = (
    "numero",
    "pilote",
    "action",
    "objectif",
    "description",
    "indicateurs",
    "statut",
    "cout_total",
    "financement_ami",
    "cofinancement",
    "sources_cofinancement",
    "commentaire",
)
AMOUNT_FIELDS = ("cout_total", "financement_ami", "cofinancement")
# where each field usually stands, from the left (0) to the right (1) of an annex table: a weak prior
_POSITION = {
    "numero": 0.0,
    "pilote": 0.12,
    "action": 0.22,
    "objectif": 0.32,
    "description": 0.42,
    "indicateurs": 0.52,
    "statut": 0.6,
    "cout_total": 0.66,
    "financement_ami": 0.76,
    "cofinancement": 0.84,
    "sources_cofinancement": 0.9,
    "commentaire": 1.0,
}
GEOGRAPHIE = "geographie"
NONE_SCORE = 0.2  # a column takes a meaning only with more evidence than this
LOW_CONFIDENCE = 0.45
MAX_ROWS = 40
_WORDS_STOP = {"de", "du", "des", "la", "le", "les", "l", "d", "et", "en", "pour", "sur", "a", "au", "aux", "par"}
_STOP_WORDS = _WORDS_STOP | {"un", "une", "ou", "dont", "euros", "eur", "ttc", "ht", "€"}
_YEAR = re.compile(r"\b(19|20)\d\d\b")
_AMOUNT_CELL = re.compile(r"^[-+]?\s*\d[\d\s\u00a0\u202f.,']*\s*(k\s?€|m\s?€|€|eur(os)?|keur)?\s*$", re.IGNORECASE)
_NUMBER_CELL = re.compile(r"^\s*(n°\s*)?[a-z]?\d{1,2}([.\-/]\d{1,2}){0,2}[a-z]?\s*[.)-]?\s*$", re.IGNORECASE)
# a `(k€)` the OCR read slightly wrong (`(kE)`, `(k6)`, `(k)`): the numbers below are still amounts
_DAMAGED_THOUSANDS = re.compile(r"\(\s*k\s*[^\s)]{0,2}\s*\)|\bk\s?(e|c|6|eur)\b")
_TOTAL_LABEL = re.compile(r"^\s*(sous[- ]?)?(total|totaux|montant\s+total|reliquat|solde)\b", re.IGNORECASE)
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,7}\b")


def _words(text: str) -> list[str]:
    """Words of a header or cell, folded and stemmed, `n°` kept, words cut by a line-break hyphen mended."""
    t = re.sub(r"([a-z])-\s+([a-z])", r"\1\2", fold(text).replace("œ", "oe").replace("æ", "ae"))
    t = t.replace("co-fin", "cofin").replace("n°", " n° ").replace("€", " € ")
    out = []
    for m in re.finditer(r"n°|€|([a-z]+)(\.(?![a-z0-9]))?", t):
        x = m.group(0)
        if x in ("n°", "€"):
            out.append(x)
            continue
        word = m.group(1)
        if word in _STOP_WORDS or len(word) <= 1:
            continue
        out.append(word + "." if m.group(2) and len(word) >= 3 else _stem(word))
    return out


class CompiledLexique:
    """A lexicon with its entries cut into stemmed words, ready to match headers and cells."""

    def __init__(self, lex: Lexique) -> None:
        self.lex = lex
        self.concepts = {c: [w for e in es if (w := _words(e))] for c, es in lex.concepts.items()}
        self.concept_words: dict[str, set[str]] = {}  # every word of a concept entry, by first letter
        for entries in self.concepts.values():
            for e in entries:
                for word in e:
                    self.concept_words.setdefault(word[:1], set()).add(word)
        self.champs = lex.champs
        self.organismes = {x for e in lex.contenus.get("organismes", []) for x in _words(e)}
        self.lieux = {x for e in lex.contenus.get("lieux", []) for x in _words(e)}
        self.mesures = {x for e in lex.contenus.get("mesures", []) for x in _words(e)} | {"%"}


@cache
def _builtin_compiled() -> CompiledLexique:
    return CompiledLexique(builtin_lexique())


def compiled(lex: Lexique | None) -> CompiledLexique:
    """The compiled form of a lexicon (the built-in one compiled once)."""
    return _builtin_compiled() if lex is None or lex is builtin_lexique() else CompiledLexique(lex)


def _match(entry: list[str], words: list[str], by_letter: dict[str, list[int]] | None = None) -> list[int]:
    """Indexes of the header words that hold every word of an entry, or [] when one is missing
    (`by_letter`: the words' indexes by first letter, as `_same` pairs only words of one letter)."""
    used: list[int] = []
    for t in entry:
        candidates = by_letter.get(t[:1], ()) if by_letter is not None else range(len(words))
        j = next((j for j in candidates if j not in used and (_same(t, words[j]) or _same(words[j], t))), None)
        if j is None:
            return []
        used.append(j)
    return used


def _by_letter(words: list[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for j, w in enumerate(words):
        out.setdefault(w[:1], []).append(j)
    return out


def header_concepts(header: str, lex: CompiledLexique) -> dict[str, list[int]]:
    """The concepts a header holds, each with the positions of the words that carry it."""
    return {k: list(v) for k, v in _header_concepts(header, lex).items()}


@lru_cache(maxsize=65536)
def _header_concepts(header: str, lex: CompiledLexique) -> dict[str, list[int]]:
    words = _words(header)
    by_letter = _by_letter(words)
    found: dict[str, list[int]] = {}
    for concept, entries in lex.concepts.items():
        for e in entries:
            if e[0][:1] not in by_letter:
                continue
            where = _match(e, words, by_letter)
            if where:
                found.setdefault(concept, [])
                found[concept] = sorted(set(found[concept]) | set(where))
    return found


@dataclass
class Profile:
    """What a column's body cells look like."""

    cells: int = 0
    amounts: float = 0.0  # share of cells that are an amount and nothing else
    numbers: float = 0.0  # share of short numbers (`1`, `2.3`, `A1`)
    bodies: float = 0.0  # share of cells naming a body (acronym, `Ville de …`, `CCAS`)
    places: float = 0.0  # share of short cells naming a place and no body
    statuses: float = 0.0  # share of cells that read as a status
    measures: float = 0.0  # share of cells naming a measure (`Nombre de …`, `Taux de …`, `%`)
    verbs: float = 0.0  # share of cells opening on an infinitive (`Animer …`, `Réduire …`): an aim
    filled: float = 1.0  # share of rows where the column is filled
    length: float = 0.0  # mean number of words
    values: list[float | None] = field(default_factory=list)  # amount per body row (None when not one)


_UNIT_AFTER = re.compile(r"^\s*[-+]?\d[\d\s\u00a0\u202f.,']*(k\s?€|m\s?€|€|eur\b|euros?\b|keur\b)", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^\s*[-+]?\d[\d\s\u00a0\u202f.,']*\s*($|\(|[-–/;*])")
_PLACEHOLDER = re.compile(r"^[\s\-–—/.*x0€]*$|^(neant|sans objet|nc|n/a|na)$", re.IGNORECASE)


def _amount_value(text: str, thousands: bool = False) -> float | None:
    """The amount a cell holds when it is one (a number, its unit, a parenthesised source), else None."""
    from normalize.amounts import parse_amount

    t = text.strip()
    unit = _UNIT_AFTER.match(t)
    if not t or _YEAR.fullmatch(t) or not (unit or _BARE_NUMBER.match(t)):
        return None
    digits = len(re.sub(r"\D", "", t.split("(")[0]))
    if not unit and not thousands and digits < 3 and not re.search(r"\d,\d", t):
        return None
    v = parse_amount(t.split("(")[0]).value
    return float(v) if v is not None else None


def cell_amount(text: str) -> float | None:
    """The amount a cell holds when the cell is one (not an amount inside a sentence), else None."""
    return _amount_value(text)


def profile(cells: list[str], lex: CompiledLexique, thousands: bool = False) -> Profile:
    """The content evidence of one column (total rows left out by the caller; `thousands`: a k€ header)."""
    from normalize.statuses import statut

    p = Profile(values=[_amount_value(c, thousands) for c in cells])
    texts = [c for c in cells if c.strip() and not _PLACEHOLDER.match(fold(c))]
    p.cells = len(texts)
    if not texts:
        return p
    n = len(texts)
    p.amounts = sum(v is not None for v in p.values) / n
    p.numbers = sum(bool(_NUMBER_CELL.match(t)) for t in texts) / n
    bodies = places = 0.0
    statuses = measures = verbs = 0
    p.filled = n / max(1, len(cells))
    for t in texts:
        ws = _words(t)
        kinds = [w for w in ws if w in lex.organismes]
        # a place: a few words, led by a word of places (`Quartiers prioritaires`) or each significant one a
        # proper noun or a word of places (`Quartier Nord`)
        significant = [w for w in re.findall(r"[\w'-]+", t) if len(w) > 3 or w[:1].isupper()]
        named = bool(significant) and all(
            w[:1].isupper() or any(x in lex.lieux for x in _words(w)) for w in significant
        )
        place = len(ws) <= 4 and (named or (ws[:1] != [] and ws[0] in lex.lieux)) and not _amount_value(t)
        if _ACRONYM.search(t) or (kinds and not all(w in lex.lieux for w in kinds)):
            bodies += 1
        elif kinds and place:  # a word of both (`Toutes communes`, `Centre`): a body or a place, as may be
            bodies += 0.5
            places += 0.5
        else:
            bodies += bool(kinds)
            places += place
        statuses += len(ws) <= 20 and bool(statut(t, lex.lex))
        measures += any(w in lex.mesures for w in ws) or "%" in t
        first = fold(t).split()[0] if t.split() else ""
        verbs += len(first) >= 4 and first.endswith(("er", "ir", "re")) and first[:1].isalpha()
    p.bodies, p.places, p.statuses = bodies / n, places / n, statuses / n
    p.measures, p.verbs = measures / n, verbs / n
    p.length = sum(len(t.split()) for t in texts) / n
    return p


def _content_score(role: str, p: Profile) -> float:
    """How well a column's content fits a role (0 when the column is empty)."""
    if not p.cells:
        return 0.0
    text_like = 1.0 - p.amounts
    if role in AMOUNT_FIELDS:
        # the State's funding is what every annex of actions holds: an amount column is it first
        return 0.5 * p.amounts - 0.5 * text_like + (0.1 * p.amounts if role == "financement_ami" else 0.0)
    if role == "numero":
        return 0.5 * p.numbers - 0.4 * (1 - p.numbers)
    penalty = -0.5 * p.amounts - 0.3 * p.numbers
    long_text = p.length > 12
    if role == "pilote":
        return penalty + 0.35 * p.bodies - 0.35 * p.places - (0.3 if long_text else 0.0)
    if role == GEOGRAPHIE:
        return penalty + 0.35 * p.places - 0.35 * p.bodies - (0.3 if long_text else 0.0)
    if role == "statut":
        # a few words per cell, most of them states: a status column even where its header says nothing
        short = 0.1 if p.length <= 3 and p.statuses >= 0.4 else 0.0
        return penalty + 0.5 * p.statuses - 0.2 * (1 - p.statuses) + short
    penalty -= 0.1 * p.statuses
    if role == "action":
        # every annex of actions names its actions: a text column is that first
        return penalty + (0.2 if p.length >= 3 else -0.05) + 0.05 * p.verbs - 0.15 * p.measures
    if role == "objectif":
        return penalty + 0.15 * p.verbs - 0.15 * p.measures + (0.05 if p.length >= 4 else -0.05)
    if role == "description":
        return penalty + (0.2 if long_text else -0.05) - 0.15 * p.measures
    if role == "indicateurs":
        return penalty + 0.4 * p.measures - 0.1 * p.verbs
    if role == "sources_cofinancement":
        return penalty + (0.3 * p.bodies if p.length <= 8 else -0.2)
    if role == "commentaire":
        return penalty + 0.3 * (1 - p.filled) - 0.1 * p.bodies
    return penalty


@dataclass
class _Column:
    header: str
    concepts: dict[str, list[int]]
    profile: Profile
    scores: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=dict)


def _header_score(role: str, col: _Column, lex: CompiledLexique) -> tuple[float, list[str]]:
    weights = lex.champs.get(role, {})
    score = 0.0
    why = []
    lead = False
    for concept, where in col.concepts.items():
        w = weights.get(concept, 0.0)
        if w:
            score += w
            why.append(f"{concept} {w:+.2f}")
            lead = lead or (w >= 0.5 and 0 in where)
    if lead:
        score += 0.08  # the header's first word leads: "Sources cofinancements" is a source
    if role in AMOUNT_FIELDS and (_YEAR.search(col.header) or "€" in col.header or header_multiplier(col.header) > 1):
        score += 0.05
        why.append("année ou unité")
    return score, why


def _relations(cols: list[_Column]) -> list[tuple[int, int, int, int, int]]:
    """Triples of amount columns (total, part, part) whose rows add up: (a, b, c, agreeing rows, rows)."""
    amount_cols = [i for i, c in enumerate(cols) if c.profile.cells and c.profile.amounts >= 0.6]
    found = []
    for a in amount_cols:
        others = [i for i in amount_cols if i != a]
        for x in range(len(others)):
            for y in range(x + 1, len(others)):
                b, c = others[x], others[y]
                agree = rows = 0
                for va, vb, vc in zip(
                    cols[a].profile.values, cols[b].profile.values, cols[c].profile.values, strict=False
                ):
                    if va is None or (vb is None and vc is None):
                        continue
                    rows += 1
                    agree += abs(va - (vb or 0.0) - (vc or 0.0)) <= max(1.0, 0.005 * va)
                if (
                    rows >= 2
                    and agree >= 0.7 * rows
                    and all(sum(v is not None for v in cols[k].profile.values) for k in (b, c))
                ):
                    found.append((a, b, c, agree, rows))
    return found


def _aims(cols: list[_Column]) -> list[tuple[int, int]]:
    """Pairs (k, j): column k says in a few words led by verbs what the actions aim at (`Agir avant
    l'assignation`), beside a column j of short names, few led by a verb, no measure (`Prévention des expulsions`)."""

    def text(p: Profile) -> bool:
        return p.cells > 0 and p.amounts < 0.3 and p.numbers < 0.3 and p.bodies < 0.5 and p.statuses < 0.4

    out = []
    for k, col in enumerate(cols):
        p = col.profile
        if not (text(p) and p.verbs >= 0.5 and p.length <= 10):
            continue
        nouns = [
            j
            for j, o in enumerate(cols)
            if j != k
            and text(o.profile)
            and o.profile.verbs <= min(0.3, p.verbs - 0.4)
            and o.profile.measures < 0.3
            and o.profile.length <= 8
        ]
        if nouns:
            out.append((k, max(nouns, key=lambda j: cols[j].scores.get("action", 0.0))))
    return out


def _score_columns(headers: list[str], rows: list[list[str]], lex: CompiledLexique) -> list[_Column]:
    # forty rows tell a column's content as well as four hundred
    body = [r for r in rows if not _TOTAL_LABEL.match(next((c for c in r if c.strip()), ""))][:MAX_ROWS]
    cols = []
    for i, h in enumerate(headers):
        cells = [r[i] if i < len(r) else "" for r in body]
        prof = profile(cells, lex, header_multiplier(h) > 1 or bool(_DAMAGED_THOUSANDS.search(fold(h))))
        cols.append(_Column(header=h, concepts=header_concepts(h, lex), profile=prof))
    n = len(cols)
    for i, col in enumerate(cols):
        pos = i / (n - 1) if n > 1 else 0.5
        for role in (*FIELDS, GEOGRAPHIE):
            s, why = _header_score(role, col, lex)
            c = _content_score(role, col.profile)
            if c:
                why.append(f"contenu {c:+.2f}")
            if role in _POSITION:
                s += 0.15 * (1 - abs(pos - _POSITION[role]))
            col.scores[role] = s + c
            col.reasons[role] = why
    for k, j in _aims(cols):
        cols[k].scores["objectif"] += 0.15
        cols[k].reasons["objectif"].append(f"verbes, face aux noms de « {cols[j].header} »")
    for a, b, c, agree, total in _relations(cols):
        note = f"« {cols[a].header} » = « {cols[b].header} » + « {cols[c].header} » sur {agree}/{total} lignes"
        cols[a].scores["cout_total"] += 0.3
        cols[a].reasons["cout_total"].append("somme des deux autres " + note)
        for role in ("financement_ami", "cofinancement"):
            cols[a].scores[role] -= 0.2
        for k in (b, c):
            for role in ("financement_ami", "cofinancement"):
                cols[k].scores[role] += 0.15
                cols[k].reasons[role].append("part du coût " + note)
            cols[k].scores["cout_total"] -= 0.3
    return cols


def _assign(cols: list[_Column]) -> list[str | None]:
    """One assignment over all columns: each field to at most one column, geography and nothing to any."""
    n = len(cols)
    if not n:
        return []
    options: list[str | None] = [*FIELDS, *([GEOGRAPHIE] * n), *([None] * n)]
    cost = np.zeros((n, len(options)))
    for i, col in enumerate(cols):
        for j, role in enumerate(options):
            cost[i, j] = -(col.scores[role] if role is not None else NONE_SCORE)
    from scipy.optimize import linear_sum_assignment  # imported here: `import normalize` stays light

    rows, chosen = linear_sum_assignment(cost)
    out: list[str | None] = [None] * n
    for i, j in zip(rows, chosen, strict=True):
        role = options[j]
        out[i] = role if role is not None and cols[i].scores[role] > NONE_SCORE else None
    return out


def map_columns(
    headers: list[str], rows: list[list[str]] | None = None, lexique: Lexique | None = None
) -> list[ColumnMapping]:
    """One mapping per header cell, with its confidence and reasons; `rows` are the body cells of the
    table (text per column), the evidence of content and arithmetic."""
    lex = compiled(lexique)
    cols = _score_columns(headers, rows or [], lex)
    targets: set[int] = set()
    breakdown = _breakdowns(cols, targets)
    for i in breakdown:
        cols[i].scores = dict.fromkeys(cols[i].scores, -1.0)
    for t in targets:
        if "cout" not in cols[t].concepts:
            continue
        # `Total` under a label spread over yearly columns sums the years: no total cost said there
        for name in cols[t].scores:
            weight = lex.champs.get(name, {}).get("cout", 0.0)
            if weight:
                cols[t].scores[name] -= weight
                cols[t].reasons[name].append("« total » de sa ventilation annuelle, sans poids de coût")
    roles = _assign(cols)
    out = []
    for i, (col, role) in enumerate(zip(cols, roles, strict=True)):
        fld = role if role in FIELDS else None
        best = col.scores.get(role, NONE_SCORE) if role else NONE_SCORE
        rivals = [s for r, s in col.scores.items() if r != role] + ([NONE_SCORE] if role else [])
        margin = best - max(rivals, default=0.0)
        confidence = round(max(0.0, min(1.0, best)) * min(1.0, 0.5 + margin), 3) if role else 0.0
        m = ColumnMapping(
            index=i,
            header=col.header,
            field=fld,
            score=round(100 * max(0.0, min(1.0, best)), 1) if role else 0.0,
            confidence=confidence,
            role=role or "",
            montants=col.profile.cells > 0 and col.profile.amounts >= 0.5,
            reasons=col.reasons.get(role, []) if role else [],
        )
        if fld == "financement_ami":
            m.nature, m.periode = ami_nature(col.header, lex), ami_period(col.header)
        if fld in AMOUNT_FIELDS or m.montants:
            m.multiplier = header_multiplier(col.header)
        if not role and "reliquat" in col.concepts:
            m.role = "reliquat"
        if i in breakdown:
            m.role, m.reasons = "ventilation", [breakdown[i]]
        out.append(m)
    return out


def _breakdowns(cols: list[_Column], targets: set[int] | None = None) -> dict[int, str]:
    """Amount columns whose headers differ only by their year and whose rows add up to another amount
    column: a yearly breakdown of it (column index -> the reason), kept out of the assignment; the
    columns they add up to are put in `targets`."""
    amount_cols = [i for i, c in enumerate(cols) if c.profile.cells and c.profile.amounts >= 0.6]
    groups: dict[str, list[int]] = {}
    for i in amount_cols:
        if _YEAR.search(cols[i].header):
            groups.setdefault(" ".join(_words(_YEAR.sub(" ", cols[i].header))), []).append(i)
    out: dict[int, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        for t in (i for i in amount_cols if i not in members):
            rows = agree = 0
            for r, total in enumerate(cols[t].profile.values):
                parts = [cols[m].profile.values[r] for m in members]
                if total is None or all(v is None for v in parts):
                    continue
                rows += 1
                agree += abs(total - sum(v or 0.0 for v in parts)) <= max(1.0, 0.005 * total)
            if rows and agree >= 0.7 * rows:
                for m in members:
                    out[m] = f"ventilation annuelle de « {cols[t].header} » ({agree}/{rows} lignes)"
                if targets is not None:
                    targets.add(t)
                break
    return out


def mapping_note(m: ColumnMapping) -> str:
    """One line of the parsing report for a column: its meaning, confidence and reasons."""
    what = m.field or m.role or "sans sens reconnu"
    why = "; ".join(m.reasons) if m.reasons else "aucun indice"
    return f"colonne {m.index + 1} « {m.header} » → {what} (confiance {m.confidence:.2f} : {why})"


_THOUSANDS = re.compile(r"\bk\s?(?:€|eur\b|euros?\b)|\bkeur\b|\bmilliers? d'?\s?(?:€|euros?\b)|\ben milliers\b")
_MILLIONS = re.compile(r"\bm\s?€|\bmeur\b|\bmillions? d'?\s?(?:€|euros?\b)|\ben millions\b")


def header_multiplier(header: str) -> int:
    """1000 when an amount column's header gives its unit as thousands of euros (`(k€)`, `en milliers
    d'euros`), a million for `M€`; 1 otherwise."""
    h = fold(header)
    if _THOUSANDS.search(h):
        return 1000
    if _MILLIONS.search(h):
        return 1_000_000
    return 1


def ami_period(header: str) -> str:
    """The period an AMI column covers, as its header writes it (`2024-2025`, `2021 ou 2022`, `année 1`)."""
    h = " ".join(header.replace("\u2013", "-").replace("\u2014", "-").split())
    m = re.search(r"\b(20\d\d)\s*-\s*(20\d\d)\b", h)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    m = re.search(r"\b(20\d\d)\s*(ou|et|/)\s*(20\d\d)\b", h)
    if m:
        sep = " ou " if m.group(2) == "ou" else (" et " if m.group(2) == "et" else "/")
        return f"{m.group(1)}{sep}{m.group(3)}"
    m = re.search(r"\b(20\d\d)\b", h)
    if m:
        return m.group(1)
    m = re.search(r"\bann[ée]e\s*(\d)\b", h, re.IGNORECASE)
    if m:
        return f"année {m.group(1)}"
    return ""


def ami_nature(header: str, lex: CompiledLexique | None = None) -> Nature:
    """Whether the AMI column holds requested, granted or previously obtained amounts: the lexicon's
    words of each (`[concepts]` obtenu, demande, accorde: `retenue`, `notifiés`) first, then the nouns."""
    said = _header_concepts(header, lex or _builtin_compiled())
    for concept, nature in (("obtenu", "obtenu_precedemment"), ("demande", "demande"), ("accorde", "accorde")):
        if concept in said:
            return cast(Nature, nature)
    h = fold(header)
    if re.search(r"obtenu|precedemment|anterieur|percu|verse|realise", h):
        return "obtenu_precedemment"
    if re.search(r"sollicit|demand|prevision|propos", h):
        return "demande"
    if re.search(r"valid|accord|attribu|notifi|allou|octroy|subvention|participation|montant|dotation", h):
        return "accorde"
    if re.search(r"\bpour\b", h):
        return "demande"
    return "accorde"
