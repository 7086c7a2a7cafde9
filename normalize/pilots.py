"""Pilot cells to canonical codes: DDETS, EPCI, CD, VILLE:<Name>, or the body's acronym."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from models import Parties
from normalize.parties import acronym_of
from normalize.text import clean, fold

_STATE_SERVICE = re.compile(r"^(ddets|ddcs|ddetspp|deets|dreets|ddcspp|etat|l'etat|prefecture|services de l'etat)\b")
_DEPARTMENT = re.compile(r"^(cd|cd\d+|conseil departemental|departement|conseil general|cg)\b")
_CITY_PREFIX = re.compile(r"^(ville|commune|mairie)\b\s*(de\s+|d'\s*|du\s+|[-:]\s*)?(.*)$", re.IGNORECASE)
_LEADING_ACRONYM = re.compile(r"^([A-Z][A-Z0-9]{1,}(?:-[A-Z0-9]{2,})?)\b")
_EPCI_WORDS = re.compile(r"^(la\s+)?(metropole|communaute|agglomeration|agglo|epci|intercommunalite)$")


def split_pilots(raw: str) -> list[str]:
    """`DDETS/AMP`, `AMP-DDETS`, `Marseille/aix`, `CD et DDETS` -> their parts."""
    text = clean(raw).replace("–", "-").replace("—", "-")
    parts: list[str] = []
    for p in re.split(r"\s*[/,;+&]\s*|\s+et\s+", text):
        p = p.strip(" -")
        if not p:
            continue
        if re.fullmatch(r"[A-Z0-9]{2,}(\s*-\s*[A-Z0-9]{2,})+", p):
            parts.extend(x.strip() for x in p.split("-"))
        else:
            parts.append(p)
    return parts


def _is_territory(part: str, parties: Parties) -> bool:
    name = fold(re.sub(r"^(la|le|l')\s*", "", part, flags=re.IGNORECASE))
    names = [
        fold(re.sub(r"^(la|le|l')\s*", "", n, flags=re.IGNORECASE)) for n in parties.aliases or [parties.territoire]
    ]
    if not any(names):
        return False
    if any(fuzz.ratio(name, n) >= 88 for n in names if n) or _EPCI_WORDS.match(name):
        return True
    if part.isupper() and part.isalpha() and not any(fold(c) == name for c in parties.cities):
        return part in parties.acronyms or any(acronym_of(part, n) for n in parties.aliases or [parties.territoire])
    return False


def _city(name: str, parties: Parties) -> str:
    """A city's name as the document writes it (`aix` -> `Aix-en-Provence`)."""
    name = name.strip(" -:")
    if not name:
        return parties.main_city
    f = fold(name)
    for c in parties.cities:
        if fold(c) == f:
            return c
    for c in parties.cities:
        if fold(c).startswith(f + "-") or fold(c).startswith(f + " "):
            return c
    return name[0].upper() + name[1:]


def canonical_pilot(part: str, parties: Parties) -> str:
    """One pilot's canonical code."""
    f = fold(part)
    if _STATE_SERVICE.match(f):
        return "DDETS"
    if _DEPARTMENT.match(f) or (parties.kind == "departement" and _is_territory(part, parties)):
        return "CD"
    if _is_territory(part, parties):
        return "EPCI"
    m = _CITY_PREFIX.match(part)
    if m:
        return "VILLE:" + _city(m.group(3), parties)
    if any(fold(c) == f for c in parties.cities):
        return "VILLE:" + _city(part, parties)
    m = _LEADING_ACRONYM.match(part)
    if m:
        # "CCAS de Pellerive", "ADIL 13", "SIAO (115)": the body is its acronym
        return m.group(1)
    if part[:1].islower() and len(part) <= 4:
        return "VILLE:" + _city(part, parties)
    if re.fullmatch(r"[\w'’ -]+", part) and part[:1].isalpha():
        return "VILLE:" + _city(part, parties)
    return part.upper()


def canonical_pilots(raw: str, parties: Parties) -> list[str]:
    """Every pilot a cell names, in order, without repeats."""
    out: list[str] = []
    for part in split_pilots(raw):
        code = canonical_pilot(part, parties)
        if code and code not in out:
            out.append(code)
    return out
