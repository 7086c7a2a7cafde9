"""Amounts the articles declare (State support, ceilings, eligible cost, remainders).

The articles are the text before the first annex heading, page headers and footers removed,
lines joined into paragraphs. spaCy (`fr_core_news_sm`, loaded lazily once per process)
splits sentences and parses them; each `NUMBER €` span found by `find_amounts` is merged into
one token before parsing and its role is read from the words that govern it: its heads in
the dependency tree first, then the words before it in its clause.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models import Amount, DeclaredAmount, Provenance
from models.convention import Role
from normalize.amounts import find_amounts
from normalize.french_model import load_french
from normalize.text import clean, fold

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Span, Token

EXTRACTOR = "articles/spacy-fr_core_news_sm"

# --- page text to paragraphs -------------------------------------------------------------

# `Annexe 1 – …`, `ANNEXE N°2 :`, `Annexe II`, and unnumbered: `ANNEXE`, `Annexe : …`, `ANNEXE FINANCIÈRE`
_ANNEX_HEADING = re.compile(
    r"^(?:ANNEXES?|Annexes?)\s*(?:N°|n°|no|n o)?\s*(?:\d+|[IVX]{1,4}\b)(?:\s*bis)?\s*(?:[–—:\-]|\.\s+\S|$)"
    r"|^(?:ANNEXE|Annexe)\s*(?:[–—:]|$)|^ANNEXE\s+[A-ZÀÉÈ]{4,}"
)
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–]?\s*\d{1,3}\s*(?:(?:/|sur|of)\s*\d{1,3})?\s*[-–]?$", re.IGNORECASE)
_HEADING = re.compile(r"^(?:ARTICLE|Article|TITRE|CHAPITRE|PR[ÉE]AMBULE)\b|^\d+(?:\.\d+)*\.?\s+[A-ZÉÈÀ]")
_BULLET = re.compile(r"^[–\-•·*°▪►✓]\s|^\d+°\s|^[a-z]\)\s")
_ENDS_SENTENCE = re.compile(r"[.:!?;»)]$")
_OPEN_END = re.compile(
    r"(?:[,«(/'’]|\b(?:de|du|des|d|à|au|aux|le|la|les|l|un|une|et|ou|en|par|pour|sur))$", re.IGNORECASE
)


@dataclass
class Paragraph:
    """A run of article text with the page where each of its characters is printed."""

    text: str = ""
    pages: list[tuple[int, int]] = field(default_factory=list)  # (start offset, page), ascending

    def page_at(self, offset: int) -> int:
        page = self.pages[0][1]
        for start, p in self.pages:
            if start > offset:
                break
            page = p
        return page

    def add(self, line: str, page: int) -> None:
        sep = "" if not self.text or re.search(r"\w-$", self.text) else " "
        self.text += sep
        self.pages.append((len(self.text), page))
        self.text += line


def _furniture(page_texts: list[str]) -> set[str]:
    """Header and footer lines: the first two or last three lines of a page repeated on several pages."""
    counts: Counter[str] = Counter()
    for text in page_texts:
        lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
        counts.update({re.sub(r"\d+", "#", fold(ln)) for ln in lines[:2] + lines[-3:]})
    need = max(2, (len(page_texts) + 1) // 2)
    return {k for k, n in counts.items() if n >= need}


def _is_annex_heading(lines: list[str], i: int) -> bool:
    """An `Annexe N – …` line that starts a block: not the rest of a sentence cut before it
    (`… figurant en` / `Annexe 1 – …`); a signature line or a title may precede it."""
    if not _ANNEX_HEADING.match(lines[i]):
        return False
    previous = next((ln for ln in reversed(lines[:i]) if ln), "")
    return i < 3 or not previous or bool(_ENDS_SENTENCE.search(previous)) or not _OPEN_END.search(previous)


def article_paragraphs(page_texts: list[str]) -> list[Paragraph]:
    """The articles as paragraphs: lines joined, hyphenation kept, furniture dropped, annexes cut off."""
    furniture = _furniture(page_texts) if len(page_texts) > 1 else set()
    paragraphs: list[Paragraph] = []
    current = Paragraph()
    previous = ""
    for page, text in enumerate(page_texts, start=1):
        raw = [ln.strip() for ln in text.split("\n")]
        lines = [
            ln for ln in raw if ln and not _PAGE_NUMBER.match(ln) and re.sub(r"\d+", "#", fold(ln)) not in furniture
        ]
        widths = sorted(len(ln) for ln in lines if len(ln) > 20)
        typical = widths[len(widths) * 3 // 4] if widths else 80
        for i, line in enumerate(lines):
            if _is_annex_heading(lines, i):
                if current.text:
                    paragraphs.append(current)
                return paragraphs
            starts_new = bool(_HEADING.match(line) or _BULLET.match(line)) or (
                bool(previous)
                and (
                    (_ENDS_SENTENCE.search(previous) is not None and not line[:1].islower())
                    or (len(previous) < 0.6 * typical and not _OPEN_END.search(previous) and not line[:1].islower())
                )
            )
            if starts_new and current.text:
                paragraphs.append(current)
                current = Paragraph()
            current.add(line, page)
            previous = line
    if current.text:
        paragraphs.append(current)
    return paragraphs


# --- spaCy ---------------------------------------------------------------------------------


def _nlp() -> Language:
    """The French model with the components the role reading needs (no NER), loaded once."""
    return load_french()


@dataclass
class _Found:
    """One amount of a paragraph: its characters, parsed value and token span."""

    start: int
    end: int
    amount: Amount
    span: Span


def _parse(paragraph: str, amounts: list[tuple[int, int, Amount]]) -> list[_Found]:
    """Tokenise, merge each amount's digits into one token, fix sentence starts, then tag and parse."""
    nlp = _nlp()
    doc = nlp.make_doc(paragraph)
    with doc.retokenize() as retokenizer:
        for start, end, _ in amounts:
            digits_end = start + max(i for i, ch in enumerate(paragraph[start:end]) if ch.isdigit()) + 1
            span = doc.char_span(start, digits_end, alignment_mode="expand")
            if span is not None and len(span) > 1:
                retokenizer.merge(span)
    for tok in doc:
        prev = doc[tok.i - 1] if tok.i else None
        tok.is_sent_start = prev is None or (
            prev.text in {".", "!", "?"} and (tok.text[:1].isupper() or tok.text[:1] in '«"')
        )
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    found = []
    for start, end, amount in amounts:
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is not None:
            found.append(_Found(start, end, amount, span))
    return found


