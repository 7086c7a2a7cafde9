"""spaCy's French model, loaded without compiling its regular expression of whole words up front.

On import, `spacy.lang.fr` compiles one 1.4 MB expression: 266 alternatives, one per family of
hyphenated or elided words the tokenizer keeps whole (`faux-vampire`, `Saint-Denis`). Python's `re`
takes ~5 s of CPU for it, a fifth of a 45-document batch, while an article's tokens can only ever
match the few alternatives whose literal start they share. `LazyAlternation` answers the same
`match` as the whole expression, compiling each alternative when a token first could match it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language

MODEL = "fr_core_news_sm"
LAZY_MIN_CHARS = 100_000  # only an expression this long is worth splitting
_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")
_META = set("\\.^$*+?{}[]|()")
_QUANTIFIERS = set("?*{")
_LATIN1 = 0xFF  # below it, case-insensitive equality is `str.lower` equality (beyond, `ſ` is an `s`)


# what the bracket count skips whole (an escape, a class: `]` right after `[` or `[^` is a member) or
# counts; a `[` left alone is a class that never closes
_TOKENS = re.compile(r"\\.|\[\^?\]?(?:\\.|[^\]\\])*\]|[()|\[]", re.S)


def split_alternatives(body: str) -> list[str] | None:
    """The top-level alternatives of a regular expression (None when its brackets do not balance)."""
    out: list[str] = []
    depth, start = 0, 0
    for m in _TOKENS.finditer(body):
        c = m.group(0)
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return None
        elif c == "[":
            return None
        elif c == "|" and depth == 0:
            out.append(body[start : m.start()])
            start = m.end()
    if depth:
        return None
    out.append(body[start:])
    return out


def _wrapped(alternative: str) -> bool:
    """Whether an alternative is one group `(?:…)` from its first character to its last."""
    if not (alternative.startswith("(?:") and alternative.endswith(")")):
        return False
    depth = 0
    for m in _TOKENS.finditer(alternative):
        depth += {"(": 1, ")": -1}.get(m.group(0), 0)
        if depth == 0:
            return m.end() == len(alternative)
    return False


def literal_start(alternative: str) -> str:
    """The characters every match of an alternative starts with (`^saint[-–]…` -> `saint`; empty when
    it starts with a class, a group or an optional character)."""
    core = alternative
    while _wrapped(core):
        core = core[3:-1]
    core = core.removeprefix("^")
    out: list[str] = []
    for c in core:
        if c in _META or ord(c) > _LATIN1:
            if c in _QUANTIFIERS and out:
                out.pop()  # `droits?`: the `s` may be absent
            break
        out.append(c)
    return "".join(out)


@dataclass
class LazyAlternation:
    """`re.compile(pattern, flags)` for `(?flags)alt1|alt2|…`, each alternative compiled when needed."""

    pattern: str
    flags: int
    prefix: str  # the inline flags, repeated before each alternative
    alternatives: list[str]
    starts: list[str]  # each alternative's literal start, folded when the flags ignore case
    fold: bool
    _compiled: dict[int, re.Pattern[str]] = field(default_factory=dict)
    _by_first: dict[str, list[int]] = field(default_factory=dict)  # first character -> alternatives to try

    @classmethod
    def parse(cls, pattern: str, flags: int = 0) -> LazyAlternation | None:
        """The split form of a pattern, None when it is not a plain alternation (then compile it whole)."""
        m = _FLAGS.match(pattern)
        prefix = m.group(0) if m else ""
        inline = m.group(1) if m else ""
        if "x" in inline or flags & re.VERBOSE:
            return None  # spaces would not be literal
        alternatives = split_alternatives(pattern[len(prefix) :])
        if not alternatives or len(alternatives) < 2:
            return None
        fold = "i" in inline or bool(flags & re.IGNORECASE)
        starts = [literal_start(a) for a in alternatives]
        return cls(pattern, flags, prefix, alternatives, [s.lower() if fold else s for s in starts], fold)

    def _alternative(self, k: int) -> re.Pattern[str]:
        if k not in self._compiled:
            self._compiled[k] = re.compile(self.prefix + self.alternatives[k], self.flags)
        return self._compiled[k]

    def match(self, text: str) -> re.Match[str] | None:
        """A match at the start of `text` when the whole pattern has one (the first alternative's)."""
        key = text.lower() if self.fold else text
        if self.fold and any(ord(c) > _LATIN1 for c in text):  # `ſ`, `K`: case rules beyond `lower`
            candidates: Iterable[int] = (k for k, s in enumerate(self.starts) if not s or _starts(s, text))
        else:
            candidates = (k for k in self._starting_with(key[:1]) if key.startswith(self.starts[k]))
        for k in candidates:
            if (m := self._alternative(k).match(text)) is not None:
                return m
        return None

    def _starting_with(self, first: str) -> list[int]:
        """The alternatives whose literal start is empty or begins with `first`, in the pattern's order."""
        if first not in self._by_first:
            self._by_first[first] = [k for k, s in enumerate(self.starts) if not s or s[:1] == first]
        return self._by_first[first]


@lru_cache(maxsize=4096)
def _literal(start: str) -> re.Pattern[str]:
    return re.compile(re.escape(start), re.IGNORECASE)


def _starts(start: str, text: str) -> bool:
    """Whether `text` starts with `start` as a case-insensitive regular expression reads it."""
    return _literal(start).match(text) is not None


@lru_cache(maxsize=4)
def _lazy(pattern: str, flags: int) -> LazyAlternation | None:
    """One split form per pattern: the language's defaults and the model's tokenizer share it."""
    return LazyAlternation.parse(pattern, flags)


@contextmanager
def lazy_long_patterns(min_chars: int = LAZY_MIN_CHARS) -> Iterator[None]:
    """While loading, `re.compile` of a very long alternation gives a `LazyAlternation` instead."""
    real: Callable[..., Any] = re.compile

    def compile_(pattern: Any, flags: int = 0) -> Any:
        if isinstance(pattern, str) and len(pattern) >= min_chars:
            lazy = _lazy(pattern, flags)
            if lazy is not None:
                return lazy
        return real(pattern, flags)

    re.compile = compile_
    try:
        yield
    finally:
        re.compile = real


@lru_cache(maxsize=1)
def load_french() -> Language:
    """The French model with the components the role reading needs (no NER), loaded once per process."""
    import spacy

    with lazy_long_patterns():
        return spacy.load(MODEL, exclude=["ner"])
