"""The lexicon of concept words (normalize/lexique.toml), merged with an analyst's own file."""

from __future__ import annotations

import hashlib
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from normalize.text import fold


class LexiqueError(ValueError):
    """A lexicon file that cannot be read (French message for the analyst)."""


class Lexique(BaseModel):
    """Concept words of headers, weights of concepts per field, content words, status words, header labels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    concepts: dict[str, list[str]] = {}
    champs: dict[str, dict[str, float]] = {}
    contenus: dict[str, list[str]] = {}
    statuts: dict[str, list[str]] = {}
    statuts_faibles: dict[str, list[str]] = {}
    statuts_codes: dict[str, str] = {}
    evolutions: dict[str, list[str]] = {}
    libelles: dict[str, list[str]] = {}

    def merged(self, other: Lexique) -> Lexique:
        """This lexicon with `other`'s words added to each list and `other`'s weights and codes winning."""

        def lists(a: dict[str, list[str]], b: dict[str, list[str]]) -> dict[str, list[str]]:
            out = {k: list(v) for k, v in a.items()}
            for k, words in b.items():
                out[k] = list(dict.fromkeys([*out.get(k, []), *(fold(w) for w in words)]))
            return out

        champs = {k: dict(v) for k, v in self.champs.items()}
        for k, weights in other.champs.items():
            champs.setdefault(k, {}).update(weights)
        return Lexique(
            concepts=lists(self.concepts, other.concepts),
            champs=champs,
            contenus=lists(self.contenus, other.contenus),
            statuts=lists(self.statuts, other.statuts),
            statuts_faibles=lists(self.statuts_faibles, other.statuts_faibles),
            statuts_codes={**self.statuts_codes, **other.statuts_codes},
            evolutions=lists(self.evolutions, other.evolutions),
            libelles=lists(self.libelles, other.libelles),
        )

    def without(self, drop: set[str]) -> Lexique:
        """The same lexicon with the given (folded) entries removed everywhere (for generalisation tests)."""

        def keep(d: dict[str, list[str]]) -> dict[str, list[str]]:
            return {k: [w for w in v if w not in drop] for k, v in d.items()}

        return self.model_copy(
            update={
                "concepts": keep(self.concepts),
                "contenus": keep(self.contenus),
                "statuts": keep(self.statuts),
                "statuts_faibles": keep(self.statuts_faibles),
                "evolutions": keep(self.evolutions),
                "libelles": keep(self.libelles),
            }
        )


def parse_lexique(text: str, origin: str) -> Lexique:
    """A lexicon from TOML text; `LexiqueError` in French when it is not one."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise LexiqueError(f"lexique {origin} illisible : {e}") from None
    try:
        return Lexique.model_validate(data)
    except ValueError as e:
        raise LexiqueError(f"lexique {origin} mal formé : {e}") from None


@cache
def builtin_lexique() -> Lexique:
    """The lexicon shipped with the package."""
    text = resources.files("normalize").joinpath("lexique.toml").read_text(encoding="utf-8")
    return parse_lexique(text, "intégré")


def load_lexique(path: Path | None) -> Lexique:
    """The built-in lexicon, merged with an analyst's file when one is given."""
    base = builtin_lexique()
    if path is None:
        return base
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise LexiqueError(f"lexique {path} illisible : {e}") from None
    return base.merged(parse_lexique(text, str(path)))


def lexique_digest(path: Path | None) -> str:
    """The SHA-256 of an analyst's lexicon file ("" without one): part of the cache key."""
    if path is None:
        return ""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "illisible"
