"""Measure table engines on ruled PDFs: camelot lattice, pdfplumber's line strategy, ours.

    python -m pipeline.engines PDF [PDF ...]

Prints, per file, the raw table rows each engine finds and its time; ours also joins rows cut by
page breaks and sets total rows apart, so it reports action rows. The measurement behind the
choice recorded in the README: on ruled annexes camelot lattice and pdfplumber draw the same grids,
camelot 3-5 times slower, so the ruled path reads pdfplumber's rulings."""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path


def measure(pdf: Path) -> dict[str, tuple[int, float]]:
    """Rows found and seconds taken by each engine for one PDF."""
    import camelot
    import pdfplumber

    from extract.pdf import read_pdf_pages
    from pipeline.document import pages_to_convention

    out: dict[str, tuple[int, float]] = {}
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables = camelot.read_pdf(str(pdf), flavor="lattice", pages="all")  # type: ignore[attr-defined]
    out["camelot lattice"] = (sum(max(0, tb.df.shape[0] - 1) for tb in tables), time.perf_counter() - t)
    t = time.perf_counter()
    with pdfplumber.open(pdf) as doc:
        rows = sum(max(0, len(tb) - 1) for page in doc.pages for tb in page.extract_tables())
    out["pdfplumber lines"] = (rows, time.perf_counter() - t)
    t = time.perf_counter()
    conv = pages_to_convention(read_pdf_pages(pdf), pdf.name, "")
    out["lda-conventions"] = (sum(len(a.lines) for a in conv.annexes), time.perf_counter() - t)
    return out


def main(argv: list[str]) -> int:
    for name in argv:
        pdf = Path(name)
        figures = "; ".join(f"{k} {n} lignes ({s:.1f} s)" for k, (n, s) in measure(pdf).items())
        print(f"{pdf.name}: {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
