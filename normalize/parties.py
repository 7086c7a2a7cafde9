"""Who signs the document: the territory's own body, read from the parties' block."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from models import Parties
from normalize.text import clean, fold, lexicon

# Kind-of-body nouns (folded). An article before one of them belongs to the sentence ("la Métropole de
# Lyon"); an article before a proper noun belongs to the name ("Le Mans Métropole", "La Rochelle").
BODY_KINDS = frozenset(
    {
        "metropole",
        "eurometropole",
        "communaute",
        "agglomeration",
        "agglo",
        "departement",
        "conseil",
        "ville",
        "commune",
        "etablissement",
        "syndicat",
        "pole",
        "collectivite",
        "region",
        "territoire",
        "intercommunalite",
        "epci",
        "ept",
        "ca",
        "cc",
        "cu",
        "cd",
    }
)
# the nouns that make a party a territorial body when they head its name ("Dijon Métropole", "Ville de Mulhouse")
_HEADS = frozenset(
    {
        "metropole",
        "eurometropole",
        "communaute",
        "agglomeration",
        "agglo",
        "departement",
        "ville",
        "commune",
        "syndicat",
    }
)
_HEAD_PHRASES = (
    "conseil departemental",
    "conseil general",
    "etablissement public territorial",
    "pole metropolitain",
    "collectivite",
)
# words that qualify a kind of body ("Communauté urbaine", "Métropole européenne")
_KIND_QUALIFIERS = frozenset(
    {"communes", "urbaine", "europeenne", "departemental", "public", "territorial", "metropolitain", "general"}
)
_PARTICLES = frozenset({"de", "du", "des", "d", "la", "le", "les", "l", "et", "en", "sur", "sous", "aux", "au"})
_STATE = re.compile(r"^(l['’]\s*)?[ée]tat\b|^pr[ée]fe", re.IGNORECASE)
_LEADING_ARTICLE = re.compile(r"^(?:(la|le|les)\s+|(l)\s*['’]\s*)(?=(\w+))", re.IGNORECASE)
_NAME_PART = r"[A-ZÉÈÀÂÎÔ][\w’'-]*"
_LINK = r"(?:[- ](?:sur|sous|en|les|la|le|de|du|d['’])?[- ]?)"
_CITY = re.compile(
    r"\b(?:[Vv]ille|[Cc]ommune)\s*(?:\s+de\s+|\s+d['’]\s*|\s+du\s+|\s*[-–:]\s*)"
    rf"({_NAME_PART}(?:{_LINK}{_NAME_PART})*)"
)
_PLACE = re.compile(r"\b([A-ZÉÈÀ][a-zéèêëàâîïôöûüç]+(?:-(?:[a-zéèàâ]+-)*[A-ZÉÈÀ][a-zéèêëàâîïôöûüç]+)+)\b")
# where a party's name ends: its description starts
_NAME_END = re.compile(
    r",|;|\s\(|\s+\d|\s+(?:repr[ée]sent[ée]e?s?|sise?s?|situ[ée]e?|domicili[ée]e?|dont le si[èe]ge|ayant son si[èe]ge"
    r"|ci-apr[èe]s|en la personne|agissant|d[ûu]ment|habilit[ée]e?|N°\s*SIRET)\b",
    re.IGNORECASE,
)
# the formula that closes the parties (OCR may glue or mark its words: `Ilest convenu`, `Il'est convenu`)
_AGREED = re.compile(r"\b[il1][l1]\W{0,2}\s*(?:est|a\s*été)\s+convenu", re.IGNORECASE)
# between parties: "d'une part", "d'autre part", a line or a sentence that starts with "Et"
_PARTY_SPLIT = re.compile(
    r"d['’]une\s+part\s*[,;]?|d['’]autre\s+part\s*[,;.]?"
    r"|(?:^|\n)[ \t]*(?:Et|ET|et)\b[ \t]*:?[ \t]*(?=\n|[A-ZÉÈÀ]|(?:[lL]['’]|[lL]a\s|[lL]es?\s)\s*[A-ZÉÈÀ])"
    r"|,\s*(?:Et|ET|et)\s+(?=[A-ZÉÈÀ])"
    r"|\bet\s+(?=(?:[lL]['’]|[lL]a\s|[lL]es?\s)\s*[A-ZÉÈÀ])"
)
_ALIAS = re.compile(
    r"ci-apr[èe]s\s+(?:par les termes|d[ée]nomm[ée]e?|d[ée]sign[ée]e?|appel[ée]e?)?\s*:?\s*"
    r"[«\"“]\s*([^»\"”]{2,80}?)\s*[»\"”]",
    re.IGNORECASE,
)
_ACCENTS = {
    "a": "aàâä",
    "c": "cç",
    "e": "eéèêë",
    "i": "iîï",
    "o": "oôö",
    "u": "uùûü",
    "y": "yÿ",
}
# accents a name written in capitals has lost, for the words of body kinds
_KIND_SPELLING = {
    "metropole": "Métropole",
    "eurometropole": "Eurométropole",
    "communaute": "Communauté",
    "agglomeration": "agglomération",
    "departement": "Département",
    "departemental": "départemental",
    "europeenne": "européenne",
    "urbaine": "urbaine",
    "communes": "communes",
    "etablissement": "Établissement",
    "collectivite": "Collectivité",
}


def _tokens(name: str) -> list[str]:
    """Folded words of a name, split at spaces, dashes and apostrophes."""
    return [w for w in re.split(r"[\s'’-]+", fold(name)) if w]


def strip_article(name: str) -> str:
    """Drop a leading article or elision when a kind of body follows (`la Métropole de Lyon`), never
    when it belongs to the name (`Le Mans Métropole`, `La Rochelle`, `Laval`)."""
    name = name.strip()
    m = _LEADING_ARTICLE.match(name)
    if not m:
        return name
    following = m.group(3)
    if fold(following) in BODY_KINDS or following[:1].islower():
        rest = name[m.end() :]
        return rest[:1].upper() + rest[1:]
    return name


def _body_score(name: str) -> int:
    """2 when a kind of body heads the name (`Métropole de X`, `X Métropole`), 1 when it is a complement
    (`Office de l'habitat de la Métropole`), 0 otherwise."""
    words = _tokens(strip_article(name))
    text = " ".join(words)
    if not words:
        return 0
    if any(text.startswith(p) for p in _HEAD_PHRASES) or words[0] in _HEADS:
        return 2
    score = 0
    for i, w in enumerate(words):
        if w in _HEADS or (i + 1 < len(words) and f"{w} {words[i + 1]}" in _HEAD_PHRASES):
            if i > 0 and words[i - 1] in _PARTICLES:
                score = max(score, 1)
            else:
                return 2
    return score


def _has_proper_word(name: str) -> bool:
    """True when a name holds more than kind words and articles (`Dijon Métropole`, not `la Métropole`)."""
    return any(w not in BODY_KINDS and w not in _PARTICLES and len(w) > 1 for w in _tokens(name))


def _pattern(name: str) -> str:
    """A regex that finds `name` in a text whatever its case, accents and line breaks."""
    out = []
    for ch in clean(name):
        base = fold(ch)
        if ch.isspace():
            out.append(r"\s+")
        elif base in "-‐–":
            out.append(r"\s*[-‐–]\s*")
        elif base == "'":
            out.append(r"\s*['’]\s*")
        elif base.isalpha() and len(base) == 1:
            variants = _ACCENTS.get(base, base)
            out.append("[" + variants + variants.upper() + "]")
        else:
            out.append(re.escape(ch))
    return r"(?<!\w)" + "".join(out) + r"(?!\w)"


def _title_case(name: str) -> str:
    """A name printed in capitals, written as a name (`COMMUNAUTE D'AGGLOMERATION DE LAVAL` ->
    `Communauté d'agglomération de Laval`), when the document never writes it otherwise."""
    parts = re.split(r"(\s+|-|['’])", name.lower())
    out: list[str] = []
    for i, part in enumerate(parts):
        word = fold(part)
        if not part or not part.strip() or part in "-'’":
            out.append(part)
            continue
        first = not any(p.strip(" -'’") for p in out)
        if word in _KIND_SPELLING:
            spelled = _KIND_SPELLING[word]
            out.append(spelled[:1].upper() + spelled[1:] if first else spelled)
        elif word in _PARTICLES and not first and i + 1 < len(parts):
            out.append(part)
        else:
            out.append(part[:1].upper() + part[1:])
    return "".join(out)


def in_capitals(name: str) -> bool:
    """True when every word of a name but its particles is printed in capitals (`MÉTROPOLE de DIJON`)."""
    words = [w for w in re.findall(r"\w+", name) if fold(w) not in _PARTICLES and not w.isdigit()]
    return bool(words) and all(w.isupper() for w in words)


def recase(name: str, text: str) -> str:
    """A name printed in capitals as the document writes it elsewhere, else in name case."""
    if not in_capitals(name) or (len(name) <= 6 and " " not in name):
        return name
    if re.search(r"\sET\s", name):  # joint parties, each written on its own elsewhere
        return " et ".join(recase(part, text) for part in re.split(r"\s+ET\s+", name))
    for m in re.finditer(_pattern(name), text):
        if not in_capitals(m.group(0)):
            return clean(m.group(0))
    return _title_case(name)


def _mend(text: str) -> str:
    """Words cut by a line-break hyphen mended (`Métro-` `pole`) unless the hyphen is the word's
    (`Aix-` `Marseille`): the document's own vocabulary decides."""
    words = lexicon([text])

    def repl(m: re.Match[str]) -> str:
        head, nxt = m.group(1), m.group(2)
        joined, hyphenated = f"{head}{nxt}".casefold(), f"{head}-{nxt}".casefold()
        if joined in words and hyphenated not in words:
            return head + nxt
        return f"{head}-{nxt}"

    return re.sub(r"(\w+)-[ \t]*\n\s*(\w+)", repl, text)


