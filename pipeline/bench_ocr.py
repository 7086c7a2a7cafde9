"""Speed of the scan path: the whole pipeline against bare Tesseract on the same pages, same run.

Bare OCR is the least any OCR'd extraction must do: render each image page at the resolution
the pipeline picks and run Tesseract once on it (same language and page segmentation mode).
Both sides run one page at a time in this process, alternating per document so that a change
in machine load affects both; wall and CPU seconds (children included) are reported."""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

from extract.ocr import OcrSettings, TesseractEngine, choose_dpi, decide, page_image_info
from extract.pdf import read_pdf_pages


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bare_ocr(path: Path, language: str = "fra", settings: OcrSettings | None = None) -> int:
    """Render and OCR every page of `path` that needs OCR; returns how many pages that was."""
    from extract.image import render_page

    settings = settings or OcrSettings()
    engine = TesseractEngine()
    pages = read_pdf_pages(path)
    infos = page_image_info(path)
    done = 0
    for k, (page, info) in enumerate(zip(pages, infos, strict=False)):
        if not decide(page, info).needed:
            continue
        dpi = choose_dpi(info, settings)
        engine.recognize(render_page(path, k, dpi), dpi, language, settings.psm)
        done += 1
    return done


_WARM_UP_LINES = [
    "CONVENTION PLURIANNUELLE D'OBJECTIFS",
    "ARTICLE 1 - MONTANT DE LA SUBVENTION",
    "Au titre de l'année 2023, le soutien de l'État s'élève à 100 000 euros.",
    "Annexe 1 - Plan d'actions",
    "Pilote Action Statut Financement AMI 2023 Cofinancements",
    "DDETS Maraude En cours 10 000 € 5 000 €",
]


def warm_up() -> None:
    """Run the text stages once on a small made-up page, outside the timings, so that what they load
    lazily once per process (language models) is not charged to the first document: a batch worker
    pays it once for many documents."""
    from models import Page, Word
    from pipeline.document import pages_to_convention

    words = []
    for n, line in enumerate(_WARM_UP_LINES):
        x = 72.0
        for token in line.split():
            words.append(Word(text=token, x0=x, top=72 + 20 * n, x1=x + 6 * len(token), bottom=84 + 20 * n))
            x += 6 * len(token) + 4
    pages_to_convention([Page(number=1, width=595, height=842, words=words)], "warm-up.pdf", "0" * 64)


def bench_ocr(paths: list[Path], language: str = "fra") -> dict[str, Any]:
    """Seconds per OCR'd page for the whole pipeline and for bare OCR of the same pages.

    Returns totals, per-page figures, the ratios (`ratio` on wall time, `cpu_ratio` on CPU time,
    the steadier one on a shared machine) and one entry per document."""
    from pipeline.document import Options, process_document

    options = Options(ocr_language=language)
    warm_up()
    docs = []
    totals = {"pages": 0, "pipeline_s": 0.0, "bare_s": 0.0, "pipeline_cpu_s": 0.0, "bare_cpu_s": 0.0}
    for path in paths:
        wall, cpu = time.perf_counter(), _cpu()
        pages = bare_ocr(path, language)
        bare_s, bare_cpu = time.perf_counter() - wall, _cpu() - cpu
        wall, cpu = time.perf_counter(), _cpu()
        convention, _flags = process_document(path, path.name, options)
        pipe_s, pipe_cpu = time.perf_counter() - wall, _cpu() - cpu
        docs.append(
            {
                "fichier": path.name,
                "pages": convention.pages,
                "ocr_pages": pages,
                "pipeline_s": round(pipe_s, 2),
                "bare_ocr_s": round(bare_s, 2),
                "pipeline_cpu_s": round(pipe_cpu, 2),
                "bare_ocr_cpu_s": round(bare_cpu, 2),
            }
        )
        totals["pages"] += pages
        totals["pipeline_s"] += pipe_s
        totals["bare_s"] += bare_s
        totals["pipeline_cpu_s"] += pipe_cpu
        totals["bare_cpu_s"] += bare_cpu
    n = max(1, int(totals["pages"]))
    return {
        "documents": len(paths),
        "ocr_pages": int(totals["pages"]),
        "pipeline_s_per_page": round(totals["pipeline_s"] / n, 3),
        "bare_ocr_s_per_page": round(totals["bare_s"] / n, 3),
        "ratio": round(totals["pipeline_s"] / totals["bare_s"], 3) if totals["bare_s"] else None,
        "pipeline_cpu_s_per_page": round(totals["pipeline_cpu_s"] / n, 3),
        "bare_ocr_cpu_s_per_page": round(totals["bare_cpu_s"] / n, 3),
        "cpu_ratio": round(totals["pipeline_cpu_s"] / totals["bare_cpu_s"], 3) if totals["bare_cpu_s"] else None,
        "per_document": docs,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(bench_ocr([Path(p) for p in sys.argv[1:]]), indent=2, ensure_ascii=False))
