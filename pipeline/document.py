"""One document through every stage, top to bottom."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from extract.annexes import tables_to_annexes
from extract.layout import lines_text, words_to_lines
from extract.pdf import file_sha256
from extract.pdfium import PdfiumPages
from extract.repair import read_document
from extract.tables import page_to_tables
from models import Convention, Flag, Page, PageTable, Word
from normalize.actions import raw_to_annex
from normalize.articles import articles_to_declared
from normalize.declared import totals_to_declared
from normalize.fields import read_fields
from normalize.lexique import Lexique, lexique_digest, load_lexique
from normalize.parties import acronym_of, read_parties
from normalize.pilots import split_pilots
from normalize.text import lexicon


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Options(BaseModel):
    """How a batch and each document are processed; built by the CLI, validated here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ocr: bool = True
    ocr_language: str = "fra"
    workers: int = Field(default_factory=default_workers, ge=1, le=256)
    document_timeout: float | None = Field(default=600.0, gt=0)
    abort_on_error: bool = False
    use_cache: bool = True
    debug_dir: Path | None = None
    lexique: Path | None = None  # an analyst's lexicon, merged with the built-in one
    worker_memory_mb: int | None = Field(default=3072, ge=256)  # address space per worker (RLIMIT_AS); None: no cap

    RUN_ONLY: ClassVar[frozenset[str]] = frozenset(
        {"workers", "document_timeout", "abort_on_error", "use_cache", "debug_dir", "worker_memory_mb"}
    )

    def result_fingerprint(self) -> str:
        """The options that change what a document yields, as canonical JSON (part of the cache key)."""
        data = self.model_dump(mode="json", exclude=set(self.RUN_ONLY) | {"lexique"})
        data["lexique"] = lexique_digest(self.lexique)  # the file's content, not its name
        return json.dumps(data, sort_keys=True)


def pages_to_tables(pages: list[Page], lines: list[list[list[Word]]] | None = None) -> list[PageTable]:
    """Tables of every page; a borderless table may continue on the next page with its columns (`lines`:
    each page's `words_to_lines`, when the caller has them already)."""
    tables: list[PageTable] = []
    inherited: list[float] | None = None
    for k, page in enumerate(pages):
        found = page_to_tables(page, inherited, lines[k] if lines is not None else None)
        tables.extend(found)
        last = found[-1] if found else None
        inherited = (
            last.columns
            if last and last.report.method == "borderless" and last.header
            else (inherited if last and last.report.method == "borderless" else None)
        )
    return tables


def pages_to_convention(
    pages: list[Page], fichier: str, sha: str, lexique: Lexique | None = None, page_count: int | None = None
) -> Convention:
    """Extracted pages to the convention model: fields, parties, annexes, declared totals (`page_count`: the
    document's pages when not all were read)."""
    lines = [words_to_lines(p.words) for p in pages]  # read once, for the text and the tables
    texts = [lines_text(ln) for ln in lines]
    words = lexicon(texts)
    parties = read_parties(texts)
    raw_annexes = tables_to_annexes(pages_to_tables(pages, lines), lexique)
    acronyms = {
        part
        for ra in raw_annexes
        for rl in ra.lines
        for part in split_pilots(" ".join(rl.cells.get("pilote", [])))
        if part.isupper() and part.isalpha() and acronym_of(part, parties.territoire)
    }
    parties.acronyms = sorted(acronyms)
    annexes = [raw_to_annex(ra, parties, fichier, sha, words, lexique) for ra in raw_annexes if ra.lists_actions]
    fields = read_fields(texts, parties.territoire)
    return Convention(
        fichier=fichier,
        sha256=sha,
        pages=page_count or len(pages),
        ocr=any(p.ocr.needed for p in pages),
        ocr_pages=[p.number for p in pages if p.ocr.needed],
        fields=fields,
        parties=parties,
        annexes=annexes,
        declared=articles_to_declared(texts, fichier, sha) + totals_to_declared(annexes),
        page_texts=texts,
    )


def process_document(path: Path, fichier: str, options: Options) -> tuple[Convention, list[Flag]]:
    """Read, normalise and reconcile one PDF; raises `extract.errors.InputError` on unreadable input."""
    sha = file_sha256(path)
    with read_document(path, PdfiumPages) as doc:  # doc.path: the input, or its repaired copy while the block runs
        pages = doc.pages
        if options.ocr:
            from extract.ocr import ocr_pages_if_needed

            pages = ocr_pages_if_needed(doc.path, pages, options.ocr_language, skip=doc.skipped, drawings=doc.drawings)
    read_flags = doc.flags(fichier) + [
        Flag(
            fichier=fichier,
            code="PAGE_UNREADABLE",
            gravite="alerte",
            page=p.number,
            trouve=p.ocr.error,
            message=f"Page {p.number} non lue par OCR ({p.ocr.error}) ; le reste du document est lu. "
            "Vérifier cette page sur l'original.",
        )
        for p in pages
        if p.ocr.error
    ]
    lexique = load_lexique(options.lexique) if options.lexique else None
    convention = pages_to_convention(pages, fichier, sha, lexique, doc.page_count)
    from reconcile import convention_to_flags

    return convention, read_flags + convention_to_flags(convention)