@dataclass
class _Party:
    name: str
    segment: str


def _parties(text: str, loose: bool = False) -> list[_Party]:
    """The parties, from `Entre … d'une part, Et … d'autre part`, each with the text that describes it;
    without an `Entre`, none (or, `loose`, the pieces of the first page)."""
    m = re.search(r"(?:^|\n)[ \t]*(?:Entre|ENTRE)\b", text) or re.search(r"\bEntre\b", text)
    if not m and not loose:
        return []
    start = m.end() if m else 0
    end = _AGREED.search(text[start:])
    block = text[start : start + end.start()] if end else text[start : start + 3000]
    if not end and (last := list(re.finditer(r"d['’]autre\s+part", block))):
        block = block[: last[-1].end()]  # no closing formula: the parties end with the last `d'autre part`
    parties = []
    for seg in _PARTY_SPLIT.split(block):
        seg = re.sub(r"^\s*(?:(?:et|Et|ET)\b)?\s*:?\s*", "", seg)
        name = clean(_NAME_END.split(clean(seg))[0]).strip(" .:")
        name = strip_article(name)
        if name:
            parties.append(_Party(name[0].upper() + name[1:], seg))
    return parties


def _from_title(text: str) -> str:
    """The body a title names (`CONVENTION … CONCLUE AVEC LA METROPOLE DE LYON`), its name on one or two lines."""
    m = re.search(r"(?:(?i:CONCLUE?S?\s+AVEC)|ENTRE\s+L['’]\s*[EÉ]TAT\s+ET)\s+([^\n]+)(?:\n([^\n]*))?", text)
    if not m:
        return ""
    name, nxt = m.group(1).strip(), (m.group(2) or "").strip()
    cut = re.search(r"\b(?:retenue?|RETENUE?|dans le cadre|DANS LE CADRE)\b|[«(]", nxt)
    nxt = nxt[: cut.start()] if cut else nxt
    if nxt and not any(c.islower() for c in nxt) and not re.match(r"\d|AMI\b|ENTRE\b", nxt):
        # a title in capitals may go on over the next line: when it stops on a particle or a dash, or
        # when the document writes the longer name elsewhere
        joined = f"{name} {nxt}"
        written = any(not in_capitals(w.group(0)) for w in re.finditer(_pattern(clean(joined)), text))
        if written or re.search(r"(?:\b(?:DE|DU|DES|LA|LE|LES|ET|D|L)|[-'’])$", name):
            name = joined
    name = re.split(r"\s+(?:retenue?|dans le cadre)\b", clean(name), flags=re.IGNORECASE)[0].strip(" .;:,")
    return " ET ".join(strip_article(part) for part in name.split(" ET "))


