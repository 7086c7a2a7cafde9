"""One French-aware amount parser: `1 305 720 €`, `20.000,00 €`, `150 k€`, `-`."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from models import Amount

_SPACES = "\u0020\u00a0\u202f\u2007\u2009"
# `-`, empty, `néant`, and a spreadsheet's zero in accounting format (`-   €`, `- EUR`)
_ABSENT = re.compile(
    r"^[\s\-\u2010-\u2015\u2212/.*]*(?:€|eur|euros)?[\s\-\u2010-\u2015\u2212/.*]*$"
    r"|^(néant|neant|sans objet|n\.?\s?a\.?|nc)$",
    re.IGNORECASE,
)
_CURRENCY = r"(?:k\s?€|keur|k\s?euros?|m\s?€|€|euros?|eur)"
_HEAD = re.compile(
    rf"^\s*(?P<pre>(?:€|EUR)\s*)?(?P<num>(?:[+\-\u2212]\s?)?\d(?:[\d{_SPACES}.,]*\d)?)[.,]?\s*(?P<cur>{_CURRENCY}(?![a-zà-ÿ]))?(?=$|[\s(),;:/.])",
    re.IGNORECASE,
)
# `1 305 721`; a spreadsheet's own grouping may leave four digits ahead (`1305 721`), never two short groups
_SPACE_GROUPS = re.compile(rf"^\d{{1,4}}(?:[{_SPACES}]\d{{3}})+$")
_DOT_GROUPS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_COMMA_GROUPS = re.compile(r"^\d{1,3}(?:,\d{3}){2,}$")


def _number(token: str) -> Decimal | None:
    """A Decimal from digits with French separators, or None when the grouping is not one number."""
    token = token.strip().replace("\u2212", "-")
    sign = ""
    if token[:1] in "+-":
        sign, token = ("-" if token[0] == "-" else ""), token[1:].strip()
    token = token.rstrip(".,")
    integer, _, decimals = token.rpartition(",") if "," in token else (token, "", "")
    if "," in token and _COMMA_GROUPS.match(token):
        integer, decimals = token.replace(",", ""), ""
    elif "," in token and not decimals.isdigit():
        return None
    if not integer and decimals:
        integer, decimals = decimals, ""
    compact = integer
    m = re.fullmatch(rf"(\d{{1,3}}(?:[{_SPACES}]\d{{3}})+)\.(\d{{1,2}})", integer)
    if m and not decimals:  # `12 500.00`: space-grouped thousands, a decimal point
        integer, decimals = m.group(1), m.group(2)
    if any(c in integer for c in _SPACES):
        if not _SPACE_GROUPS.match(integer.replace(".", "")):
            return None
        compact = re.sub(rf"[{_SPACES}]", "", integer)
    if "." in compact:
        if _DOT_GROUPS.match(compact):
            compact = compact.replace(".", "")
        elif not decimals and re.fullmatch(r"\d+\.\d{1,2}", compact):
            compact, decimals = compact.split(".")
        else:
            return None
    if not compact.isdigit():
        return None
    try:
        return Decimal(sign + compact + ("." + decimals if decimals else ""))
    except InvalidOperation:
        return None


def _tail(rest: str) -> tuple[str, str]:
    """Split what follows an amount into (sources, note): `(dont …)` is a note, other brackets are sources."""
    sources: list[str] = []
    notes: list[str] = []
    for inner in re.findall(r"\(([^()]*)\)", rest):
        inner = inner.strip()
        if re.match(r"^(dont|soit|y compris|hors)\b", inner, re.IGNORECASE) or re.search(r"\d", inner):
            notes.append(inner)
        elif inner:
            sources.append(inner)
    outside = re.sub(r"\([^()]*\)", " ", rest).strip(" ,;:-–")
    if outside:
        notes.append(outside)
    return "; ".join(sources), "; ".join(notes)


def parse_amount(raw: str | None) -> Amount:
    """Parse a French amount cell; absent (`-`, empty) and unreadable cells keep their raw text."""
    text = " ".join((raw or "").split())
    if _ABSENT.match(text):
        return Amount(raw=text, absent=True)
    m = _HEAD.match(text)
    if not m:
        # "Financement … (17 000 euros). (AMP)": a cell whose only amount is written inside its text
        inside = find_amounts(text)
        if len(inside) == 1:
            start, end, found = inside[0]
            sources, _ = _tail(text[end:])
            return Amount(raw=text, value=found.value, sources=sources, note=text[:start].strip(" ,;:(-"))
        return Amount(raw=text, note="pas un montant")
    value = _number(m.group("num"))
    if value is None:
        return Amount(raw=text, note="montant illisible")
    cur = (m.group("cur") or "").lower().replace(" ", "")
    if cur.startswith("k"):
        value *= 1000
    elif cur.startswith("m"):
        value *= 1_000_000
    sources, note = _tail(text[m.end() :])
    return Amount(raw=text, value=value, sources=sources, note=note)


def format_amount(value: object) -> str:
    """`1 305 720 €` style for messages read by analysts."""
    if not isinstance(value, Decimal):
        return "" if value is None else str(value)
    q = value.quantize(Decimal("0.01"))
    whole = int(abs(q))
    cents = abs(q) - whole
    text = f"{whole:,}".replace(",", "\u202f")
    if cents:
        text += "," + f"{cents:.2f}"[2:]
    return ("-" if q < 0 else "") + text + " €"


def plain(value: Decimal | None) -> str:
    """The contract's plain decimal (`1305720`, `15000.50`), empty when absent."""
    if value is None:
        return ""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


AMOUNT_IN_TEXT = re.compile(
    rf"(?<![\d,.])(?:\d{{1,3}}(?:[{_SPACES}.]\d{{3}})+|\d+)(?:,\d{{1,2}})?\s*{_CURRENCY}",
    re.IGNORECASE,
)


def find_amounts(text: str) -> list[tuple[int, int, Amount]]:
    """Every `NUMBER €` span of running text, as (start, end, amount)."""
    found = []
    for m in AMOUNT_IN_TEXT.finditer(text):
        a = parse_amount(m.group(0))
        if a.value is not None:
            found.append((m.start(), m.end(), a))
    return found
