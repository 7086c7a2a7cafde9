"""Document-level fields: type, title, years, SIRET, IBAN, signature place and date, placeholders."""

from __future__ import annotations

import re

from models import DocumentFields, PlaceholderField
from models.convention import DocType
from normalize.text import clean, fold

_MONTHS = {
    "janvier": 1,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
}
_DATE = re.compile(r"\b(1er|\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(20\d\d)\b")
_NUM_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](20\d\d)\b")


def parse_french_date(text: str) -> str:
    """`8 mai 2023` or `08/05/2023` -> `2023-05-08`; empty when there is no date."""
    f = fold(text)
    m = _DATE.search(f)
    if m:
        day = 1 if m.group(1) == "1er" else int(m.group(1))
        return f"{int(m.group(3)):04d}-{_MONTHS[m.group(2)]:02d}-{day:02d}"
    m = _NUM_DATE.search(f)
    if m and 1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(1)) <= 31:
        return f"{int(m.group(3)):04d}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
    return ""


def _title(first_page: str) -> tuple[str, DocType]:
    lines = [clean(x) for x in first_page.splitlines() if clean(x)]
    head: list[str] = []
    for ln in lines[:8]:
        if re.match(r"^(entre|conclue?|retenue?|entre :)\b", ln, re.IGNORECASE):
            break
        head.append(ln)
    title = " ".join(head)
    f = fold(title)
    kind: DocType = "autre"
    if "avenant" in f:
        kind = "avenant"
    elif "partenariat" in f:
        kind = "partenariat"
    elif "convention" in f:
        kind = "convention"
    t = re.sub(r"\s*[–—-]\s*", "-", title) if re.search(r"\d{4}\s*[–—-]\s*\d{4}", title) else title
    return (t[:1].upper() + t[1:].lower()) if t.isupper() else t, kind


# the year an amount is stated for: `au titre de l'année 2024`, `au titre de 2024`, `pour l'exercice 2025`
_STATED_YEAR = re.compile(
    r"(?:au titre (?:de l['’]|des |du |de )?|pour l['’]|pour les |pour )(?:ann[ée]es?|exercices?|an)?\s*"
    r"(20\d\d)(?:\s*[-–]\s*(20\d\d))?\b",
    re.IGNORECASE,
)


def _years(title: str, kind: DocType, text: str) -> tuple[int | None, int | None]:
    periods = [(int(a), int(b)) for a, b in re.findall(r"\b(20\d\d)\s*[-–—/]\s*(20\d\d)\b", title)]
    if kind == "avenant":
        spans = [(int(a), int(b or a)) for a, b in _STATED_YEAR.findall(_before_annexes(text))]
        if spans:
            return max(spans)
    if periods:
        return periods[0]
    single = re.findall(r"\b(20\d\d)\b", title)
    if single:
        return int(single[0]), int(single[-1])
    return None, None


def _before_annexes(text: str) -> str:
    """The articles: the text before the first line that opens an annex."""
    m = re.search(r"^\s*ANNEXES?\s*(?:N°|n°)?\s*\d+\s*[–—:\-]", text, re.MULTILINE | re.IGNORECASE)
    return text[: m.start()] if m else text


def read_siret(text: str) -> tuple[str, int | None]:
    """The SIRET printed after `SIRET` (digits only), a few words between them allowed (`SIRET de l'ADIL :`)."""
    m = re.search(r"SIRET\b[^\d\n]{0,30}?([\d][\d \u00a0.]{12,22}\d)", text, re.IGNORECASE)
    return (re.sub(r"\D", "", m.group(1)), None) if m else ("", None)


_OCR_DIGITS = str.maketrans("OoDQIlLSZB", "0000111528")
_FR_DIGITS = [*range(2, 14), 25, 26]  # check digits, bank and branch codes, RIB key: digits in a French IBAN