def acronym_of(acronym: str, name: str) -> bool:
    """True when `acronym` abbreviates `name` (`CAAB` for Communauté d'agglomération d'Aubrelac)."""
    words = [
        w for w in re.split(r"[\s'’-]+", fold(name)) if w and w not in {"de", "du", "des", "la", "le", "d", "l", "et"}
    ]
    letters = fold(acronym).replace(".", "")
    if len(letters) < 2 or not words:
        return False

    def match(i: int, w: int, pos: int, initials: int) -> bool:
        if i == len(letters):
            return initials >= 2 or len(words) == 1
        # the next letter either continues the current word or starts a later one
        if w < len(words):
            word = words[w]
            k = word.find(letters[i], pos)
            if pos > 0 and k >= 0 and match(i + 1, w, k + 1, initials):
                return True
        for w2 in range(w + (1 if pos > 0 else 0), len(words)):
            if words[w2].startswith(letters[i]) and match(i + 1, w2, 1, initials + 1):
                return True
        return False

    return match(0, 0, 0, 0)


def _alias(segment: str, text: str) -> str:
    """The name a party's own description gives it (`désignée ci-après par les termes « Dijon Métropole »`),
    when it names the body rather than its kind (`« la Métropole »` names nothing)."""
    m = _ALIAS.search(clean(segment))
    if not m:
        return ""
    alias = recase(strip_article(clean(m.group(1))), text)
    alias = alias[:1].upper() + alias[1:]
    return alias if _body_score(alias) == 2 and _has_proper_word(alias) else ""


