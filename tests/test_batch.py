"""The batch: bad input beside good, timeouts, crashes, duplicates, the cache, resuming, aborting."""

from __future__ import annotations

import csv
import importlib.machinery
import io
import json
import os
import shutil
import subprocess
import sys
import time
import types
from pathlib import Path

import psutil
import pytest

from export.contract import write_contract
from models import Convention, Flag
from pipeline.batch import (
    BatchOutcome,
    DocumentResult,
    cross_document_flags,
    decode_result,
    encode_result,
    find_pdfs,
    run_batch,
    run_one,
)
from pipeline.cache import ResultCache, pipeline_version
from pipeline.document import Options
from tests.conftest import FIXTURES

GOOD = [
    FIXTURES / "lattice" / "Avenant_2024_CPO_CUBellisac.pdf",
    FIXTURES / "lattice" / "Convention_partenariat_ARHlm_Frenaval_2024-2026.pdf",
]
BAD = FIXTURES / "bad"
# Each bad kind and words its French message must hold.
BAD_MESSAGES = {
    "vide.pdf": ["vide"],
    "pas_un_pdf.pdf": ["pas un PDF"],
    "irreparable.pdf": ["endommagé", "irréparable"],
    "sans_page.pdf": ["aucune page"],
    "chiffre.pdf": ["chiffré", "mot de passe"],
    "bloque.pdf": ["délai dépassé", "arrêté"],
}
TIMEOUT = 15.0  # long enough for a real document under load; the stuck one never finishes


def hanging_runner(path: Path, fichier: str, options: Options) -> DocumentResult:
    """A worker runner for tests: `bloque*` hangs (with a child process), `plante*` kills its worker."""
    if path.name.startswith("bloque"):
        child = subprocess.Popen(["sleep", "600"])
        path.with_name(path.name + ".pids").write_text(f"{os.getpid()} {child.pid}")
        time.sleep(600)
    if path.name.startswith("plante"):
        os._exit(3)
    return run_one(path, fichier, options)