def iban_valid(iban: str) -> bool:
    """The ISO 13616 check: the IBAN read as a number, country and check digits moved last, is 1 mod 97."""
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def read_iban(text: str) -> str:
    """The IBAN printed after `IBAN` (a few words between them allowed), spaces removed, cut at its
    country's length; a letter the OCR read for a digit (`FRO9`) mended where the checksum confirms it."""
    m = re.search(r"IBAN\b[^\n]{0,30}?\b([A-Z]{2}\s*[\dOoIlSB]{2}(?:\s*[A-Z0-9]){10,30})", text)
    if not m:
        return ""
    iban = re.sub(r"\s", "", m.group(1))
    digits = _FR_DIGITS if iban.startswith("FR") else [2, 3]
    if iban.startswith("FR"):
        iban = iban[:27]
    if not iban_valid(iban):
        chars = list(iban)
        for i in digits:
            if i < len(chars):
                chars[i] = chars[i].translate(_OCR_DIGITS)
        mended = "".join(chars)
        if iban_valid(mended):
            return mended
    return iban


# `Fait à X, le …`, `Fait en deux exemplaires à X le …`, `Signé à X le …`, or a line `À X, le <date>`
_SIGNED = re.compile(
    r"(?:(?:Fait|Sign[ée]e?)(?:\s+en\s+\w+\s+(?:exemplaires?|originaux)(?:\s+originaux)?)?\s*,?\s+à|^[ÀA](?=\s+[A-ZÉ]))"
    r"\s*:?\s*([^\n,]*?)(?:\s*,\s*en\s+\w+\s+(?:exemplaires?|originaux)(?:\s+originaux)?)?(?:\s*,\s*|\s+)le\b"
    r"\s*:?\s*([^\n]*)",
    re.IGNORECASE | re.MULTILINE,
)


def _signature(text: str) -> tuple[str, str, list[tuple[str, str]]]:
    place, date, blanks = "", "", []
    for m in _SIGNED.finditer(text):
        p = clean(m.group(1)).strip(" :,")
        d = parse_french_date(m.group(2))
        if m.group(0)[:1] in "ÀàAa" and not d:
            continue  # a bare `À X, le …` line counts only with its date
        if p and not place:
            place = p
        if d:
            date = d
        elif not date:
            blanks.append(("date_signature", clean(m.group(0))))
    if date:
        blanks = []
    return place, date, blanks


def read_fields(pages: list[str], territoire: str) -> DocumentFields:
    """The document fields of documents.csv, with the placeholders left blank."""
    text = "\n".join(pages)
    title, kind = _title(pages[0] if pages else "")
    debut, fin = _years(title, kind, text)
    siret, _ = read_siret(text)
    siret_page = next((i + 1 for i, p in enumerate(pages) if re.search(r"SIRET", p, re.IGNORECASE)), None)
    iban = read_iban(text)
    iban_page = next((i + 1 for i, p in enumerate(pages) if "IBAN" in p), None)
    place, date, blanks = _signature(text)
    placeholders = []
    for champ, found in blanks:
        page = next((i + 1 for i, p in enumerate(pages) if found.split(" le")[0][:12] in clean(p)), len(pages))
        placeholders.append(PlaceholderField(champ=champ, trouve=found, page=page))
    for i, p in enumerate(pages, 1):
        for m in re.finditer(r"d[ée]lib[ée]ration\s+n°\s*(du\b[^\n]{0,40}|\.{3,}[^\n]{0,20}|\s*$)", p, re.IGNORECASE):
            placeholders.append(PlaceholderField(champ="deliberation", trouve=clean(m.group(0)), page=i))
    return DocumentFields(
        type_document=kind,
        titre=title,
        annee_debut=debut,
        annee_fin=fin,
        territoire=territoire,
        siret=siret,
        siret_page=siret_page,
        iban=iban,
        iban_page=iban_page,
        lieu_signature=place,
        date_signature=date,
        placeholders=placeholders,
    )
