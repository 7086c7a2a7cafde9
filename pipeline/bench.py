"""`make bench`: per style folder, pages per second, peak memory, and the ratio to bare pdfplumber.

Both sides run in the same process tree, one after the other, with the same number of worker
processes: the pipeline (`run_batch`, no cache) and pdfplumber's `page.extract_tables()` and
`page.extract_words()` on the same pages. Wall and CPU seconds are reported (CPU is the steadier
one on a shared machine; the pipeline's is sampled per process, as its workers are not this process's
children; the sampling thread's own CPU, ~10 ms per process and sample, is left out); peak memory is sampled over the
whole process tree (sum of RSS, and of PSS, which counts shared pages once).
`pipeline/bench_ocr.py`, when present, adds its figures for the scan folder.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MB = 1024 * 1024


@dataclass
class Peak:
    """Peak memory of this process and all its descendants, and their CPU seconds, sampled."""

    rss: int = 0
    pss: int = 0
    samples: int = 0
    cpu: dict[tuple[int, float], float] = field(default_factory=dict)  # (pid, start time) -> own CPU seconds
    sampler: float = 0.0  # CPU seconds the sampling thread itself spent (reading /proc is not the pipeline's work)
    stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        import psutil

        me = psutil.Process()
        rss = pss = 0
        for p in [me, *me.children(recursive=True)]:
            try:
                with p.oneshot():
                    info = p.memory_full_info()
                    times = p.cpu_times()
                    key = (p.pid, p.create_time())
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
            self.cpu[key] = times.user + times.system
        self.rss, self.pss, self.samples = max(self.rss, rss), max(self.pss, pss), self.samples + 1

    def cpu_seconds(self) -> float:
        """CPU seconds of every process seen (each its own, children's reaped time not added twice)."""
        return sum(self.cpu.values())

    def run(self, every: float) -> None:
        while not self.stop.is_set():
            start = time.thread_time()
            self.sample()
            self.sampler += time.thread_time() - start
            self.stop.wait(every)


@contextmanager
def peak_memory(every: float = 0.2) -> Iterator[Peak]:
    """Sample the process tree's memory in a thread while the block runs."""
    peak = Peak()
    thread = threading.Thread(target=peak.run, args=(every,), daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        peak.stop.set()
        thread.join()
        peak.sample()


def cpu_seconds() -> float:
    """CPU of this process and of its reaped children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bare_tables(path: Path) -> int:
    """pdfplumber's bare extraction (`extract_tables` and `extract_words`) on every page of a file; the
    pages read (0 when it cannot open it)."""
    import pdfplumber

    try:
        pdf = pdfplumber.open(path)
    except Exception:  # a file the pipeline reports as unreadable: nothing to compare against
        return 0
    with pdf:
        for page in pdf.pages:
            page.extract_tables()
            page.extract_words()
            page.close()
        return len(pdf.pages)


def bench_style(folder: Path, workers: int) -> dict[str, Any]:
    """The pipeline then bare pdfplumber on one folder; figures as a dict."""
    from pipeline.batch import find_pdfs, run_batch
    from pipeline.document import Options

    paths = find_pdfs(folder)
    with peak_memory() as before:
        pass
    with peak_memory() as peak:
        wall = time.perf_counter()
        outcome = run_batch(folder, Options(workers=workers))
        pipe_wall = time.perf_counter() - wall
    pipe_cpu = peak.cpu_seconds() - before.cpu_seconds() - peak.sampler
    pages = sum(r.entry.pages for r in outcome.results)
    wall, cpu = time.perf_counter(), cpu_seconds()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        bare_pages = sum(pool.map(bare_tables, paths))
    bare_wall, bare_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    pipe_pps, bare_pps = pages / pipe_wall, bare_pages / bare_wall if bare_wall else 0.0
    return {
        "style": folder.name,
        "documents": len(paths),
        "failed": sum(r.entry.statut != "ok" for r in outcome.results),
        "pages": pages,
        "workers": workers,
        "seconds": round(pipe_wall, 1),
        "pages_per_s": round(pipe_pps, 2),
        "cpu_s_per_page": round(pipe_cpu / max(pages, 1), 3),
        "sampler_cpu_s": round(peak.sampler, 1),
        "peak_rss_mb": round(peak.rss / MB),
        "peak_pss_mb": round(peak.pss / MB),
        "pdfplumber_pages_per_s": round(bare_pps, 2),
        "pdfplumber_cpu_s_per_page": round(bare_cpu / max(bare_pages, 1), 3),
        "ratio_to_pdfplumber": round(pipe_pps / bare_pps, 3) if bare_pps else None,
        # the pipeline's time over bare pdfplumber's for the same pages (the figure to keep under 0.5)
        "time_ratio": round(bare_pps / pipe_pps, 3) if pipe_pps else None,
        "cpu_ratio_to_pdfplumber": round((pipe_cpu / max(pages, 1)) / (bare_cpu / max(bare_pages, 1)), 2)
        if bare_cpu
        else None,
    }


def ocr_figures(folder: Path) -> dict[str, Any] | None:
    """`pipeline.bench_ocr.bench_ocr` on the folder's files, when that module exists."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("pipeline.bench_ocr") is None:
        return None
    from pipeline.batch import find_pdfs

    module = importlib.import_module("pipeline.bench_ocr")
    figures: dict[str, Any] = module.bench_ocr(find_pdfs(folder))
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print one line per style, then the JSON."""
    from pipeline.document import default_workers

    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder holding one folder per style")
    parser.add_argument("--styles", nargs="*", default=None, help="style folders to run (default: all)")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--no-ocr-bench", action="store_true", help="skip pipeline/bench_ocr.py on the scan folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    folders = sorted(d for d in args.corpus.iterdir() if d.is_dir() and any(d.glob("*.pdf")))
    if args.styles:
        folders = [d for d in folders if d.name in args.styles]
    if not folders:
        print(f"no folder of PDFs in {args.corpus}", file=sys.stderr)
        return 2
    results = []
    for folder in folders:
        figures = bench_style(folder, args.workers)
        if folder.name == "scan" and not args.no_ocr_bench:
            figures["ocr"] = ocr_figures(folder)
        results.append(figures)
        print(
            f"{figures['style']:<8} {figures['documents']:>3} docs {figures['pages']:>4} pages "
            f"{figures['seconds']:>7.1f} s  {figures['pages_per_s']:>6.2f} pages/s  "
            f"peak {figures['peak_pss_mb']} MB PSS ({figures['peak_rss_mb']} MB RSS)  "
            f"pdfplumber {figures['pdfplumber_pages_per_s']:.2f} pages/s  "
            f"pipeline/pdfplumber time ×{figures['time_ratio']} (CPU per page ×{figures['cpu_ratio_to_pdfplumber']})",
            flush=True,
        )
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
