"""Damaged PDFs: read from a repaired copy (qpdf through pikepdf) when the reader fails, isolate pages it cannot read.

`read_document` wraps any reader (an `Opener`: path -> `PageSource`, one page at a time). Before any page reaches the
reader, qpdf measures each page against `Limits` (inflated content size, objects, area, page count): a page beyond
them is never read. When the file will not open, when a page raises or when the reader and qpdf disagree on the page
count, qpdf rewrites the file into a temporary copy (the input is never touched) and the whole document is read from
it. A page that still fails is skipped. What was done is data on the result (`ReadDocument`), which the caller turns
into `FILE_REPAIRED` and `PAGE_UNREADABLE` flags; qpdf's and the reader's own words go to the debug log only."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from extract.errors import InputError
from models import Flag, OcrDecision, Page

if TYPE_CHECKING:
    from extract.ocr import PageImageInfo

log = logging.getLogger(__name__)

A4 = (595.0, 842.0)  # points: the size given to a page whose own size cannot be read
M2_IN_PT2 = (72 / 0.0254) ** 2


class Limits(BaseModel):
    """Bounds past which a page is not read (each far above any real convention), validated at construction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_pages: int = Field(default=2000, ge=1)
    max_content_mb: float = Field(default=32.0, gt=0)  # a page's content streams and forms, once inflated
    max_objects: int = Field(default=5000, ge=1)  # images and forms a page draws, forms inside forms included
    max_area_m2: float = Field(default=2.0, gt=0)  # about twice A0


class PageSource(Protocol):
    """An open PDF whose pages a reader gives one at a time (pdfium, pdfplumber), with the drawing figures of the
    pages it read (`extract.ocr.PageImageInfo` by page number; empty when the reader gathers none)."""

    drawings: dict[int, PageImageInfo]

    def __len__(self) -> int: ...

    def page(self, number: int) -> Page: ...

    def close(self) -> None: ...


Opener = Callable[[Path], PageSource]


@dataclass(frozen=True)
class UnreadablePage:
    """A page left out, and why, in the analyst's words."""

    number: int
    reason: str


@dataclass
class ReadDocument:
    """The pages read (a skipped page is an empty page of its number), from `path`: the input or its repaired copy."""

    path: Path
    pages: list[Page]
    page_count: int
    repaired: str = ""  # what was repaired, in French; empty when the input was read as it is
    failed: list[int] = field(default_factory=list)  # pages the reader raised on
    unreadable: list[UnreadablePage] = field(default_factory=list)
    drawings: dict[int, PageImageInfo] = field(default_factory=dict)  # the reader's figures, for the OCR decision

    @property
    def skipped(self) -> frozenset[int]:
        """Numbers of the pages that were not read."""
        return frozenset(u.number for u in self.unreadable)

    def flags(self, fichier: str) -> list[Flag]:
        """`FILE_REPAIRED` and one `PAGE_UNREADABLE` per page left out."""
        out = []
        if self.repaired:
            out.append(
                Flag(
                    fichier=fichier,
                    code="FILE_REPAIRED",
                    gravite="alerte",
                    trouve=self.repaired,
                    message=f"Fichier endommagé, lu depuis une copie réparée ({self.repaired}). L'original n'est pas"
                    " modifié : vérifier les montants sur le document.",
                )
            )
        for u in self.unreadable:
            out.append(
                Flag(
                    fichier=fichier,
                    code="PAGE_UNREADABLE",
                    gravite="alerte",
                    page=u.number,
                    trouve=u.reason,
                    message=f"Page {u.number} non lue ({u.reason}) ; le reste du document est lu. "
                    "Vérifier cette page sur l'original.",
                )
            )
        return out


# --- qpdf's view: is the file openable, how many pages, which pages are beyond the limits ------------------------


def _streams(obj: Any) -> list[Any]:
    import pikepdf

    if isinstance(obj, pikepdf.Stream):
        return [obj]
    if isinstance(obj, pikepdf.Array):
        return [s for s in obj if isinstance(s, pikepdf.Stream)]
    return []


def flate_broken(raw: bytes) -> bool:
    """Whether Flate data is corrupt or breaks off before its last block (data lost). Read as raw deflate, past the
    two-byte header, so that a missing or wrong checksum, which loses nothing, does not count."""
    if not raw:
        return False  # an empty stream loses nothing
    inflater, data = zlib.decompressobj(-15), raw[2:]
    try:
        while data:
            inflater.decompress(data, 1 << 20)
            data = inflater.unconsumed_tail
    except zlib.error:
        return True
    return not inflater.eof