def _score(p: _Party, text: str) -> int:
    """How surely a party is the territory's body, by its name or the name its description gives it;
    a party called by its kind alone (`la Métropole, représentée…`) names no territory."""
    return max((_body_score(n) for n in (p.name, _alias(p.segment, text)) if n and _has_proper_word(n)), default=0)


def _territory(parties: list[_Party], text: str) -> tuple[str, list[str]]:
    """The territory's name and the other names the document gives it; the territorial bodies that sign
    beside the State together (`Bordeaux Métropole et Département de la Gironde`)."""
    others = [p for p in parties if not _STATE.match(p.name)]
    scored = [(p, _score(p, text)) for p in others]
    best = max((s for _, s in scored), default=0)
    if best < 2:
        return "", []
    bodies = [p for p, s in scored if s == best]
    if len(others) < len(parties):  # beside the State: every body that signs is the territory
        chosen: list[_Party] = []
        for p in bodies:
            if all(territory_key(p.name) != territory_key(q.name) for q in chosen):
                chosen.append(p)
    else:
        chosen = bodies[:1]
    names, aliases = [], []
    for p in chosen:
        alias = _alias(p.segment, text)
        name = recase(p.name, text) if _has_proper_word(p.name) else ""
        for n in (alias, name):
            if n and n not in aliases:
                aliases.append(n)
        names.append(alias or name)
    return " et ".join(names), aliases


def read_parties(pages: list[str]) -> Parties:
    """The territory (the party that is not the State), its kind and the cities the text names."""
    head = _mend("\n".join(pages[:2]))
    parties = _parties(head)
    territoire, aliases = _territory(parties, head)
    if not territoire:
        # no party is a body by its name: the title's body, else a party that is one by a complement
        # (`Office de l'habitat de la Métropole`), else the first party that is not the State
        title = recase(_from_title(head), head)
        names = [p.name for p in (parties or _parties(head, loose=True)) if not _STATE.match(p.name)]
        some = sorted(names, key=lambda n: -_body_score(n) if _has_proper_word(n) else 0)
        territoire = title or (recase(some[0], head) if some else "")
        aliases = [territoire] if territoire else []
    territoire = re.sub(r"\s+", " ", territoire).strip(" .;:")
    kind = (
        "departement" if re.match(r"(d[ée]partement|conseil d[ée]partemental)", territoire, re.IGNORECASE) else "epci"
    )
    full = "\n".join(pages)
    cities = Counter(c for m in _CITY.finditer(full) if not (c := m.group(1).strip(" -’'")).isupper() or len(c) <= 3)
    places = Counter(m.group(1) for m in _PLACE.finditer(full))
    main_city = cities.most_common(1)[0][0] if cities else ""
    own = fold(" ".join(aliases))
    all_cities = list(dict.fromkeys([*cities, *(p for p in places if fold(p) not in own)]))
    for name in aliases:
        # the place in the body's own name ("d'Aubrelac", "Dijon Métropole", "Le Mans Métropole") is a city too
        for place in re.findall(
            r"(?:\bd['’]\s*|\bde\s+(?:la\s+|l['’]\s*)?|\bdu\s+|^)((?:L[ae]s?\s+)?[A-ZÉÈÀ][\w’'-]+)", name
        ):
            if not _body_score(place) and place not in all_cities:
                all_cities.append(place)
    return Parties(territoire=territoire, aliases=aliases, kind=kind, cities=all_cities, main_city=main_city)


