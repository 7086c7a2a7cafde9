"""Pilot cells to canonical codes: DDETS, EPCI, CD, VILLE:<Name>, or the body's acronym."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from models import Parties
from normalize.lexique import builtin_lexique
from normalize.parties import acronym_of, strip_article
from normalize.text import clean, fold

_STATE_SERVICE = re.compile(r"^(ddets|ddcs|ddetspp|deets|dreets|ddcspp|etat|l'etat|prefecture|services de l'etat)\b")
_DEPARTMENT = re.compile(r"^(cd|cd\d+|conseil departemental|departement|conseil general|cg)\b")
_CITY_PREFIX = re.compile(r"^(ville|commune|mairie)\b\s*(de\s+|d'\s*|du\s+|[-:]\s*)?(.*)$", re.IGNORECASE)
_LEADING_ACRONYM = re.compile(r"^([A-Z][A-Z0-9]{1,}(?:-[A-Z0-9]{2,})?)\b")
_EPCI_WORDS = re.compile(r"^(la\s+)?(metropole|communaute|agglomeration|agglo|epci|intercommunalite)$")
_BRACKETED_ACRONYM = re.compile(r"\(\s*([A-Z][A-Z0-9]{1,})\s*\)")
# bodies that are no place, whatever their capitals: their name is their code
_NOT_A_PLACE = re.compile(
    r"^(les\s+|l'|la\s+|le\s+)?(associations?|bailleurs?|fondation|federation|union|agence|office|centre|hopital"
    r"|caisse|region|universite|operateurs?|foyers?|residences?|groupement|collectif|partenaires|structures?"
    r"|services?|equipes?|plateforme|maison|mission|action logement|entreprises?|societe)\b"
)
# a place name: capitalised words, linked by particles (`Saint-Loup-sur-Marve`, `Aix en Provence`)
_PLACE_NAME = re.compile(
    r"^[A-ZÉÈÀÂÎÔ][\w’'-]*(?:[ -](?:(?:sur|sous|en|les|la|le|de|du|des|aux?|d['’]|l['’])[ -]?)*[A-ZÉÈÀÂÎÔ][\w’'-]*)*$"
)


def split_pilots(raw: str) -> list[str]:
    """`DDETS/AMP`, `AMP-DDETS`, `Marseille/aix`, `CD et DDETS` -> their parts."""
    text = clean(raw).replace("–", "-").replace("—", "-")
    pieces: list[str] = []
    for piece in re.split(r"\s*[/,;+&]\s*", text):
        # "Association Habitat et Humanisme" is one body; "CD et DDETS", "Marseille et Aix" are two
        words = re.split(r"\s+et\s+", piece)
        if len(words) > 1 and _NOT_A_PLACE.match(fold(words[0])) and not words[1].isupper():
            words = [piece]
        pieces.extend(words)
    parts: list[str] = []
    for p in pieces:
        p = p.strip(" -")
        if not p:
            continue
        if re.fullmatch(r"[A-Z0-9]{2,}(\s*-\s*[A-Z0-9]{2,})+", p):
            parts.extend(x.strip() for x in p.split("-"))
        else:
            parts.append(p)
    return parts


def _is_territory(part: str, parties: Parties) -> bool:
    name = fold(strip_article(part))
    names = [fold(strip_article(n)) for n in parties.aliases or [parties.territoire]]
    if not any(names):
        return False
    if any(fuzz.ratio(name, n) >= 88 for n in names if n) or _EPCI_WORDS.match(name):
        return True
    if part.isupper() and part.isalpha() and not any(fold(c) == name for c in parties.cities):
        names_of = parties.aliases or [parties.territoire]
        if part in parties.acronyms:
            return True
        if fold(part) in builtin_lexique().contenus.get("organismes", []):
            return False  # a body's own acronym (`CAF`), though its letters start the territory's name
        if any(acronym_of(part, n) for n in names_of):
            return True
        # one letter the OCR read for its look-alike (`CAPIN` for `CAPJN`)
        if len(part) < 4:
            return False
        return any(acronym_of(v, n) for v in _look_alikes(part) for n in names_of)
    return False


_LOOK_ALIKE = {"I": "JL", "J": "I", "L": "I", "O": "QD", "Q": "O", "D": "O", "U": "V", "V": "U", "E": "F", "F": "E"}


def _look_alikes(acronym: str) -> list[str]:
    """The acronym with one letter swapped for one the OCR confuses it with."""
    return [acronym[:i] + b + acronym[i + 1 :] for i, a in enumerate(acronym) for b in _LOOK_ALIKE.get(a, "")]


def _city(name: str, parties: Parties) -> str:
    """A city's name as the document writes it (`aix` -> `Aix-en-Provence`)."""
    name = name.strip(" -:")
    if not name:
        return parties.main_city
    f = fold(name)
    for c in parties.cities:
        if fold(c) == f:
            return c
    if not re.search(r"[\s-]", f):  # a short form (`aix`), never a full name the text may run on from
        for c in parties.cities:
            # `Aix-en-Provence`, `Aix en Provence`; not `Lormessac Renforcement` (a cell run into the next)
            if fold(c).startswith(f) and re.match(r"-|\s(?:sur|sous|en|les|la|le|de|du|des|d')\b", fold(c)[len(f) :]):
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
    m = _BRACKETED_ACRONYM.search(part)
    if m:
        return m.group(1)  # "Fondation pour le logement (FPL)"
    if _NOT_A_PLACE.match(f) or not _PLACE_NAME.match(part):
        return clean(part).upper()  # "Bailleurs sociaux", "Association Habitat et Humanisme"
    return "VILLE:" + _city(part, parties)


def canonical_pilots(raw: str, parties: Parties) -> list[str]:
    """Every pilot a cell names, in order, without repeats."""
    out: list[str] = []
    for part in split_pilots(raw):
        code = canonical_pilot(part, parties)
        if code and code not in out:
            out.append(code)
    return out
