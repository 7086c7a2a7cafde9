"""Read a born-digital PDF into pages of words and ruling lines (pdfplumber)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from extract.errors import InputError
from extract.layout import within_any
from models import BBox, Page, Ruling, Word

if TYPE_CHECKING:
    from extract.ocr import PageImageInfo

PASSWORD = "PDF protégé par mot de passe (chiffré) : fournir une version sans mot de passe"
MIN_RULING = 4.0  # points; shorter segments are glyph strokes or dots, not table rules
HAIRLINE = 2.0  # points; a filled bar thinner than this is drawn as a rule (spreadsheet gridlines)


def file_sha256(path: Path) -> str:
    """The file's sha256, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_background(obj: dict[str, Any]) -> bool:
    """A filled, unstroked rectangle thicker than a rule in both directions."""
    return (
        obj.get("object_type") in ("rect", "rect_edge")
        and bool(obj.get("fill"))
        and not obj.get("stroke")
        and float(obj.get("width", 0)) >= HAIRLINE
        and float(obj.get("height", 0)) >= HAIRLINE
    )


def _rulings(page: Any) -> list[Ruling]:
    out: list[Ruling] = []
    backgrounds = [
        (float(r["x0"]), float(r["top"]), float(r["x1"]), float(r["bottom"])) for r in page.rects if _is_background(r)
    ]
    # a hairline bar painted over a background (a cell border drawn on a header band) is a line
    bars = [
        (float(r["x0"]), float(r["top"]), float(r["x1"]), float(r["bottom"]))
        for r in page.rects
        if r.get("fill") and not r.get("stroke") and not _is_background(r)
    ]

    def source(e: dict[str, Any]) -> str:
        if e.get("object_type") != "rect_edge" or not e.get("fill") or e.get("stroke"):
            return "line"
        box = (float(e["x0"]), float(e["top"]), float(e["x1"]), float(e["bottom"]))
        return "fill" if within_any(box, backgrounds) and not within_any(box, bars) else "line"

    for e in page.edges:
        x0, x1, top, bottom = float(e["x0"]), float(e["x1"]), float(e["top"]), float(e["bottom"])
        if e["orientation"] == "h" and x1 - x0 >= MIN_RULING:
            out.append(Ruling(orientation="h", x0=x0, x1=x1, top=top, bottom=top, source=source(e)))
        elif e["orientation"] == "v" and bottom - top >= MIN_RULING:
            out.append(Ruling(orientation="v", x0=x0, x1=x0, top=top, bottom=bottom, source=source(e)))
    return out


def _fills(page: Any) -> list[BBox]:
    return [
        BBox(x0=float(r["x0"]), top=float(r["top"]), x1=float(r["x1"]), bottom=float(r["bottom"]))
        for r in page.rects
        if _is_background(r)
    ]


def _words(page: Any) -> list[Word]:
    raw = page.extract_words(
        keep_blank_chars=False,
        use_text_flow=False,
        x_tolerance=1.5,
        y_tolerance=2.5,
        extra_attrs=["fontname"],
        return_chars=True,
    )
    words = []
    for w in raw:
        text = str(w["text"]).strip()
        if not text:
            continue
        font = str(w.get("fontname", "")).lower()
        chars = tuple((float(c["x0"]), float(c["x1"])) for c in w["chars"] if str(c["text"]).strip())
        words.append(
            Word(
                text=text,
                x0=float(w["x0"]),
                x1=float(w["x1"]),
                top=float(w["top"]),
                bottom=float(w["bottom"]),
                bold="bold" in font or font.endswith("-b") or "-b" in font.split("+")[-1][-3:],
                chars=chars if len(chars) == len(text) else (),
            )
        )
    return words


class PlumberPages:
    """pdfplumber's pages of one file, read one at a time: the reader `extract.repair.read_document` wraps."""

    def __init__(self, path: Path) -> None:
        import pdfplumber
        from pdfminer.pdfdocument import PDFPasswordIncorrect

        self.drawings: dict[int, PageImageInfo] = {}  # this reader gathers no drawing figures

        try:
            self._pdf = pdfplumber.open(path)
        except Exception as e:  # pdfplumber wraps pdfminer's many exception types
            cause = e.args[0] if e.args and isinstance(e.args[0], Exception) else e
            if isinstance(cause, PDFPasswordIncorrect) or "password" in type(cause).__name__.lower():
                raise InputError(PASSWORD) from e
            raise
        try:
            self._pages = self._pdf.pages
        except Exception:
            self._pdf.close()
            raise

    def __len__(self) -> int:
        return len(self._pages)

    def page(self, number: int) -> Page:
        """Page `number` (1-based): its words, rulings and filled backgrounds."""
        p = self._pages[number - 1]
        try:
            return Page(
                number=number,
                width=float(p.width),
                height=float(p.height),
                words=_words(p),
                rulings=_rulings(p),
                fills=_fills(p),
            )
        finally:
            p.close()

    def close(self) -> None:
        """Release the file."""
        self._pdf.close()


def read_pdf(path: Path) -> tuple[list[Page], list[PageImageInfo] | None]:
    """Every page (pdfium's reader, pdfplumber's for what it does not reproduce), and what pdfium saw of each
    page's drawing for the OCR decision (None when a page was read by pdfplumber: see `extract.pdfium`)."""
    from extract.pdfium import PdfiumPages
    from extract.repair import read_document

    with read_document(path, PdfiumPages) as doc:
        drawings = [doc.drawings.get(p.number) for p in doc.pages]
        return doc.pages, None if None in drawings else [d for d in drawings if d is not None]


def read_pdf_pages(path: Path, reader: Literal["pdfium", "pdfplumber"] = "pdfium") -> list[Page]:
    """Every page's words, rulings and fills, a damaged file read from its repaired copy and a bad page left empty
    (`extract.repair.read_document`, which also says what was done); raises InputError when nothing can be read."""
    from extract.pdfium import PdfiumPages
    from extract.repair import read_document

    with read_document(path, PdfiumPages if reader == "pdfium" else PlumberPages) as doc:
        return doc.pages