def inflated_size(stream: Any, budget: int) -> tuple[int, bool]:
    """Bytes the stream decodes to, counted in chunks and never held (counting stops past `budget`), and whether
    its compressed data is broken (the reader would read part of it without a word)."""
    import pikepdf

    raw = stream.read_raw_bytes()
    filters = stream.get("/Filter")
    if isinstance(filters, pikepdf.Array):
        names = [str(f) for f in filters]
    else:
        names = [str(filters)] if filters is not None else []
    if not names:
        return len(raw), False
    if names == ["/FlateDecode"]:
        inflater, total, data = zlib.decompressobj(), 0, raw
        try:
            while data and total <= budget:
                total += len(inflater.decompress(data, 1 << 20))
                data = inflater.unconsumed_tail
        except zlib.error:
            return total, flate_broken(raw)
        return total, not inflater.eof and total <= budget and flate_broken(raw)
    if len(raw) > budget // 16:  # other filters are decoded whole: only when small
        return budget + 1, False
    try:
        return len(stream.read_bytes()), False
    except Exception:  # an undecodable stream
        return len(raw), True


def _page_load(page: Any, limits: Limits) -> tuple[int, int, bool]:
    """Inflated bytes of the page's content streams and forms, the number of images and forms it uses, and whether
    a content stream is broken."""
    import pikepdf

    budget = int(limits.max_content_mb * 1024 * 1024)
    total, objects, broken = 0, 0, False
    seen: set[tuple[int, int]] = set()
    todo: list[tuple[Any, Any]] = [(page.obj.get("/Contents"), page.obj.get("/Resources"))]
    while todo and total <= budget and objects <= limits.max_objects:
        contents, resources = todo.pop()
        for s in _streams(contents):
            size, bad = inflated_size(s, budget - total)
            total, broken = total + size, broken or bad
        xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
        if not isinstance(xobjects, pikepdf.Dictionary):
            continue
        for _, x in xobjects.items():
            if not isinstance(x, pikepdf.Stream):
                continue
            key = x.objgen
            if key != (0, 0) and key in seen:
                continue
            seen.add(key)
            objects += 1
            if x.get("/Subtype") == "/Form":
                todo.append((x, x.get("/Resources")))
    return total, objects, broken


def page_verdict(page: Any, limits: Limits) -> tuple[float, float, str, bool]:
    """The page's size in points, why it is beyond the limits (French; '' when it may be read), and whether its
    content is broken."""
    width, height = A4
    with contextlib.suppress(Exception):
        box = [float(v) for v in page.mediabox]
        unit = float(page.obj.get("/UserUnit", 1))
        width, height = abs(box[2] - box[0]) * unit, abs(box[3] - box[1]) * unit
    if width * height / M2_IN_PT2 > limits.max_area_m2:
        cm = 2.54 / 72
        too_large = f"format démesuré : {width * cm:.0f} × {height * cm:.0f} cm, au-delà de {limits.max_area_m2:g} m²"
        return width, height, too_large, False
    try:
        size, objects, broken = _page_load(page, limits)
    except Exception as e:  # a page qpdf cannot walk: the reader decides
        log.debug("page scan failed: %s: %s", type(e).__name__, e)
        return width, height, "", False
    if size > limits.max_content_mb * 1024 * 1024:
        return width, height, f"contenu démesuré : plus de {limits.max_content_mb:g} Mo une fois décompressé", False
    if objects > limits.max_objects:
        return width, height, f"trop d'objets graphiques : plus de {limits.max_objects}", False
    return width, height, "", broken


@dataclass
class Screen:
    """What qpdf sees: whether it opens the file, its page count, each page's size and verdict."""

    opens: bool = False
    pages: int = 0
    sizes: list[tuple[float, float]] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    broken: set[int] = field(default_factory=set)  # pages (numbers) whose compressed content breaks off
    warnings: list[str] = field(default_factory=list)


def screen(path: Path, limits: Limits) -> Screen:
    """qpdf's view of the file; raises InputError for a password-protected file."""
    import pikepdf

    try:
        pdf = pikepdf.open(path, attempt_recovery=True, suppress_warnings=True)
    except pikepdf.PasswordError as e:
        from extract.pdf import PASSWORD

        raise InputError(PASSWORD) from e
    except Exception as e:  # qpdf's many ways to give up all mean one thing here
        log.debug("qpdf cannot open %s: %s: %s", path, type(e).__name__, e)
        return Screen()
    with pdf:
        out = Screen(opens=True, warnings=list(pdf.get_warnings()))
        try:
            out.pages = len(pdf.pages)
            for k, page in enumerate(pdf.pages):
                if k >= limits.max_pages:
                    break
                width, height, verdict, broken = page_verdict(page, limits)
                if broken:
                    out.broken.add(k + 1)
                out.sizes.append((width, height))
                out.verdicts.append(verdict)
        except Exception as e:
            log.debug("qpdf cannot walk the pages of %s: %s: %s", path, type(e).__name__, e)
            out.pages = len(out.verdicts)
        return out


