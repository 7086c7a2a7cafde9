"""Safe OCR repairs of amount cells, and the low-confidence check on OCR'd amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import ActionLine, Amount, Annex, Convention, DocumentFields, Parties, Provenance, TotalRow
from normalize.amounts import parse_amount
from normalize.ocr_repair import parse_ocr_amount, repair_amount_text
from reconcile.ocr_checks import LOW_CONFIDENCE, low_confidence_amounts


@pytest.mark.parametrize(
    ("raw", "value", "repaired"),
    [
        ("1O0 000 €", Decimal(100000), True),
        ("l5 000 €", Decimal(15000), True),
        ("10 OOO €", Decimal(10000), True),
        ("I 000 €", Decimal(1000), True),
        ("42.500 6", Decimal(42500), True),
        ("42.5006", Decimal(42500), True),
        ("110.0008", Decimal(110000), True),
        ("33 9006", Decimal(33900), True),
        ("42000 6", Decimal(42000), True),
        ("15 000,006", Decimal("15000.00"), True),
        ("1819 100 €", Decimal(1819100), True),  # one thousands separator not seen
        ("1 819100 €", Decimal(1819100), True),
        ("420006", Decimal(420006), False),  # no separator tells the 6 apart: read as printed, left to the checks
        ("110.000 €", Decimal(110000), False),
        ("3 500€", Decimal(3500), False),
        ("28.000 € (dont 8 000 pour Habitat) (MSB)", Decimal(28000), False),
    ],
)
def test_safe_repairs(raw: str, value: Decimal, repaired: bool) -> None:
    a = parse_ocr_amount(raw, 91.0)
    assert a.value == value
    assert bool(a.repairs) is repaired
    assert a.raw == raw and a.min_conf == 91.0


@pytest.mark.parametrize(
    "raw", ["l'association", "A préciser", "IO", "l O", "Ville de Lille", "Région (CD)", "12 5000", "2023 2024"]
)
def test_text_is_never_turned_into_digits(raw: str) -> None:
    a = parse_ocr_amount(raw, 90.0)
    assert a.value is None and not a.repairs


def test_absent_marker_stays_absent() -> None:
    a = parse_ocr_amount("-", 80.0)
    assert a.absent and a.value is None


_grouped = st.integers(min_value=1000, max_value=99_999_999).flatmap(
    lambda n: st.sampled_from([" ", ".", "\u202f"]).map(lambda sep: (n, f"{n:,}".replace(",", sep)))
)


@given(_grouped, st.sampled_from(["", " €", "€", " euros"]))
def test_clean_amounts_are_left_alone(case: tuple[int, str], currency: str) -> None:
    n, text = case
    assert repair_amount_text(text + currency) == (text + currency, [])
    assert parse_ocr_amount(text + currency, 95.0).value == Decimal(n)


@given(_grouped, st.data())
def test_a_zero_read_as_letter_o_is_repaired(case: tuple[int, str], data: st.DataObject) -> None:
    n, text = case
    zeros = [k for k, c in enumerate(text) if c == "0"]
    if not zeros:
        return
    k = data.draw(st.sampled_from(zeros))
    a = parse_ocr_amount(text[:k] + "O" + text[k + 1 :] + " €", 80.0)
    assert a.value == Decimal(n) and a.repairs


@given(_grouped, st.sampled_from(["6", "8"]))
def test_a_euro_read_as_digit_after_a_grouped_amount_is_dropped(case: tuple[int, str], digit: str) -> None:
    n, text = case
    a = parse_ocr_amount(f"{text} {digit}", 80.0)
    assert a.value == Decimal(n) and a.repairs
    assert parse_amount(f"{text} {digit}").value != Decimal(n)  # the plain parser would not have read it


# ---------------------------------------------------------------- low-confidence check


def _prov() -> Provenance:
    return Provenance(file="scan.pdf", sha256="0" * 64, page=4)


def _convention(conf_row: float | None, conf_total: float | None) -> Convention:
    row = ActionLine(
        annexe="1",
        ligne=1,
        page=4,
        financement_ami=Amount(raw="42.500 €", value=Decimal(42500), min_conf=conf_row),
        cofinancement=Amount(raw="-", absent=True, min_conf=20.0),
        provenance=_prov(),
    )
    total = TotalRow(
        label="TOTAL",
        role="total_annexe",
        amounts={"financement_ami": Amount(raw="42.500 €", value=Decimal(42500), min_conf=conf_total)},
        provenance=_prov(),
    )
    annex = Annex(annexe="1", pages=[4], columns=[], lines=[row], totals=[total])
    return Convention(
        fichier="scan.pdf", sha256="0" * 64, pages=5, fields=DocumentFields(), parties=Parties(), annexes=[annex]
    )


def test_low_confidence_amounts_are_flagged_for_a_look_at_the_scan() -> None:
    flags = low_confidence_amounts(_convention(41.0, 12.0))
    assert [(f.code, f.gravite, f.annexe, f.ligne, f.trouve) for f in flags] == [
        ("AMOUNT_UNPARSED", "alerte", "1", 1, "42500"),
        ("AMOUNT_UNPARSED", "alerte", "1", None, "42500"),
    ]
    assert "confiance faible (41 %)" in flags[0].message and "scanné" in flags[0].message


def test_confident_or_born_digital_amounts_raise_nothing() -> None:
    assert low_confidence_amounts(_convention(LOW_CONFIDENCE + 1, 97.0)) == []
    assert low_confidence_amounts(_convention(None, None)) == []