# --- one name per territory across the documents of a batch ---------------------------------------------------------


def territory_key(name: str) -> str:
    """What two spellings of one territory share: folded words without articles and particles, in order
    of the alphabet (`la Métropole d'Aix-Marseille-Provence` = `Métropole Aix-Marseille-Provence`,
    `Dijon Métropole` = `Métropole de Dijon`); `Conseil départemental de X` is `Département de X`."""
    text = " ".join(_tokens(strip_article(name)))
    text = re.sub(r"\bconseil departemental\b", "departement", text)
    return " ".join(sorted(w for w in text.split() if w not in _PARTICLES))


def _proper(key: str) -> set[str]:
    """The words of a territory key that name the place, not the kind of body (`pays gravelune`)."""
    return set(key.split()) - BODY_KINDS - _KIND_QUALIFIERS


def _initials_of(acronym: str, name: str) -> bool:
    """True when `acronym` is made of the initials of `name`'s words, with or without its kind words."""
    words = [w for w in _tokens(name) if w not in _PARTICLES]
    letters = fold(acronym)
    return letters in {"".join(w[0] for w in words), "".join(w[0] for w in words if w not in BODY_KINDS)}


def _is_acronym(name: str) -> bool:
    return bool(re.fullmatch(r"[A-ZÉÈ]{2,8}", name.strip()))


@dataclass
class TerritoryGroups:
    """Each name found mapped to its territory's canonical name, and the pairs that may be one territory."""

    canonical: dict[str, str] = field(default_factory=dict)
    unsure: list[tuple[str, str]] = field(default_factory=list)


def group_territories(names: Iterable[str]) -> TerritoryGroups:
    """One canonical name for the names that are surely one territory (same words once folded, or an
    acronym of its initials); names that look alike but may differ are kept apart and listed as unsure.

    The canonical name is the spelling most documents use, then the shortest; a name in capitals last.
    """
    counts = Counter(n for n in names if n)
    groups: dict[str, list[str]] = {}
    for name in counts:
        groups.setdefault(territory_key(name) or fold(name), []).append(name)
    # an acronym joins the one territory whose initials it is
    for key in [k for k, members in groups.items() if all(_is_acronym(n) for n in members)]:
        targets = [
            k
            for k, members in groups.items()
            if k != key and any(_initials_of(a, m) for a in groups[key] for m in members if not _is_acronym(m))
        ]
        if len(targets) == 1:
            groups[targets[0]] += groups.pop(key)
    out = TerritoryGroups()
    chosen: dict[str, str] = {}
    for key, members in groups.items():
        best = min(members, key=lambda n: (in_capitals(n), -counts[n], len(n), n))
        chosen[key] = best
        for n in members:
            out.canonical[n] = best
    keys = sorted(chosen)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            pa, pb = _proper(a), _proper(b)
            related = pa == pb or (bool(pa & pb) and (pa < pb or pb < pa))
            related |= fuzz.ratio(" ".join(sorted(pa)), " ".join(sorted(pb))) >= 85
            acro = any(
                _is_acronym(x) and acronym_of(x, y) for x in (chosen[a], chosen[b]) for y in (chosen[a], chosen[b])
            )
            if related or acro:
                out.unsure.append((chosen[a], chosen[b]))
    return out