# --- roles ---------------------------------------------------------------------------------

# nouns that name what an amount is; a generic noun (montant, somme) lets the search go on
_ROLE_NOUNS: dict[str, Role] = {
    "reliquat": "reliquat",
    "reliquats": "reliquat",
    "cout": "cout_eligible",
    "couts": "cout_eligible",
    "budget": "cout_eligible",
    "depense": "cout_eligible",
    "depenses": "cout_eligible",
    "participation": "participation_annuelle",
    "cotisation": "participation_annuelle",
    "soutien": "soutien_etat",
    "subvention": "soutien_etat",
    "dotation": "soutien_etat",
    "contribution": "soutien_etat",
    "aide": "soutien_etat",
    "credit": "soutien_etat",
    "credits": "soutien_etat",
    "financement": "soutien_etat",
    "concours": "soutien_etat",
    # a payment of part of the support (advance, instalment, balance) is not the support itself
    "avance": "autre",
    "acompte": "autre",
    "solde": "autre",
    "tranche": "autre",
}
_GRANT_VERBS = {"attribuer", "allouer", "accorder", "octroyer", "verser", "notifier", "deleguer"}
_GRANT_FORMS = re.compile(
    r"^(?:attribu|allou|accord|octroi|octroy|notifi|deleg|vers(?:e|es|ee|ees|ent|er|era|eront|ait)$)"
)
_MAX_WORDS = {"maximal", "maximale", "maximum", "plafond", "plafonne", "plafonnee", "plafonner", "limite", "exceder"}
_ANNUAL_WORDS = {"an", "annuel", "annuelle", "annuellement"}
_STATE = {"etat"}
_ANNUAL = re.compile(r"\b(?:par an|chaque annee|annuel\w*)\b")
_COST_QUALIFIERS = {
    "eligible",
    "eligibles",
    "total",
    "totale",
    "totales",
    "estime",
    "global",
    "globale",
    "previsionnel",
    "subventionnable",
}


def _key(tok: Token) -> str:
    return fold(tok.text)


def _lemma(tok: Token) -> str:
    return fold(tok.lemma_)


