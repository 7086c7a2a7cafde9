"""Text clean-up shared by the stages: accents, whitespace, line-break hyphenation."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"})
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)


def strip_accents(text: str) -> str:
    """`Métropole` -> `Metropole`."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """Lower-case, accent-free, one kind of dash and apostrophe, whitespace collapsed (memoised: a cell
    is folded by several readers)."""
    return " ".join(strip_accents(text).translate(_DASHES).translate(_QUOTES).casefold().split())


def clean(text: str) -> str:
    """Whitespace collapsed (NBSP included), ends stripped."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def lexicon(texts: list[str]) -> set[str]:
    """Every word of the document, folded, hyphenated compounds kept whole."""
    words: set[str] = set()
    for t in texts:
        words.update(m.group(0).strip("-'").casefold() for m in _WORD.finditer(t.translate(_DASHES)))
    return words


_SHORT_PREFIXES = {
    "co",
    "re",
    "ré",
    "pré",
    "pre",
    "sous",
    "non",
    "anti",
    "multi",
    "inter",
    "auto",
    "semi",
    "ex",
    "post",
}


# words that open longer words more often than they stand beside one (`pour-` / `suite`)
_JOINING_HEADS = {"pour", "entre", "contre", "avant", "main", "long", "porte", "tout"}


def _used_alone(word: str, vocab: set[str]) -> bool:
    """Whether the document writes `word` as a word of its own (`aller` in `d'aller`)."""
    return word in vocab or any(w.endswith(("'" + word, "’" + word)) for w in vocab)


def join_lines(lines: list[str], words: set[str] | None = None) -> str:
    """Lines of one cell joined by spaces; a word cut by a line-break hyphen is mended
    (`Mar-` + `seille` -> `Marseille`) unless the hyphen belongs to the word (`co-financement`)."""
    out = ""
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if not out:
            out = line
            continue
        m = re.search(r"(\w+)-$", out)
        if m and not out.endswith(" -") and line[:1].isalpha():
            first = re.match(r"[\w'-]+", line)
            nxt = first.group(0) if first else ""
            head = m.group(1)
            hyphenated, joined = f"{head}-{nxt}".casefold(), f"{head}{nxt}".casefold()
            vocab = words or set()
            keep = (
                hyphenated in vocab
                or any(w.startswith(hyphenated) or w.endswith(hyphenated) for w in vocab if "-" in w)
                or "-" in nxt
                or (joined not in vocab and (nxt[:1].isupper() or head.casefold() in _SHORT_PREFIXES))
                # two words the document uses on their own, never joined (`bailleurs-` / `locataires`)
                or (
                    joined not in vocab
                    and min(len(head), len(nxt)) >= 4
                    and head.casefold() not in _JOINING_HEADS
                    and _used_alone(head.casefold(), vocab)
                    and _used_alone(nxt.casefold(), vocab)
                )
            )
            if joined in vocab and hyphenated not in vocab:
                keep = False
            out = out + line if keep else out[:-1] + line
        else:
            out = out + " " + line
    return clean(out)
