"""Status cells to the contract's codes, and how the AMI funding evolves, from the meaning of their
words (the lexicon's `[statuts]` and `[evolutions]`), accent, case and OCR tolerant."""

from __future__ import annotations

import re
from typing import cast

from rapidfuzz.distance import Levenshtein

from models.convention import Evolution, Statut
from normalize.lexique import Lexique, builtin_lexique
from normalize.text import fold

_Entries = list[tuple[str, list[str]]]  # (code, words of one entry)
_Index = dict[str, _Entries]  # the same, by the first two letters of their first word


def _split(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text).replace("œ", "oe"))


_COMPILED: dict[int, tuple[Lexique, tuple[_Index, _Index, _Index]]] = {}


def _index(entries: _Entries) -> _Index:
    out: _Index = {}
    for code, e in entries:
        out.setdefault(e[0][:2], []).append((code, e))
    return out


def _compiled(lex: Lexique) -> tuple[_Index, _Index, _Index]:
    """The lexicon's status entries cut into words (memoised per lexicon object)."""
    memo = _COMPILED.get(id(lex))
    if memo is not None and memo[0] is lex:
        return memo[1]

    def entries(d: dict[str, list[str]]) -> _Index:
        return _index([(code, _split(e)) for code, es in d.items() for e in es if _split(e)])

    out = entries(lex.statuts), entries(lex.statuts_faibles), entries(lex.evolutions)
    if len(_COMPILED) > 16:
        _COMPILED.clear()
    _COMPILED[id(lex)] = (lex, out)
    return out


_NOUN_SUFFIX = re.compile(r"(ement|ation|tion|ment)$")


def _word_is(entry: str, word: str) -> bool:
    """A word of the cell starts with the entry's stem (`abandon` in `abandonnée`), an OCR slip allowed
    on long stems (`abandonnéc`); a noun of the lexicon names its verb too (`renforcement`: `renforcée`)."""
    if word.startswith(entry):
        return True
    root = _NOUN_SUFFIX.sub("", entry)
    if root != entry and len(root) >= 5 and word.startswith(root) and len(word) <= len(root) + 3:
        return True
    # a slip, not another word of the family (`realisation` is no `realise`)
    if len(entry) < 6 or not len(entry) <= len(word) <= len(entry) + 2:
        return False
    return Levenshtein.distance(entry, word[: len(entry)], score_cutoff=1) <= 1 and entry[:2] == word[:2]


def _hits(words: list[str], entries: _Entries | _Index) -> list[tuple[int, int, str]]:
    """Every entry found as a run of consecutive words: (start, end, code), longer runs masking the
    shorter ones they cover (`non demarre` masks `demarre`)."""
    index = entries if isinstance(entries, dict) else _index(entries)
    found = []
    for i, first in enumerate(words):
        for code, e in index.get(first[:2], []):
            if i + len(e) > len(words):
                continue
            # a one-letter word of an entry (`a lancer`) must be that word exactly
            if all((w == words[i + k]) if len(w) <= 2 else _word_is(w, words[i + k]) for k, w in enumerate(e)):
                found.append((i, i + len(e), code))
    return [h for h in found if not any(o[0] <= h[0] and h[1] <= o[1] and o[1] - o[0] > h[1] - h[0] for o in found)]


def _first(words: list[str], entries: _Index, order: list[str]) -> str:
    codes = {code for _, _, code in _hits(words, entries)}
    return next((c for c in order if c in codes), "")


def statut(raw: str, lexique: Lexique | None = None) -> Statut:
    """`2-Action en cours` -> `en_cours`; empty when nothing is understood."""
    lex = lexique or builtin_lexique()
    words = _split(raw)
    if not words:
        return ""
    strong, weak, _ = _compiled(lex)
    code = _first(words, strong, list(lex.statuts))
    if code in ("", "en_cours") and _to_do(words):
        code = "a_lancer"  # `À démarrer`, `à engager`: what is still to be done, whatever the verb
    code = code or _first(words, weak, list(lex.statuts_faibles))
    if not code:
        m = re.match(r"^\s*(\d)\s*[-.)]", fold(raw))
        code = lex.statuts_codes.get(m.group(1), "") if m else ""
    if not code and len(words) <= 4 and evolution(raw, lex) in ("renouvellement", "augmentation"):
        code = "en_cours"  # a funding renewed or increased: the action goes on
    return cast(Statut, code) if code in ("a_lancer", "en_cours", "modifiee", "realisee", "abandonnee") else ""


def _to_do(words: list[str]) -> bool:
    """A status that opens on `à` and an infinitive (`À démarrer`, `1 - Action à mettre en oeuvre`): an
    action still to start (not `Nombre de logements à capter`, an indicator)."""
    lead = 0
    while lead < len(words) and (words[lead].isdigit() or words[lead] == "action"):
        lead += 1
    rest = words[lead:]
    return 2 <= len(rest) <= 5 and rest[0] == "a" and len(rest[1]) > 4 and rest[1].endswith(("er", "ir", "re"))


def evolution(raw: str, lexique: Lexique | None = None) -> Evolution:
    """`Renouvellement du financement` -> `renouvellement`, `Nouveau financement` -> `nouveau`."""
    lex = lexique or builtin_lexique()
    words = _split(raw)
    _, _, evolutions = _compiled(lex)
    code = _first(words, evolutions, list(lex.evolutions))
    return cast(Evolution, code) if code in ("nouveau", "renouvellement", "augmentation") else ""
