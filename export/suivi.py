"""Actions followed across a convention and its avenants: rows judged to be the same action share an `action_ref`."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath

from rapidfuzz import fuzz

from export.contract import _csv
from export.paths import atomic_write
from models import ActionLine, Convention
from normalize.amounts import plain
from normalize.text import fold
from reconcile.cross import base_convention

SUIVI_COLUMNS = [
    "action_ref",
    "fichier",
    "annee_debut",
    "annexe",
    "ligne",
    "action",
    "pilotes",
    "financement_ami",
    "statut",
    "lien",
]
# Function words of French titles; they say nothing of what an action is.
_STOP = frozenset(
    [
        "a",
        "au",
        "aux",
        "avec",
        "c",
        "ce",
        "ces",
        "d",
        "dans",
        "de",
        "des",
        "du",
        "e",
        "en",
        "et",
        "l",
        "la",
        "le",
        "les",
        "leur",
        "leurs",
        "n",
        "ou",
        "par",
        "pour",
        "qu",
        "que",
        "qui",
        "s",
        "sa",
        "se",
        "ses",
        "son",
        "sur",
        "un",
        "une",
        "vers",
        "via",
        "chez",
        "entre",
        "dont",
        "afin",
        "ainsi",
        "lors",
        "cat",
    ]
)
STEM = 4  # a word's first letters: `animer`/`animation`, `soutenir`/`soutien`, `recruter`/`recrutement`
THRESHOLD = 0.7  # below this a pair is not linked (precision first; measured on tests/fixtures/suivi)
POSITION_BONUS = 0.2  # same action number (or same place in an unnumbered annex), titles sharing a word
MARGIN = 0.04  # a row whose two best partners score this close is left unlinked: the choice would be a guess


def stems(title: str) -> frozenset[str]:
    """The content words of a title, each cut to its first letters."""
    words = re.findall(r"[a-z0-9]+", fold(title))
    return frozenset(w[:STEM] for w in words if w not in _STOP and (len(w) > 2 or w.isdigit()))


@dataclass
class Row:
    """One action row of a document, as the linker sees it."""

    fichier: str
    annee: int | None
    line: ActionLine
    stems: frozenset[str] = field(default_factory=frozenset)

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.fichier, self.line.annexe, self.line.ligne)


def _idf(rows: list[Row]) -> dict[str, float]:
    """How rare each stem is among the family's rows: shared rare words weigh more than `logement`."""
    df: Counter[str] = Counter(s for r in rows for s in r.stems)
    n = max(len(rows), 1)
    return {s: math.log(1 + n / c) for s, c in df.items()}


def similarity(a: Row, b: Row, idf: dict[str, float]) -> float:
    """How sure we are that two rows of different documents are the same action, 0–1.

    Title words shared (weighted by rarity, measured on the shorter title and on both), the titles' character
    similarity (rapidfuzz), and the pilots agreeing; a title sharing no rare word is never linked.
    """
    shared = a.stems & b.stems
    if not shared:
        return 0.0

    def weight(s: frozenset[str]) -> float:
        return sum(idf.get(x, 1.0) for x in s)

    wa, wb, ws = weight(a.stems), weight(b.stems), weight(shared)
    contain = ws / min(wa, wb)
    dice = 2 * ws / (wa + wb)
    chars = fuzz.token_set_ratio(" ".join(sorted(a.stems)), " ".join(sorted(b.stems))) / 100
    pa, pb = set(a.line.pilotes), set(b.line.pilotes)
    pilots = 0.5 if not pa or not pb else (1.0 if pa == pb else 0.6 if pa & pb else 0.2)
    score = 0.45 * contain + 0.25 * dice + 0.15 * chars + 0.15 * pilots
    if a.line.numero and a.line.numero == b.line.numero:
        score += POSITION_BONUS  # the action keeps its number
    elif not a.line.numero and not b.line.numero and (a.line.annexe, a.line.ligne) == (b.line.annexe, b.line.ligne):
        score += POSITION_BONUS  # unnumbered rows: an avenant that keeps the convention's order keeps the position
    return round(min(score, 1.0), 3)


def match(earlier: list[Row], later: list[Row], idf: dict[str, float]) -> dict[tuple[int, int], float]:
    """One-to-one links (index in `earlier`, index in `later`) → score: best pairs first, ambiguous ones left out."""
    scores = {(i, j): similarity(a, b, idf) for i, a in enumerate(earlier) for j, b in enumerate(later)}
    candidates = sorted(((s, i, j) for (i, j), s in scores.items() if s >= THRESHOLD), key=lambda t: (-t[0], t[1:]))
    used_i: set[int] = set()
    used_j: set[int] = set()
    links: dict[tuple[int, int], float] = {}
    for s, i, j in candidates:
        if i in used_i or j in used_j:
            continue
        rivals = [scores[(i, jj)] for jj in range(len(later)) if jj != j and jj not in used_j] + [
            scores[(ii, j)] for ii in range(len(earlier)) if ii != i and ii not in used_i
        ]
        if rivals and max(rivals) > s - MARGIN:
            continue
        used_i.add(i)
        used_j.add(j)
        links[(i, j)] = s
    return links