def _gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def _contract_files(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.csv"))}


def _write(out: Path, outcome: BatchOutcome) -> None:
    write_contract(
        out,
        [r.convention for r in outcome.results if r.convention is not None],
        [f for r in outcome.results for f in r.flags],
        [r.entry for r in outcome.results],
    )


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def good_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("good")
    for p in GOOD:
        shutil.copy(p, d / p.name)
    return d


@pytest.fixture(scope="module")
def reference(good_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[BatchOutcome, Path]:
    """The good files alone, no cache: what a mixed run must reproduce for them."""
    outcome = run_batch(good_dir, Options(workers=2))
    out = tmp_path_factory.mktemp("ref-out")
    _write(out, outcome)
    return outcome, out


def test_reference_run_reads_every_good_file(reference: tuple[BatchOutcome, Path]) -> None:
    outcome, out = reference
    assert [r.entry.statut for r in outcome.results] == ["ok", "ok"]
    assert outcome.processed == 2 and outcome.from_cache == 0
    assert any(r.convention and r.convention.annexes for r in outcome.results)
    assert list((out / "territories").iterdir())


def test_bad_files_never_disturb_good_ones(reference: tuple[BatchOutcome, Path], tmp_path: Path) -> None:
    _, ref_out = reference
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for p in GOOD:
        shutil.copy(p, mixed / p.name)
    for p in BAD.glob("*.pdf"):
        if p.name != "tronque.pdf":  # qpdf repairs it: tests/test_damaged.py
            shutil.copy(p, mixed / p.name)
    # readable (its own content, so not merged with its source), but its worker hangs until the timeout stops it
    (mixed / "bloque.pdf").write_bytes(GOOD[1].read_bytes() + b"\n% bloque\n")
    assert set(BAD_MESSAGES) <= {p.name for p in mixed.iterdir()}

    outcome = run_batch(mixed, Options(workers=2, document_timeout=TIMEOUT), runner=hanging_runner)
    out = tmp_path / "out"
    _write(out, outcome)

    by_file = {r.entry.fichier: r for r in outcome.results}
    assert set(by_file) == {p.name for p in GOOD} | set(BAD_MESSAGES)
    for name, words in BAD_MESSAGES.items():
        r = by_file[name]
        assert r.entry.statut == "erreur" and r.convention is None, name
        assert r.entry.erreur and all(w in r.entry.erreur for w in words), (name, r.entry.erreur)
        assert [f.code for f in r.flags] == ["EXTRACTION_FAILED"], name
        assert r.flags[0].gravite == "erreur" and r.flags[0].message.startswith("Fichier illisible")

    assert [by_file[p.name].entry.erreur for p in GOOD] == [None, None]
    # the good files' outputs are those of the run without the bad files
    assert _contract_files(out) | {"flags.csv": ""} == _contract_files(ref_out) | {"flags.csv": ""}
    good_names = {p.name for p in GOOD}
    flags = [r for r in _rows((out / "flags.csv").read_text(encoding="utf-8")) if r["fichier"] in good_names]
    assert flags == _rows((ref_out / "flags.csv").read_text(encoding="utf-8"))
    run = {e["fichier"]: e for e in json.loads((out / "run.json").read_text(encoding="utf-8"))}
    ref_run = {e["fichier"]: e for e in json.loads((ref_out / "run.json").read_text(encoding="utf-8"))}
    for name in good_names:
        assert {**run[name], "secondes": 0} == {**ref_run[name], "secondes": 0}
    for name in BAD_MESSAGES:
        assert run[name]["statut"] == "erreur" and run[name]["erreur"]

    # the timeout really stopped the stuck worker and the process it had started
    pids = [int(x) for x in (mixed / "bloque.pdf.pids").read_text().split()]
    assert all(_gone(pid) for pid in pids), pids


def test_encrypted_pdf_says_so() -> None:
    r = run_one(BAD / "chiffre.pdf", "chiffre.pdf", Options())
    assert r.entry.erreur is not None and "chiffré" in r.entry.erreur


def test_a_crashing_worker_is_an_error_entry_and_the_batch_goes_on(tmp_path: Path) -> None:
    shutil.copy(BAD / "vide.pdf", tmp_path / "plante.pdf")
    shutil.copy(BAD / "pas_un_pdf.pdf", tmp_path / "autre.pdf")
    outcome = run_batch(tmp_path, Options(workers=1), runner=hanging_runner, warm=False)
    by_file = {r.entry.fichier: r.entry for r in outcome.results}
    assert by_file["plante.pdf"].statut == "erreur"
    assert "arrêté brutalement" in (by_file["plante.pdf"].erreur or "")
    assert "pas un PDF" in (by_file["autre.pdf"].erreur or "")


def test_same_content_is_read_once_and_same_names_never_collide(tmp_path: Path) -> None:
    src = tmp_path / "in"
    for folder, pdf in (("Nord", GOOD[0]), ("Sud", GOOD[1]), ("Copie", GOOD[0])):
        (src / folder).mkdir(parents=True)
        shutil.copy(pdf, src / folder / "convention.pdf")
    outcome = run_batch(src, Options(workers=2))
    assert outcome.processed == 2 and outcome.duplicates == 1
    by_file = {r.entry.fichier: r for r in outcome.results}
    assert set(by_file) == {"Nord/convention.pdf", "Sud/convention.pdf", "Copie/convention.pdf"}
    copy, first = by_file["Copie/convention.pdf"], by_file["Nord/convention.pdf"]
    assert copy.entry.sha256 == first.entry.sha256 != by_file["Sud/convention.pdf"].entry.sha256
    assert copy.convention is not None and first.convention is not None
    # the copy carries its own name everywhere, provenance included
    assert copy.convention.fichier == "Copie/convention.pdf"
    provenance = [ln.provenance.file for a in copy.convention.annexes for ln in a.lines]
    assert provenance and set(provenance) == {"Copie/convention.pdf"}
    assert copy.convention.model_dump(exclude={"fichier", "annexes", "declared"}) == first.convention.model_dump(
        exclude={"fichier", "annexes", "declared"}
    )
    out = tmp_path / "out"
    _write(out, outcome)
    fichiers = {r["fichier"] for p in out.rglob("actions.csv") for r in _rows(p.read_text(encoding="utf-8"))}
    assert {"Nord/convention.pdf", "Copie/convention.pdf"} <= fichiers


def test_cache_reuses_everything_and_only_changed_files_are_work(good_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    shutil.copytree(good_dir, src)
    options = Options(workers=2)
    cache = ResultCache(tmp_path / "cache", pipeline_version(), options.result_fingerprint())
    first = run_batch(src, options, cache)
    again = run_batch(src, options, cache)
    assert (first.processed, again.processed, again.from_cache) == (2, 0, 2)
    assert [encode_result(r) for r in again.results] == [encode_result(r) for r in first.results]
    (src / "nouveau.pdf").write_bytes(b"")  # an added file is the only work
    third = run_batch(src, options, cache)
    assert (third.processed, third.from_cache) == (1, 2)


def test_an_interrupted_run_resumes_from_the_cache(good_dir: Path, tmp_path: Path) -> None:
    options = Options(workers=1)
    cache = ResultCache(tmp_path / "cache", pipeline_version(), options.result_fingerprint())

    class Interrupt:
        def planned(self, files: int, to_process: int) -> None:
            pass

        def started(self, fichier: str) -> None:
            pass

        def finished(self, result: DocumentResult, cached: bool) -> None:
            raise KeyboardInterrupt  # Ctrl-C right after the first document

    with pytest.raises(KeyboardInterrupt):
        run_batch(good_dir, options, cache, Interrupt())
    assert len(list(cache.root.rglob("*.json"))) == 1
    resumed = run_batch(good_dir, options, cache)
    assert (resumed.processed, resumed.from_cache) == (1, 1)
    assert [r.entry.statut for r in resumed.results] == ["ok", "ok"]


def test_abort_on_error_stops_at_the_first_failed_file(tmp_path: Path) -> None:
    shutil.copy(BAD / "vide.pdf", tmp_path / "vide.pdf")
    shutil.copy(BAD / "pas_un_pdf.pdf", tmp_path / "zz.pdf")
    outcome = run_batch(tmp_path, Options(workers=1, abort_on_error=True), warm=False)
    assert outcome.aborted
    assert len(outcome.results) == 1 and outcome.results[0].entry.statut == "erreur"


def test_results_survive_their_payload_and_cache_keys_follow_options(reference: tuple[BatchOutcome, Path]) -> None:
    r = reference[0].results[0]
    assert r.convention is not None and r.convention.page_texts and r.flags
    back = decode_result(encode_result(r), "b/x.pdf")
    assert back.convention is not None and back.convention.page_texts == r.convention.page_texts
    assert back.entry.fichier == "b/x.pdf" and back.convention.fichier == "b/x.pdf"
    assert all(f.fichier == "b/x.pdf" for f in back.flags)
    assert decode_result(encode_result(r)).model_dump() == r.model_dump()
    v = pipeline_version()
    base = ResultCache(Path("/nonexistent"), v, Options().result_fingerprint())
    assert base.key("ab") != ResultCache(Path("/x"), v, Options(ocr=False).result_fingerprint()).key("ab")
    assert base.key("ab") == ResultCache(Path("/x"), v, Options(workers=7, use_cache=False).result_fingerprint()).key(
        "ab"
    )
    assert base.key("ab") != ResultCache(Path("/x"), v + "x", Options().result_fingerprint()).key("ab")


def test_an_unreadable_cache_entry_is_processed_again(tmp_path: Path) -> None:
    shutil.copy(BAD / "vide.pdf", tmp_path / "vide.pdf")
    options = Options(workers=1)
    cache = ResultCache(tmp_path / ".c", pipeline_version(), options.result_fingerprint())
    first = run_batch(tmp_path, options, cache, warm=False)
    entry = next(cache.root.rglob("*.json"))
    entry.write_text("{not json", encoding="utf-8")
    again = run_batch(tmp_path, options, cache, warm=False)
    assert again.processed == 1 and again.results[0].entry.erreur == first.results[0].entry.erreur


def test_options_are_validated_at_construction() -> None:
    from pydantic import ValidationError

    for bad in ({"workers": 0}, {"document_timeout": 0}, {"document_timeout": -1}, {"colour": "red"}):
        with pytest.raises(ValidationError):
            Options(**bad)
    assert Options().workers >= 1
    run_only = Options(workers=3, document_timeout=5, abort_on_error=True, use_cache=False, debug_dir=Path("/d"))
    assert run_only.result_fingerprint() == Options().result_fingerprint()
    assert json.loads(Options(ocr_language="eng").result_fingerprint())["ocr_language"] == "eng"


def test_find_pdfs_skips_hidden_files_and_the_output_folder(tmp_path: Path) -> None:
    for rel in ("a.pdf", "B/c.PDF", ".cache/x.pdf", "._a.pdf", "out/report.pdf", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"%PDF-")
    found = [p.relative_to(tmp_path).as_posix() for p in find_pdfs(tmp_path, (tmp_path / "out",))]
    assert found == ["B/c.PDF", "a.pdf"]


def test_cross_document_checks_are_called_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[Convention]] = []
    flag = Flag(fichier="a.pdf", code="DECLARED_VS_ANNEX", gravite="alerte", message="avenant")

    def conventions_to_flags(conventions: list[Convention]) -> list[Flag]:
        seen.append(conventions)
        return [flag]

    fake = types.ModuleType("reconcile.cross")
    fake.__spec__ = importlib.machinery.ModuleSpec("reconcile.cross", None)
    fake.conventions_to_flags = conventions_to_flags  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "reconcile.cross", fake)
    assert cross_document_flags([]) == [flag] and seen == [[]]


def test_bench_reports_every_figure_per_style(tmp_path: Path) -> None:
    from pipeline.bench import main

    (tmp_path / "lattice").mkdir()
    shutil.copy(GOOD[1], tmp_path / "lattice" / "a.pdf")
    shutil.copy(BAD / "vide.pdf", tmp_path / "lattice" / "vide.pdf")
    (tmp_path / "truth").mkdir()  # a folder without PDFs is not a style
    assert main(["--corpus", str(tmp_path), "--workers", "1", "--json", str(tmp_path / "b.json")]) == 0
    [figures] = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    assert figures["style"] == "lattice" and figures["documents"] == 2 and figures["failed"] == 1
    assert figures["pages"] > 0 and figures["pages_per_s"] > 0 and figures["pdfplumber_pages_per_s"] > 0
    assert figures["peak_pss_mb"] > 0 and figures["peak_rss_mb"] >= figures["peak_pss_mb"]
    assert figures["ratio_to_pdfplumber"] > 0 and figures["cpu_ratio_to_pdfplumber"] > 0
    assert main(["--corpus", str(tmp_path / "truth")]) == 2
