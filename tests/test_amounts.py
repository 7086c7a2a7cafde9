"""The French amount parser, on every format the conventions print, and as a property."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from normalize.amounts import find_amounts, format_amount, parse_amount, plain

EXAMPLES = [
    ("1 305 720 €", Decimal("1305720")),
    ("15 000,00 €", Decimal("15000")),
    ("20.000,00 €", Decimal("20000")),
    ("150 000 euros", Decimal("150000")),
    ("1\u00a0305\u00a0720\u00a0€", Decimal("1305720")),
    ("1\u202f305\u202f720 €", Decimal("1305720")),
    ("114.000 €", Decimal("114000")),
    ("1.189.100 €", Decimal("1189100")),
    ("70000", Decimal("70000")),
    ("5000€", Decimal("5000")),
    ("150 k€", Decimal("150000")),
    ("1,5 k€", Decimal("1500")),
    ("12 500 EUR", Decimal("12500")),
    ("15000.50", Decimal("15000.50")),
    ("0 €", Decimal("0")),
]


@pytest.mark.parametrize(("raw", "value"), EXAMPLES)
def test_parses_french_amounts(raw: str, value: Decimal) -> None:
    a = parse_amount(raw)
    assert a.value == value
    assert a.raw == " ".join(raw.split())


@pytest.mark.parametrize("raw", ["-", "", "  ", "–", "—", "néant"])
def test_dash_and_empty_are_absent(raw: str) -> None:
    a = parse_amount(raw)
    assert a.absent and a.value is None and not a.unreadable


@pytest.mark.parametrize("raw", ["A préciser", "70000 35000", "12C1", "voir annexe"])
def test_text_is_unreadable_not_a_number(raw: str) -> None:
    a = parse_amount(raw)
    assert a.value is None and a.unreadable


def test_amount_followed_by_breakdown_and_sources() -> None:
    a = parse_amount("75000 (dont 23 000 pour la Ville) (AMP)")
    assert a.value == Decimal("75000")
    assert a.sources == "AMP"
    assert "dont 23 000" in a.note


def test_finds_amounts_in_running_text() -> None:
    text = "s'élève à un montant prévisionnel maximal de 479 000 €, au regard du coût éligible de 980 000 €."
    assert [a.value for _, _, a in find_amounts(text)] == [Decimal("479000"), Decimal("980000")]


def test_plain_and_display_formats() -> None:
    assert plain(Decimal("1305720.00")) == "1305720"
    assert plain(Decimal("15000.50")) == "15000.5"
    assert plain(None) == ""
    assert format_amount(Decimal("388000")) == "388\u202f000 €"


def _french(value: Decimal, sep: str, decimals: bool, unit: str) -> str:
    whole = int(value)
    groups = f"{whole:,}".replace(",", sep)
    cents = f",{int((value - whole) * 100):02d}" if decimals else ""
    return f"{groups}{cents}{unit}"


@given(
    euros=st.integers(min_value=0, max_value=999_999_999),
    cents=st.integers(min_value=0, max_value=99),
    sep=st.sampled_from([" ", "\u00a0", "\u202f", "."]),
    decimals=st.booleans(),
    unit=st.sampled_from(["", " €", "€", " euros", " EUR"]),
)
def test_any_french_rendering_parses_back(euros: int, cents: int, sep: str, decimals: bool, unit: str) -> None:
    value = Decimal(euros) + (Decimal(cents) / 100 if decimals else 0)
    text = _french(value, sep, decimals, unit)
    if sep == "." and euros < 1000 and not decimals:
        return  # "999" has no separator: nothing to tell apart
    assert parse_amount(text).value == value, text


@given(st.text(alphabet=st.characters(blacklist_categories=["Nd"]), max_size=30))
def test_text_without_digits_is_never_a_number(text: str) -> None:
    assert parse_amount(text).value is None


def test_single_amount_written_inside_the_cell_text() -> None:
    a = parse_amount("Financement autres CLLAJ + cofinancement des apprentis (17 000 euros). (AMP)")
    assert a.value == Decimal("17000") and a.sources == "AMP"
    assert parse_amount("voir 2 000 € et 3 000 €").unreadable


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1305 721", Decimal("1305721")),  # a spreadsheet format that groups the last digits only
        ("1305 721,50 €", Decimal("1305721.50")),
        ("1\u00a0305\u00a0721 €", Decimal("1305721")),
        ("1\u202f305\u202f721 €", Decimal("1305721")),
        ("1\u2009305\u2009721", Decimal("1305721")),
        ("-   1 200,00 €", Decimal("-1200.00")),  # accounting format: the sign set apart from the digits
        ("  45 000,00 €  ", Decimal("45000.00")),
        ("47,5", Decimal("47.5")),  # a k€ column: the multiplier comes from the header
    ],
)
def test_spreadsheet_number_formats(raw: str, value: Decimal) -> None:
    assert parse_amount(raw).value == value


@pytest.mark.parametrize("raw", ["-   €", "- €", "-", " - "])
def test_spreadsheet_zero_or_absent(raw: str) -> None:
    assert parse_amount(raw).absent


@pytest.mark.parametrize("raw", ["13 05 721", "12345 678", "70000 35000"])
def test_irregular_groups_that_are_no_number(raw: str) -> None:
    assert parse_amount(raw).value is None