# --- the repaired copy -----------------------------------------------------------------------------------------------


WHAT_QPDF_DID = (  # qpdf's warning wording -> what was repaired, for the analyst
    (("reconstruct", "xref", "startxref"), "table des références croisées reconstruite"),
    (("pdf header",), "en-tête PDF retrouvé"),
    (("stream length", "endstream"), "longueur de flux corrigée"),
    (("eof", "unexpected"), "fin de fichier manquante"),
    (("expected", "object", "dictionary"), "objets endommagés écartés"),
)


REWRITTEN = "structure du fichier réécrite"  # what qpdf did when it had nothing to say


def describe_repair(warnings: list[str]) -> str:
    """What qpdf repaired, from its warnings, in French."""
    found = []
    for w in warnings:
        text = w.lower()
        for keys, what in WHAT_QPDF_DID:
            if any(k in text for k in keys) and what not in found:
                found.append(what)
                break
    return ", ".join(found) or REWRITTEN


def repair_copy(path: Path, target: Path) -> list[str]:
    """qpdf rewrites `path` into `target`; its warnings (what it had to repair). Raises when it cannot."""
    import pikepdf

    with pikepdf.open(path, attempt_recovery=True, suppress_warnings=True) as pdf:
        try:
            pdf.save(target)
        except pikepdf.PdfError:  # a stream qpdf cannot re-encode: copy streams as they are
            pdf.save(target, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
        return list(pdf.get_warnings())


# --- reading -------------------------------------------------------------------------------------------------------


class _RepairNeededError(Exception):
    """The reader failed on the file or a page: read a repaired copy instead."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def _placeholder(number: int, size: tuple[float, float], reason: str) -> Page:
    return Page(
        number=number,
        width=size[0],
        height=size[1],
        words=[],
        ocr=OcrDecision(needed=False, reason=f"non lue : {reason}"),
    )


def _read_all(path: Path, opener: Opener, view: Screen, limits: Limits, repaired: bool) -> ReadDocument:
    """Every page through the reader: pages beyond the limits and pages that raise left out (their numbers in
    `failed`). Raises _RepairNeededError when the file will not open or its page count is not qpdf's, unless
    `repaired`."""
    try:
        source = opener(path)
    except InputError:
        raise
    except Exception as e:
        log.debug("reader cannot open %s: %s: %s", path, type(e).__name__, e)
        if not repaired:
            raise _RepairNeededError("le fichier ne s'ouvrait pas") from e
        raise InputError("PDF endommagé : il ne s'ouvre pas, même après réparation") from e
    try:
        count = len(source)
        if view.opens and view.pages and count != view.pages and not repaired:
            log.debug("page counts differ on %s: reader %d, qpdf %d", path, count, view.pages)
            raise _RepairNeededError(f"{count} pages trouvées au lieu de {view.pages}")
        doc = ReadDocument(path=path, pages=[], page_count=count)
        for number in range(1, min(count, limits.max_pages) + 1):
            k = number - 1
            size = view.sizes[k] if view.pages == count and k < len(view.sizes) else A4
            verdict = view.verdicts[k] if view.pages == count and k < len(view.verdicts) else ""
            if not verdict and number in view.broken and view.pages == count:
                log.debug("page %d of %s: compressed content breaks off", number, path)
                verdict = "contenu endommagé"
                doc.failed.append(number)
            elif not verdict:
                try:
                    doc.pages.append(source.page(number))
                    continue
                except Exception as e:
                    log.debug("page %d of %s: %s: %s", number, path, type(e).__name__, e)
                    verdict = "page endommagée"
                    doc.failed.append(number)
            doc.unreadable.append(UnreadablePage(number, verdict))
            doc.pages.append(_placeholder(number, size, verdict))
        doc.drawings = dict(source.drawings)
        if count > limits.max_pages:
            doc.unreadable.append(
                UnreadablePage(
                    limits.max_pages + 1,
                    f"pages {limits.max_pages + 1} à {count} : au-delà de {limits.max_pages} pages par document",
                )
            )
        return doc
    finally:
        source.close()


@contextlib.contextmanager
def read_document(path: Path, opener: Opener, limits: Limits | None = None) -> Iterator[ReadDocument]:
    """The document's pages, repaired and isolated as needed; the repaired copy lives until the block ends.

    Raises InputError (French) when nothing can be read: empty, not a PDF, password-protected, damaged beyond repair."""
    limits = limits or Limits()
    size = path.stat().st_size
    if size == 0:
        raise InputError("fichier vide (0 octet)")
    with path.open("rb") as fh:
        head = fh.read(1024)
    view = screen(path, limits)
    if b"%PDF-" not in head and not (view.opens and view.pages):
        raise InputError("ce fichier n'est pas un PDF (signature %PDF absente)")
    if view.opens and view.pages == 0:
        raise InputError("PDF sans aucune page")
    first: ReadDocument | None = None
    try:
        if b"%PDF-" not in head:
            raise _RepairNeededError("en-tête PDF absent")
        first = _read_all(path, opener, view, limits, repaired=False)
        need = f"page{'s' if len(first.failed) > 1 else ''} {', '.join(map(str, first.failed))} illisible"
        need += "s" if len(first.failed) > 1 else ""
    except _RepairNeededError as e:
        need = e.cause
    if first is not None and not first.failed and view.warnings:
        need = "structure endommagée"  # qpdf had to recover it: read the repaired copy, whatever the reader forgave
    elif first is not None and (not first.failed or not view.opens):
        _check_something_read(first)
        yield first
        return
    if not view.opens:
        raise InputError("PDF endommagé ou tronqué, irréparable : ni sa structure ni ses pages ne se lisent")
    with tempfile.TemporaryDirectory(prefix="lda-repair-") as tmp:
        copy = Path(tmp) / "repare.pdf"
        try:
            warnings = repair_copy(path, copy)
            doc = _read_all(copy, opener, screen(copy, limits), limits, repaired=True)
            what = describe_repair(warnings)
            if doc.failed:
                doc, what = _clean_and_read(doc, copy, Path(tmp) / "nettoye.pdf", opener, limits, what)
        except Exception as e:
            log.debug("qpdf cannot rewrite %s: %s: %s", path, type(e).__name__, e)
            if first is None:
                raise InputError("PDF endommagé ou tronqué, irréparable : la réparation a échoué") from e
            doc, warnings, what = first, [], ""
        if first is not None and len(doc.failed) >= max(len(first.failed), 1):
            doc = first  # the repaired copy reads no more pages: the input's reading stands, its bad pages left out
        else:
            log.debug("repaired %s (%s): %s", path, need, "; ".join(warnings))
            doc.repaired = f"{need} ; {what}"
        _check_something_read(doc)
        yield doc


def _clean_and_read(
    doc: ReadDocument, copy: Path, target: Path, opener: Opener, limits: Limits, what: str
) -> tuple[ReadDocument, str]:
    """Pages the reader cannot parse reduced to their well-formed instructions, the document read again; the
    better reading and what was repaired."""
    try:
        cleaned = clean_pages(copy, target, doc.failed)
        again = _read_all(target, opener, screen(target, limits), limits, repaired=True)
    except Exception as e:  # cleaning is a last resort: its failure leaves the reading as it was
        log.debug("cannot clean pages of %s: %s: %s", copy, type(e).__name__, e)
        return doc, what
    if not cleaned or len(again.failed) >= len(doc.failed):
        return doc, what
    saved = [n for n in cleaned if n not in again.failed]
    plural = "s" if len(saved) > 1 else ""
    done = "" if what == REWRITTEN else f"{what}, "
    return again, f"{done}instructions illisibles écartées (page{plural} {', '.join(map(str, saved))})"


def _check_something_read(doc: ReadDocument) -> None:
    if doc.page_count == 0:
        raise InputError("PDF sans aucune page")
    if all(p.number in doc.skipped for p in doc.pages):
        first = doc.unreadable[0]
        raise InputError(
            f"PDF endommagé : aucune de ses {doc.page_count} pages n'a pu être lue "
            f"(page {first.number} : {first.reason})"
        )


# --- page content that the reader cannot parse ------------------------------------------------------------------

OPERATORS = frozenset(
    [
        "b",
        "B",
        "b*",
        "B*",
        "BDC",
        "BI",
        "BMC",
        "BT",
        "BX",
        "c",
        "cm",
        "CS",
        "cs",
        "d",
        "d0",
        "d1",
        "Do",
        "DP",
        "EI",
        "EMC",
        "ET",
        "EX",
        "f",
        "F",
        "f*",
        "G",
        "g",
        "gs",
        "h",
        "i",
        "ID",
        "j",
        "J",
        "K",
        "k",
        "l",
        "m",
        "M",
        "MP",
        "n",
        "q",
        "Q",
        "re",
        "RG",
        "rg",
        "ri",
        "s",
        "S",
        "SC",
        "sc",
        "SCN",
        "scn",
        "sh",
        "T*",
        "Tc",
        "Td",
        "TD",
        "Tf",
        "Tj",
        "TJ",
        "TL",
        "Tm",
        "Tr",
        "Ts",
        "Tw",
        "Tz",
        "v",
        "w",
        "W",
        "W*",
        "y",
        "'",
        '"',
    ]
)


def _well_formed(operands: list[Any]) -> bool:
    """Operands with no malformed token, arrays and dictionaries closed, each dictionary in key-value pairs."""
    import pikepdf

    kinds = pikepdf.TokenType
    stack: list[list[int]] = [[0, 0]]  # per open container: kind (0 top, 1 array, 2 dict), items so far
    for tok in operands:
        t = tok.type_
        if t == kinds.bad or t in (kinds.brace_open, kinds.brace_close):
            return False
        if t in (kinds.space, kinds.comment):
            continue
        if t in (kinds.array_open, kinds.dict_open):
            stack[-1][1] += 1
            stack.append([1 if t == kinds.array_open else 2, 0])
        elif t in (kinds.array_close, kinds.dict_close):
            kind, items = stack.pop() if len(stack) > 1 else (0, 0)
            if kind != (1 if t == kinds.array_close else 2) or (kind == 2 and items % 2):
                return False
        else:
            stack[-1][1] += 1
    return len(stack) == 1


def _instruction_filter() -> Any:
    import pikepdf

    class KeepWellFormed(pikepdf.TokenFilter):
        """Keeps each instruction whose operator is a PDF operator and whose operands are well formed."""

        def __init__(self) -> None:
            super().__init__()
            self.pending: list[Any] = []

        def handle_token(self, token: Any) -> Any:
            kinds = pikepdf.TokenType
            if token.type_ == kinds.inline_image:
                return token
            if token.type_ != kinds.word:
                self.pending.append(token)
                return None
            operands, self.pending = self.pending, []
            keep = token.raw_value.decode("latin-1") in OPERATORS and _well_formed(operands)
            return [*operands, token, pikepdf.Token(kinds.space, b"\n")] if keep else None

    return KeepWellFormed()


def _inflate_prefix(data: bytes) -> bytes:
    """What Flate data inflates to before its first fault."""
    inflater, out = zlib.decompressobj(), []
    with contextlib.suppress(zlib.error):
        for k in range(0, len(data), 1024):
            out.append(inflater.decompress(data[k : k + 1024]))
    return b"".join(out)


def _a85_lenient(data: bytes) -> bytes:
    """ASCII85 data decoded up to its first impossible group, stray characters dropped."""
    body = data.split(b"~>")[0]
    body = bytes(c for c in body if 33 <= c <= 117 or c == 122).replace(b"z", b"!!!!!")
    out = bytearray()
    for k in range(0, len(body), 5):
        group = body[k : k + 5]
        value = 0
        for c in group.ljust(5, b"u"):
            value = value * 85 + c - 33
        if value > 0xFFFFFFFF:
            break
        out += value.to_bytes(4, "big")[: len(group) - 1 if len(group) < 5 else 4]
    return bytes(out)


def _salvage(stream: Any) -> bytes:
    """A content stream's bytes; for corrupt data, what decodes before the fault (ASCII85 and Flate)."""
    import pikepdf

    try:
        return bytes(stream.read_bytes())
    except pikepdf.PdfError:
        pass
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)]
    data = bytes(stream.read_raw_bytes())
    for name in names:
        if name in ("/FlateDecode", "/Fl"):
            data = _inflate_prefix(data)
        elif name in ("/ASCII85Decode", "/A85"):
            data = _a85_lenient(data)
        else:
            return b""
    return data


def clean_pages(source: Path, target: Path, numbers: list[int]) -> list[int]:
    """`source` written to `target` with the content of pages `numbers` reduced to its well-formed instructions
    (what survives of corrupt compressed data included); the pages cleaned."""
    import pikepdf

    cleaned = []
    with pikepdf.open(source, suppress_warnings=True) as pdf:
        for number in numbers:
            try:
                page = pdf.pages[number - 1]
                raw = b"\n".join(_salvage(s) for s in _streams(page.obj.get("/Contents")))
                page.obj.Contents = pdf.make_stream(raw)
                page.obj.Contents = pdf.make_stream(page.get_filtered_contents(_instruction_filter()))
                cleaned.append(number)
            except Exception as e:  # this page stays as it is, and unread
                log.debug("cannot clean page %d of %s: %s: %s", number, source, type(e).__name__, e)
        pdf.save(target)
    return cleaned