def _is_role_noun(tok: Token) -> bool:
    return tok.pos_ in {"NOUN", "PROPN"} and _key(tok) in _ROLE_NOUNS


def _is_state(tok: Token) -> bool:
    """Whether a noun is qualified by the State (`soutien de l'État`, `participation de l'Etat`)."""
    return any(_key(t) in _STATE for t in tok.subtree if t.i != tok.i and t.i - tok.i < 8)


_LOOSE = {"conj", "parataxis", "dep", "list", "reparandum", "orphan"}


def _qualifiers(tok: Token) -> list[Token]:
    """The adjectives and adverbs that qualify a word, nested ones included (`prévisionnel annuel maximal`)."""
    out: list[Token] = []
    for child in tok.children:
        if child.dep_ in {"amod", "advmod", "fixed", "flat", "compound"}:
            out.append(child)
            out.extend(_qualifiers(child))
    return out


_LOCAL = {
    "departement",
    "metropole",
    "ville",
    "commune",
    "region",
    "collectivite",
    "communaute",
    "agglomeration",
    "epci",
    "caf",
    "association",
    "bailleur",
    "bailleurs",
    "territoire",
}
_OF = {"de", "du", "des", "d'", "d’"}


def _is_local(tok: Token) -> bool:
    """Whether a noun belongs to a local body (`financement du Département`), not to the State."""
    return any(
        c.dep_.startswith("nmod") and _key(c) in _LOCAL and any(_key(g) in _OF for g in c.children)
        for c in tok.children
    )


def _governors(anchor: Token, amount_tokens: set[int]) -> list[Token]:
    """The words that govern the amount, nearest first: its heads up to its clause's verb, then that
    verb's (or the amount's own) subject; the climb stops at another amount."""
    out: list[Token] = []
    tok = anchor
    subjects = [c for c in anchor.children if c.dep_.startswith("nsubj")]
    while tok.head.i != tok.i and tok.dep_ not in _LOOSE:
        tok = tok.head
        if tok.i in amount_tokens:
            break
        out.append(tok)
        subjects = [c for c in tok.children if c.dep_.startswith("nsubj")]
        if tok.pos_ in {"VERB", "AUX"} and not tok.dep_.startswith("acl"):
            break
    for s in subjects:
        out.extend(t for t in s.subtree if t.pos_ in {"NOUN", "PROPN"} and t.i not in amount_tokens)
    return out


_UNSPENT = re.compile(r"\bnon (?:consomm|utilis|engag|depens|employ)\w*")


def _decide(noun: Token, path: list[Token], sentence: Span, anchor: Span) -> Role:
    """The role named by `noun`, refined by the words met on the way (`maximal`, `par an`, `éligible`);
    funding said to be unspent (`crédits non consommés`) is a remainder."""
    role = _ROLE_NOUNS[_key(noun)]
    if (
        role == "soutien_etat"
        and noun.i < anchor.start
        and _UNSPENT.search(fold(sentence.doc[noun.i : anchor.start].text))
    ):
        return "reliquat"
    words = {_key(t) for t in [noun, *path] for t in [t, *_qualifiers(t)]}
    after = {_key(t) for t in sentence if t.i >= anchor.end}
    annual = bool(words & _ANNUAL_WORDS or after & _ANNUAL_WORDS or "chaque annee" in fold(sentence.text))
    if role == "cout_eligible" and not words & _COST_QUALIFIERS:
        return "autre"
    if role == "participation_annuelle":
        if _is_state(noun):
            role = "soutien_etat"
        elif not annual:
            return "autre"
    if role == "soutien_etat" and not _is_state(noun) and (_is_local(noun) or _key(noun) == "contribution"):
        if annual:
            return "participation_annuelle"
        if _is_local(noun):
            return "autre"
    if role == "soutien_etat" and words & _MAX_WORDS:
        return "soutien_etat_max"
    return role


