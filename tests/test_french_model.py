"""The French model's whole-word expression compiled on demand answers as the whole expression does."""

from __future__ import annotations

import re

import pytest

from normalize.french_model import LazyAlternation, lazy_long_patterns, literal_start, load_french, split_alternatives


def test_alternatives_split_at_top_level_only() -> None:
    body = r"(?:^a[|)]b)|(?:^c\|d)|(?:^(?:e|f)g)|^h[]|]i"
    assert split_alternatives(body) == [r"(?:^a[|)]b)", r"(?:^c\|d)", r"(?:^(?:e|f)g)", r"^h[]|]i"]
    assert split_alternatives("(?:^a|b") is None
    assert split_alternatives("^a[b") is None


@pytest.mark.parametrize(
    ("alternative", "start"),
    [
        (r"(?:^saint[-–]denis)", "saint"),
        (r"(?:^droits?[-]de)", "droit"),
        (r"(?:^[ée]tats[-]uni)", ""),
        (r"(?:^(?:re)?doubles?)", ""),
        (r"(?:^La Chapelle[-])", "La Chapelle"),
        (r"^ab+c", "ab"),
        (r"(?:^a)(?:b)", ""),  # two groups, not one wrapping the whole
    ],
)
def test_literal_start(alternative: str, start: str) -> None:
    assert literal_start(alternative) == start


def test_long_patterns_are_lazy_only_while_loading() -> None:
    long = "(?iu)" + "|".join(f"(?:^w{k}[-]x)" for k in range(100))
    with lazy_long_patterns(min_chars=1000):
        lazy = re.compile(long)
        short = re.compile("(?iu)^a|^b")
    assert isinstance(lazy, LazyAlternation)
    assert isinstance(short, re.Pattern)
    assert isinstance(re.compile(long), re.Pattern)  # after loading, `re` is itself again
    assert lazy.match("W17-x") and not lazy.match("w17x")


@pytest.fixture(scope="module")
def french_match() -> tuple[LazyAlternation, re.Pattern[str]]:
    token_match = load_french().tokenizer.token_match
    lazy = token_match.__self__  # type: ignore[union-attr]
    assert isinstance(lazy, LazyAlternation), "the model's expression was compiled whole at load"
    return lazy, re.compile(lazy.pattern, lazy.flags)


def _words(lazy: LazyAlternation) -> set[str]:
    words = {"Saint-Denis", "Aix-en-Provence", "l'État", "aller-vers", "peut-être", "États-Unis", "ÉTATS-UNIS"}
    words |= {"ſaint-denis", "\u212aing-size", "droits-de-l'homme", "co-financement", "sous-location", "mi-temps"}
    for start in set(lazy.starts):
        for tail in ("-vampire", "-de-l'air", "'abat", "-Denis", "", "-", "s-x", "-en-provence", "\u2011ski", "x"):
            words |= {start + tail, start.upper() + tail, start.capitalize() + tail}
    return words


def test_lazy_french_expression_matches_as_the_whole(french_match: tuple[LazyAlternation, re.Pattern[str]]) -> None:
    lazy, whole = french_match
    words = _words(lazy)
    expected = {w for w in words if whole.match(w)}
    assert len(expected) > 100  # the comparison covers both answers
    assert {w for w in words if lazy.match(w)} == expected


def test_french_tokens_unchanged(french_match: tuple[LazyAlternation, re.Pattern[str]]) -> None:
    nlp = load_french()
    text = (
        "Article 3 : le soutien de l'État s'élève à 150 000 € pour l'aller-vers à Saint-Denis et à "
        "Aix-en-Provence, peut-être au-delà ; c'est-à-dire l'avant-projet du co-financement."
    )
    lazy_tokens = [t.text for t in nlp.make_doc(text)]
    tokenizer = nlp.tokenizer
    try:
        tokenizer.token_match = french_match[1].match
        whole_tokens = [t.text for t in nlp.make_doc(text)]
    finally:
        tokenizer.token_match = french_match[0].match
    assert lazy_tokens == whole_tokens
    assert "Saint-Denis" in lazy_tokens
