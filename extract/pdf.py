"""Read a born-digital PDF into pages of words and ruling lines (pdfplumber)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from extract.errors import InputError
from models import Page, Ruling, Word

MIN_RULING = 4.0  # points; shorter segments are glyph strokes or dots, not table rules


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


def _rulings(page: Any) -> list[Ruling]:
    out: list[Ruling] = []
    for e in page.edges:
        x0, x1, top, bottom = float(e["x0"]), float(e["x1"]), float(e["top"]), float(e["bottom"])
        if e["orientation"] == "h" and x1 - x0 >= MIN_RULING:
            out.append(Ruling(orientation="h", x0=x0, x1=x1, top=top, bottom=top))
        elif e["orientation"] == "v" and bottom - top >= MIN_RULING:
            out.append(Ruling(orientation="v", x0=x0, x1=x0, top=top, bottom=bottom))
    return out


def _words(page: Any) -> list[Word]:
    raw = page.extract_words(
        keep_blank_chars=False, use_text_flow=False, x_tolerance=1.5, y_tolerance=2.5, extra_attrs=["fontname"]
    )
    words = []
    for w in raw:
        text = str(w["text"]).strip()
        if not text:
            continue
        font = str(w.get("fontname", "")).lower()
        words.append(
            Word(
                text=text,
                x0=float(w["x0"]),
                x1=float(w["x1"]),
                top=float(w["top"]),
                bottom=float(w["bottom"]),
                bold="bold" in font or font.endswith("-b") or "-b" in font.split("+")[-1][-3:],
            )
        )
    return words


def read_pdf_pages(path: Path) -> list[Page]:
    """Every page's words and rulings; raises InputError when pdfplumber cannot open the file."""
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
                    Page(number=i, width=float(p.width), height=float(p.height), words=_words(p), rulings=_rulings(p))
                )
            except Exception as e:
                raise InputError(f"page {i} illisible : {type(e).__name__} {e}") from e
            finally:
                p.close()
        return pages