def _rows(c: Convention) -> list[Row]:
    return [
        Row(fichier=c.fichier, annee=c.fields.annee_debut, line=ln, stems=stems(ln.action or ln.objectif))
        for a in c.annexes
        for ln in a.lines
    ]


def _ref(r: Row) -> str:
    """The file (its folder kept: two folders may hold the same name), annex and row of a chain's first row."""
    return f"{PurePosixPath(r.fichier).with_suffix('')}#{r.line.annexe}.{r.line.ligne}"


def families(conventions: list[Convention]) -> list[list[Convention]]:
    """A convention with the avenants that amend it (in year order); every other document alone."""
    bases = [c for c in conventions if c.fields.type_document == "convention"]
    grouped: dict[str, list[Convention]] = {}
    for c in conventions:
        base = base_convention(c, bases) if c.fields.type_document == "avenant" else None
        grouped.setdefault(base.fichier if base else c.fichier, []).append(c)
    order = {"convention": 0, "avenant": 1}
    return [
        sorted(g, key=lambda c: (c.fields.annee_debut or 0, order.get(c.fields.type_document, 2), c.fichier))
        for g in grouped.values()
    ]


def follow(conventions: list[Convention]) -> list[dict[str, object]]:
    """suivi_actions rows of one territory: typed values, a followed action's rows together, in print order."""
    out: list[dict[str, object]] = []
    for family in families(conventions):
        docs = [_rows(c) for c in family]
        idf = _idf([r for rows in docs for r in rows])
        ref: dict[tuple[str, str, int], str] = {}
        lien: dict[tuple[str, str, int], float] = {}
        heads: dict[str, Row] = {}  # chain → its latest row
        for rows in docs:
            chains = list(heads)
            links = match([heads[k] for k in chains], rows, idf)
            linked = {j: (chains[i], s) for (i, j), s in links.items()}
            for j, r in enumerate(rows):
                if j in linked:
                    chain, s = linked[j]
                    ref[r.key] = chain
                    lien[r.key] = s
                    lien.setdefault(heads[chain].key, s)
                else:
                    chain = _ref(r)
                    ref[r.key] = chain
                heads[chain] = r
        order = {chain: n for n, chain in enumerate(dict.fromkeys(ref[r.key] for rows in docs for r in rows))}
        family_rows = [r for rows in docs for r in rows]
        family_rows.sort(key=lambda r: order[ref[r.key]])  # stable: a chain's rows stay in document order
        for r in family_rows:
            out.append(
                {
                    "action_ref": ref[r.key],
                    "fichier": r.fichier,
                    "annee_debut": r.annee,
                    "annexe": r.line.annexe,
                    "ligne": r.line.ligne,
                    "action": r.line.action,
                    "pilotes": ";".join(r.line.pilotes),
                    "financement_ami": r.line.amount("financement_ami"),
                    "statut": r.line.statut,
                    "lien": lien.get(r.key),
                }
            )
    return out


def suivi_csv_rows(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows for the contract CSV: amounts as plain decimals, `lien` with two decimals."""
    return [
        {
            **r,
            "financement_ami": plain(v) if isinstance(v := r["financement_ami"], Decimal) else v,
            "lien": f"{r['lien']:.2f}" if isinstance(r["lien"], float) else "",
        }
        for r in rows
    ]


@dataclass
class Followed:
    """A followed action for the report: its title and its AMI funding per year (`None`: no amount)."""

    action_ref: str
    action: str
    pilotes: str
    by_year: dict[int, list[Decimal | None]]
    lien: float


def followed(rows: list[dict[str, object]]) -> list[Followed]:
    """The actions seen in two documents or more, with their funding year by year."""
    chains: dict[str, list[dict[str, object]]] = {}
    for r in rows:
        chains.setdefault(str(r["action_ref"]), []).append(r)
    out = []
    for ref, members in chains.items():
        if len(members) < 2:
            continue
        by_year: dict[int, list[Decimal | None]] = {}
        for m in members:
            year = m["annee_debut"]
            v = m["financement_ami"]
            by_year.setdefault(year if isinstance(year, int) else 0, []).append(v if isinstance(v, Decimal) else None)
        last = members[-1]
        sure = min(float(m["lien"]) for m in members if isinstance(m["lien"], float))
        out.append(Followed(ref, str(last["action"]), str(last["pilotes"]), by_year, sure))
    return out


def write_suivi(
    out: Path, conventions: list[Convention], slug_of: Callable[[Convention], str]
) -> dict[str, list[dict[str, object]]]:
    """OUT/territories/<slug>/suivi_actions.csv for every territory; the typed rows by slug (with `territoire`)."""
    groups: dict[str, list[Convention]] = {}
    for c in conventions:
        groups.setdefault(slug_of(c), []).append(c)
    result = {}
    for slug, convs in sorted(groups.items()):
        name = next((c.parties.territoire for c in convs if c.parties.territoire), slug)
        rows = [{"territoire": name, **r} for r in follow(sorted(convs, key=lambda c: c.fichier))]
        atomic_write(out / "territories" / slug / "suivi_actions.csv", _csv(SUIVI_COLUMNS, suivi_csv_rows(rows)))
        result[slug] = rows
    return result
