"""A folder of PDFs through the pipeline: in parallel, with a run entry for every file."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel

from extract.errors import InputError
from models import Convention, Flag, RunEntry
from pipeline.document import Options, process_document


class DocumentResult(BaseModel):
    """What one file produced: its convention and flags, or its error."""

    entry: RunEntry
    convention: Convention | None = None
    flags: list[Flag] = []


def find_pdfs(root: Path) -> list[Path]:
    """Every file under `root` that claims to be a PDF (by name), sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")


def failed(fichier: str, message: str, seconds: float) -> DocumentResult:
    flag = Flag(
        fichier=fichier,
        code="EXTRACTION_FAILED",
        gravite="erreur",
        message=f"Fichier illisible : {message}. Le lot continue sans ce fichier.",
        trouve=message,
    )
    return DocumentResult(
        entry=RunEntry(fichier=fichier, statut="erreur", erreur=message, secondes=round(seconds, 3)), flags=[flag]
    )


def run_one(path: Path, fichier: str, options: Options) -> DocumentResult:
    """One file, never raising: an unreadable file becomes an error entry and a flag."""
    start = time.perf_counter()
    try:
        convention, flags = process_document(path, fichier, options)
    except InputError as e:
        return failed(fichier, str(e), time.perf_counter() - start)
    except Exception as e:  # a bug on one file must not end the batch; the message says what happened
        return failed(fichier, f"erreur interne ({type(e).__name__} : {e})", time.perf_counter() - start)
    territoire = convention.parties.territoire
    for f in flags:
        f.territoire = territoire
    entry = RunEntry(
        fichier=fichier,
        statut="ok",
        territoire=territoire,
        pages=convention.pages,
        secondes=round(time.perf_counter() - start, 3),
        sha256=convention.sha256,
    )
    return DocumentResult(entry=entry, convention=convention, flags=flags)
