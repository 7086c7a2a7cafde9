"""OCR-specific repairs of amount cells, made only where the misreading is unambiguous.

Tesseract reads `0` as `O`, `1` as `l` or `I` inside digit groups, and a `€` set apart from its
number as a lone `6` or `8`. Each repair is recorded on the amount (`Amount.repairs`, French, for
the analyst) and the raw text is kept; anything less certain is left for the checks to flag."""

from __future__ import annotations

import re

from models import Amount
from normalize.amounts import parse_amount

_SEP = " \u00a0\u202f"
_LOOKALIKE = {"O": "0", "o": "0", "l": "1", "I": "1", "|": "1"}
_LOOK = "".join(re.escape(c) for c in _LOOKALIKE)
# the amount at the head of the cell: digits, look-alikes, group separators; stops at text or brackets
_HEAD = re.compile(
    rf"^(?P<pre>\s*€?\s*)(?P<num>[\d{_LOOK}](?:[\d{_LOOK}{_SEP}.,]*[\d{_LOOK}])?)(?P<rest>.*)$", re.DOTALL
)
_GROUPED = re.compile(rf"^\d{{1,3}}(?:[{_SEP}.]\d{{3}})*(?:,\d{{1,2}})?$|^\d+(?:,\d{{1,2}})?$")
_EURO_AS_DIGIT = "68"


def _lookalikes(num: str) -> tuple[str, list[str]]:
    """Look-alike letters replaced by digits in a run that is mostly digits and, once repaired,
    a well-formed French amount (`1O0 000` -> `100 000`); anything else is left as read."""
    letters = [c for c in num if c in _LOOKALIKE]
    digits = sum(c.isdigit() for c in num)
    if not letters or digits == 0:
        return num, []
    fixed = "".join(_LOOKALIKE.get(c, c) for c in num)
    if not _GROUPED.match(fixed):
        return num, []
    return fixed, sorted({f"« {c} » lu pour « {_LOOKALIKE[c]} »" for c in letters})


def _euro_read_as_digit(num: str, rest: str) -> tuple[str, str, list[str]]:
    """`42.500 6` or `42.5006` where the grouping only holds without the last `6`/`8`: that digit was `€`."""
    if rest.strip().startswith("€") or not num or num[-1] not in _EURO_AS_DIGIT or _GROUPED.match(num):
        return num, rest, []
    head = num[:-1].rstrip(_SEP)
    if not head or not _GROUPED.match(head) or not any(c in _SEP + "." for c in head + num[-2:-1]):
        return num, rest, []
    note = f"« {num[-1]} » final lu pour « € » (le groupement des chiffres ne tient pas avec lui)"
    return head, " €" + rest, [note]


def _lost_separator(num: str) -> tuple[str, list[str]]:
    """`1819 100` where one thousands separator was not seen: every group after the first is whole
    thousands, so the digits can only be read one way (`1 819 100`)."""
    if _GROUPED.match(num):
        return num, []
    integer, comma, decimals = num.partition(",")
    for sep in _SEP + ".":
        groups = integer.split(sep) if sep in integer else []
        if (
            len(groups) >= 2
            and all(g.isdigit() for g in groups)
            and all(len(g) % 3 == 0 for g in groups[1:])
            and (len(groups[0]) > 3 or any(len(g) > 3 for g in groups[1:]))
            and (not comma or (decimals.isdigit() and len(decimals) <= 2))
        ):
            digits = "".join(groups)
            regrouped = " ".join(digits[max(0, k - 3) : k] for k in range(len(digits) % 3 or 3, len(digits) + 1, 3))
            return regrouped + (comma + decimals if comma else ""), ["séparateur de milliers non lu rétabli"]
    return num, []


def repair_amount_text(raw: str) -> tuple[str, list[str]]:
    """The amount text with the safe OCR repairs applied, and what was changed."""
    m = _HEAD.match(raw)
    if not m:
        return raw, []
    num, rest = m.group("num"), m.group("rest")
    num, repairs = _lookalikes(num)
    num, rest, more = _euro_read_as_digit(num, rest)
    repairs += more
    num, more = _lost_separator(num)
    repairs += more
    if not repairs:
        return raw, []
    return m.group("pre") + num + rest, repairs


def parse_ocr_amount(raw: str, min_conf: float | None) -> Amount:
    """Parse an OCR'd amount cell: the French parser, after the safe repairs; confidence kept."""
    text, repairs = repair_amount_text(raw)
    amount = parse_amount(text)
    if repairs and amount.value is None:
        amount, repairs = parse_amount(raw), []
    amount.raw = " ".join(raw.split())
    amount.repairs = repairs
    amount.min_conf = min_conf
    return amount