def _role(found: _Found, sentence: Span, amount_tokens: set[int]) -> Role:
    """Governing words from the dependency tree first, then the clause's words before the amount."""
    anchor = found.span
    governors = _governors(anchor.root, amount_tokens - set(range(anchor.start, anchor.end)))
    for i, tok in enumerate(governors):
        if _is_role_noun(tok):
            return _decide(tok, governors[:i], sentence, anchor)
    # the words before the amount, back to the previous amount or the sentence start
    left: list[Token] = []
    for tok in reversed(sentence[: anchor.start - sentence.start]):
        if tok.i in amount_tokens:
            break
        left.append(tok)
    for i, tok in enumerate(left):
        if _is_role_noun(tok):
            return _decide(tok, left[:i] + governors, sentence, anchor)
    near = [*governors, *anchor.root.children, *left, *sentence[anchor.end - sentence.start :][:3]]
    if any(_lemma(t) in _GRANT_VERBS or _GRANT_FORMS.match(_key(t)) for t in near):
        return "soutien_etat_max" if {_key(t) for t in left + governors} & _MAX_WORDS else "soutien_etat"
    return "autre"


# --- periods -------------------------------------------------------------------------------

_YEARS = r"(20\d\d)(?:\s*[-–/]\s*(20\d\d|\d\d))?"
_TITLED_PERIOD = re.compile(
    r"(?:au titre (?:de l'|des |de )?(?:annees?|exercices?)?|pour (?:l'|les )?(?:annees?|exercices?)?|pour la periode)"
    r"\s*\b" + _YEARS + r"(?:\s+(?:et|a)\s+(20\d\d))?"
)
_ANY_PERIOD = re.compile(rf"\b{_YEARS}\b")
_OTHER_AMOUNT_WORDS = re.compile(r"\b(?:reliquat|deduction|dont)\b")
_DOC_PERIOD = re.compile(r"\b(20\d\d)\s*[-–]\s*(20\d\d)\b")


def _period(m: re.Match[str]) -> str:
    first, second = m.group(1), m.group(2)
    if m.re is _TITLED_PERIOD and m.group(3):
        second = m.group(3)  # `pour 2025 et 2026`
    if not second:
        return first
    return f"{first}-{second if len(second) == 4 else first[:2] + second}"


def _read_period(role: Role, left: str, right: str, right_clause: str, annual: bool, doc_period: str) -> str:
    """The period an amount covers: a year right after it, else `au titre de l'année …` before it
    (a remainder: the year nearest before it, `du reliquat 2023 de …`)."""
    near = _ANY_PERIOD.search(right if role == "reliquat" else right_clause)
    if near:
        return _period(near)
    before = list(_ANY_PERIOD.finditer(left))
    if role == "reliquat" and before:
        return _period(before[-1])
    titled = list(_TITLED_PERIOD.finditer(left))
    if titled:
        return _period(titled[-1])
    if role == "participation_annuelle" and doc_period:
        return doc_period
    if annual:
        return "annuel"
    return _period(before[-1]) if before else ""


def _document_period(page_texts: list[str]) -> str:
    head = fold(" ".join(page_texts[0].split("\n")[:6])) if page_texts else ""
    m = _DOC_PERIOD.search(head)
    return f"{m.group(1)}-{m.group(2)}" if m else ""


# --- the stage -----------------------------------------------------------------------------


def articles_to_declared(page_texts: list[str], fichier: str, sha: str) -> list[DeclaredAmount]:
    """Every amount the text of the articles declares, with its role, period and sentence."""
    doc_period = _document_period(page_texts)
    out: list[DeclaredAmount] = []
    for paragraph in article_paragraphs(page_texts):
        amounts = find_amounts(paragraph.text)
        if not amounts:
            continue
        found = _parse(paragraph.text, amounts)
        amount_tokens = {i for f in found for i in range(f.span.start, f.span.end)}
        for k, f in enumerate(found):
            sentence = f.span.root.sent
            role = _role(f, sentence, amount_tokens)
            nxt = next((g.start for g in found[k + 1 :] if g.start > f.end), sentence.end_char)
            left = fold(paragraph.text[sentence.start_char : f.start])
            right = fold(paragraph.text[f.end : sentence.end_char])
            right_clause = _OTHER_AMOUNT_WORDS.split(fold(paragraph.text[f.end : min(nxt, sentence.end_char)]))[0]
            annual = bool(_ANNUAL.search(right_clause)) or "annuel" in left[-60:]
            if f.amount.value is None:
                continue
            page = paragraph.page_at(f.start)
            out.append(
                DeclaredAmount(
                    role=role,
                    montant=f.amount.value,
                    periode=_read_period(role, left, right, right_clause, annual, doc_period),
                    extrait=clean(sentence.text),
                    page=page,
                    provenance=Provenance(file=fichier, sha256=sha, page=page, raw=f.amount.raw, extractor=EXTRACTOR),
                )
            )
    return out
