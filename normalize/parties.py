"""Who signs the document: the territory's own body, read from the parties' block."""

from __future__ import annotations

import re
from collections import Counter

from models import Parties
from normalize.text import clean, fold

_BODY = re.compile(
    r"(m[ée]tropole|communaut[ée]|d[ée]partement|conseil d[ée]partemental|agglom[ée]ration|eurom[ée]tropole"
    r"|etablissement public territorial|ville de|commune de|syndicat|p[ôo]le m[ée]tropolitain|territoire)",
    re.IGNORECASE,
)
_STATE = re.compile(r"^(l['’]\s*)?[ée]tat\b|^pr[ée]fe", re.IGNORECASE)
_ARTICLE = re.compile(r"^(la|le|les|l['’])\s*", re.IGNORECASE)
_NAME_PART = r"[A-ZÉÈÀÂÎÔ][\w’'-]*"
_LINK = r"(?:[- ](?:sur|sous|en|les|la|le|de|du|d['’])?[- ]?)"
_CITY = re.compile(
    r"\b(?:[Vv]ille|[Cc]ommune)\s*(?:\s+de\s+|\s+d['’]\s*|\s+du\s+|\s*[-–:]\s*)"
    rf"({_NAME_PART}(?:{_LINK}{_NAME_PART})*)"
)
_PLACE = re.compile(r"\b([A-ZÉÈÀ][a-zéèêëàâîïôöûüç]+(?:-(?:[a-zéèàâ]+-)*[A-ZÉÈÀ][a-zéèêëàâîïôöûüç]+)+)\b")


def _party_names(text: str) -> list[str]:
    """Names of the parties, from `Entre … d'une part, Et … d'autre part`."""
    text = re.sub(r"(\w-)\s*\n\s*", r"\1", text)
    m = re.search(r"\bEntre\b\s*:?(.*?)(Il (est|a été) convenu|IL (EST|A ÉTÉ) CONVENU)", text, re.DOTALL)
    block = m.group(1) if m else text[:3000]
    segments = re.split(
        r"d['’]une part\s*,?|d['’]autre part\s*,?|\n\s*[Ee]t\s*:?\s*\n|\bet\s+(?=[lL]['’]|[lL]a |[lL]e )", block
    )
    names = []
    for seg in segments:
        seg = clean(re.sub(r"^\s*(et|Et|ET)\b\s*:?", "", seg.strip()))
        if not seg:
            continue
        name = re.split(r",|\s+représenté|\s+sis|\s+dont le siège|\s+ci-après|\s+\(", seg)[0]
        name = _ARTICLE.sub("", name).strip()
        if name:
            names.append(name[0].upper() + name[1:])
    return names


def _from_title(text: str) -> str:
    m = re.search(r"CONCLUE? AVEC\s+(?:LA |LE |L['’])?([^\n]+(?:\n[^\n]+)?)", text)
    if not m:
        return ""
    name = m.group(1).split("\n")
    first = name[0].strip()
    if len(name) > 1 and not re.search(r"retenue?|dans le cadre", name[1], re.IGNORECASE) and len(first) < 40:
        first += " " + name[1].strip()
    return first.title()


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


def read_parties(pages: list[str]) -> Parties:
    """The territory (the party that is not the State), its kind and the cities the text names."""
    head = "\n".join(pages[:2])
    names = [n for n in _party_names(head) if not _STATE.match(n)]
    territoire = next((n for n in names if _BODY.search(n)), "")
    if not territoire:
        territoire = _from_title(head) or (names[0] if names else "")
    territoire = re.sub(r"\s+", " ", territoire).strip(" .;:")
    aliases = [territoire] if territoire else []
    # "désignée ci-après par les termes « Dijon Métropole »": the name the document itself uses
    m = re.search(
        r"ci-apr[èe]s\s+(?:par les termes|d[ée]nomm[ée]e?|d[ée]sign[ée]e?)?\s*[«\"]\s*([^»\"]{3,80}?)\s*[»\"]",
        re.sub(r"(\w-)\s*\n\s*", r"\1", head).replace("\n", " "),
    )
    if m and territoire:
        alias = _ARTICLE.sub("", clean(m.group(1))).strip()
        alias = alias[:1].upper() + alias[1:]
        if alias and _BODY.search(alias) and alias not in aliases:
            aliases.insert(0, alias)
            territoire = alias
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
        # the place in the body's own name ("d'Aubrelac", "Dijon Métropole") is a city of the document too
        for place in re.findall(r"(?:\bd['’]\s*|\bde\s+(?:la\s+)?|\bdu\s+|^)([A-ZÉÈÀ][\w’'-]+)", name):
            if not _BODY.search(place) and place not in all_cities:
                all_cities.append(place)
    return Parties(territoire=territoire, aliases=aliases, kind=kind, cities=all_cities, main_city=main_city)
