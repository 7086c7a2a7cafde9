"""Read a born-digital PDF into pages of words and ruling lines (pdfplumber)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from extract.errors import InputError
from models import BBox, Page, Ruling, Word

if TYPE_CHECKING:
    from extract.ocr import PageImageInfo

MIN_RULING = 4.0  # points; shorter segments are glyph strokes or dots, not table rules
HAIRLINE = 2.0  # points; a filled bar thinner than this is drawn as a rule (spreadsheet gridlines)


def file_sha256(path: Path) -> str:
    """The file's sha256, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_pdf(path: Path) -> None:
    """Raise InputError with a French message when the file is plainly not a usable PDF."""
    size = path.stat().st_size
    if size == 0:
        raise InputError("fichier vide (0 octet)")
    with path.open("rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        raise InputError("ce fichier n'est pas un PDF (signature %PDF absente)")


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

    def source(e: dict[str, Any]) -> str:
        if e.get("object_type") != "rect_edge" or not e.get("fill") or e.get("stroke"):
            return "line"
        x0, top, x1, bottom = float(e["x0"]), float(e["top"]), float(e["x1"]), float(e["bottom"])
        inside = any(
            bx0 - 0.01 <= x0 and x1 <= bx1 + 0.01 and btop - 0.01 <= top and bottom <= bbottom + 0.01
            for bx0, btop, bx1, bbottom in backgrounds
        )
        return "fill" if inside else "line"

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


def read_pdf(path: Path) -> tuple[list[Page], list[PageImageInfo] | None]:
    """Every page, and what pdfium saw of each page's drawing for the OCR decision (None when the
    pdfplumber reader had to read the file: see `extract.pdfium`)."""
    from extract.pdfium import read_pdfium

    check_pdf(path)
    got = read_pdfium(path)
    if got is not None:
        return got.pages, got.drawings
    return read_pdf_pages(path, reader="pdfplumber"), None


def read_pdf_pages(path: Path, reader: Literal["pdfium", "pdfplumber"] = "pdfium") -> list[Page]:
    """Every page's words and rulings; raises InputError when pdfplumber cannot open the file."""
    if reader == "pdfium":
        return read_pdf(path)[0]
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError

    check_pdf(path)
    try:
        pdf = pdfplumber.open(path)
    except Exception as e:  # pdfminer raises many unrelated types on damaged files, pdfplumber wraps them
        cause = e.args[0] if e.args and isinstance(e.args[0], Exception) else e
        if isinstance(cause, PDFPasswordIncorrect) or "password" in type(cause).__name__.lower():
            raise InputError("PDF chiffré : fournir une version sans mot de passe") from e
        if isinstance(cause, PDFSyntaxError):
            raise InputError(f"PDF endommagé ou tronqué ({cause})") from e
        raise InputError(f"PDF illisible ({type(cause).__name__} {cause}) : vérifier que le fichier s'ouvre") from e
    with pdf:
        if getattr(pdf.doc, "encryption", None) and not pdf.pages:
            raise InputError("PDF chiffré : fournir une version sans mot de passe")
        try:
            n = len(pdf.pages)
        except Exception as e:
            raise InputError(f"PDF endommagé : pages illisibles ({type(e).__name__})") from e
        if n == 0:
            raise InputError("PDF sans aucune page")
        pages = []
        for i, p in enumerate(pdf.pages, 1):
            try:
                pages.append(
                    Page(
                        number=i,
                        width=float(p.width),
                        height=float(p.height),
                        words=_words(p),
                        rulings=_rulings(p),
                        fills=_fills(p),
                    )
                )
            except Exception as e:
                raise InputError(f"page {i} illisible : {type(e).__name__} {e}") from e
            finally:
                p.close()
        return pages
