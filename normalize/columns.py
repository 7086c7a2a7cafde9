"""Column meaning: each header cell mapped to a contract field by fuzzy matching."""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

from models import ColumnMapping
from models.table import Nature
from normalize.text import fold

# Wordings seen for each field; matching is token-wise and tolerant, so new wordings that share
# their key words (and OCR misreadings of them) are understood too.
VOCABULARY: dict[str, tuple[str, ...]] = {
    "numero": ("n°", "no", "numero", "num", "numero de l'action", "ref", "reference", "fiche", "code"),
    "pilote": (
        "pilote",
        "pilotes",
        "pilote de l'action",
        "territoire",
        "porteur",
        "porteur de projet",
        "maitre d'ouvrage",
        "structure pilote",
        "operateur",
        "pilotage",
        "responsable",
        "chef de file",
        "maitre d'oeuvre",
        "structure responsable",
    ),
    "action": (
        "action",
        "actions",
        "intitule de l'action",
        "intitule",
        "action et objectif",
        "nom de l'action",
        "libelle de l'action",
        "titre de l'action",
        "libelle",
        "fiche action",
        "titre",
    ),
    "objectif": (
        "objectif",
        "objectifs",
        "objectif de l'action",
        "objectifs de l'action",
        "objectifs poursuivis",
        "finalite",
    ),
    "description": (
        "description",
        "description de l'action",
        "contenu de l'action",
        "contenu",
        "modalites",
        "descriptif",
        "modalites de mise en oeuvre",
        "detail de l'action",
    ),
    "indicateurs": (
        "resultats attendus et indicateurs",
        "indicateurs de resultat",
        "indicateurs de suivi",
        "indicateurs",
        "resultats attendus",
        "indicateurs d'evaluation",
        "resultats attendus et indicateurs de suivi",
        "criteres d'evaluation",
        "livrables",
    ),
    "statut": ("statut", "statut de l'action", "etat d'avancement", "avancement", "etat de l'action", "etat"),
    "cout_total": (
        "cout total",
        "cout total de l'action",
        "cout de l'action",
        "budget total",
        "cout global",
        "budget de l'action",
        "montant total de l'action",
        "cout previsionnel",
        "budget global",
        "budget previsionnel",
        "budget",
        "cout",
        "montant global",
        "total des depenses",
        "depenses prevues",
        # a `Total` column beside the AMI and co-financing columns: the action's whole cost
        "total",
    ),
    "financement_ami": (
        "financement ami",
        "subvention ami",
        "credits etat",
        "participation etat",
        "montant ami",
        "financement demande",
        "financement sollicite",
        "contribution de l'etat",
        "aide de l'etat",
        "subvention etat",
        "credits ami",
        "dotation ami",
        "subvention",
        "financement de l'etat",
        "montant demande",
        "montant sollicite",
        "credits sollicites",
        "part etat",
        "financement dihal",
        "credits logement d'abord",
        "financement logement d'abord",
        # a column headed by the programme alone ("AMI 2025", "Budget AMI"): the State's share
        "ami",
        "budget ami",
        "dihal",
        # `Financement 2025` beside a `Cofinancement` column: the State's funding
        "financement",
    ),
    "cofinancement": (
        "cofinancements",
        "cofinancement",
        "cofinancements locaux",
        "co-financement",
        "autres financements",
        "financements partenaires",
        "part collectivite",
        "cofinancement local",
        "financements locaux",
        "participation locale",
        "autofinancement",
        "financements complementaires",
        "part des partenaires",
        "apport de la collectivite",
        "part epci",
        "contrepartie",
    ),
    "sources_cofinancement": (
        "sources cofinancements",
        "source du cofinancement",
        "sources",
        "sources des cofinancements",
        "financeurs",
        "origine des cofinancements",
        "cofinanceurs",
        "source",
        "partenaires financeurs",
        "origine des fonds",
    ),
    "commentaire": (
        "commentaires",
        "commentaire",
        "observations",
        "observation",
        "remarques",
        "precisions",
        "remarque",
        "notes",
    ),
}

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


def _same(a: str, b: str) -> bool:
    """Two tokens are one word: equal, an abbreviation of it (`cofin.`), or near-equal with the same
    first letter (OCR slips)."""
    if a == b:
        return True
    if b.endswith("."):
        core = b[:-1]
        return _stem(core) == a or a.startswith(core)
    if a[:1] != b[:1] or min(len(a), len(b)) < 5:
        return False
    budget = 1 if max(len(a), len(b)) < 9 else 2
    return Levenshtein.distance(a, b, score_cutoff=budget) <= budget and a[:3] == b[:3]


_VOCAB_TOKENS = {f: [_tokens(w) for w in ws] for f, ws in VOCABULARY.items()}


def field_scores(header: str) -> dict[str, float]:
    """Score (0-100) of each field for one header text."""
    htoks = _tokens(header)
    scores: dict[str, float] = {}
    if not htoks:
        return scores
    for field, wordings in _VOCAB_TOKENS.items():
        best = 0.0
        for wt in wordings:
            if not wt:
                continue
            used: set[int] = set()
            hit = 0
            for t in wt:
                j = next((j for j, h in enumerate(htoks) if j not in used and _same(t, h)), None)
                if j is not None:
                    used.add(j)
                    hit += 1
            if hit == len(wt):
                # every word of the wording is there: the more of the header it explains, the better
                score = 80 + 20 * len(wt) / max(len(htoks), len(wt))
                # the header's first word leads: "Sources cofinancements" is a source, not an amount
                if _same(wt[0], htoks[0]):
                    score += 5
                best = max(best, score)
        if best:
            scores[field] = best
    return scores


HIT_SCORE = 88.0  # a wording that covers at least 40 % of the words: a label, not a word inside prose


def header_hits(text: str) -> set[str]:
    """The fields whose wording a short piece of header text holds whole and mostly is (used to find
    header lines: `de projet de la démarche` in a body cell is no `Projet` label)."""
    return {f for f, s in field_scores(text).items() if s >= HIT_SCORE}


def map_columns(headers: list[str]) -> list[ColumnMapping]:
    """One mapping per header cell; each field is given to at most one column, best score first."""
    scored = [(s, i, f) for i, h in enumerate(headers) for f, s in field_scores(h).items()]
    scored.sort(key=lambda t: (-t[0], t[1]))
    taken: dict[int, tuple[str, float]] = {}
    used: set[str] = set()
    for s, i, f in scored:
        if i in taken or f in used or s < 84:
            continue
        taken[i] = (f, s)
        used.add(f)
    out = []
    for i, h in enumerate(headers):
        field, score = taken.get(i, ("", 0.0))
        m = ColumnMapping(index=i, header=h, field=field or None, score=score)
        if field == "financement_ami":
            m.nature, m.periode = ami_nature(h), ami_period(h)
        if field in ("cout_total", "financement_ami", "cofinancement"):
            m.multiplier = header_multiplier(h)
        out.append(m)
    return out


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


def ami_nature(header: str) -> Nature:
    """Whether the AMI column holds requested, granted or previously obtained amounts."""
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
