"""A folder of PDFs through the pipeline: in parallel, with a run entry for every file."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import resource
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, SpawnContext
from pathlib import Path
from typing import Any, Protocol, cast

from pydantic import BaseModel, ValidationError

from extract.errors import InputError
from models import Convention, Flag, RunEntry
from pipeline.cache import ResultCache
from pipeline.document import Options, process_document

PAYLOAD_FORMAT = 1
MAX_TASKS_PER_WORKER = 200  # a worker is replaced after this many documents, so memory cannot creep
KILL_GRACE = 2.0  # seconds a stopped worker gets between SIGTERM and SIGKILL
STARTUP_GRACE = 120.0  # seconds a new worker may take to import and warm up before its document's clock starts


class DocumentResult(BaseModel):
    """What one file produced: its convention and flags, or its error."""

    entry: RunEntry
    convention: Convention | None = None
    flags: list[Flag] = []
    cacheable: bool = True


def find_pdfs(root: Path, exclude: tuple[Path, ...] = ()) -> list[Path]:
    """Every file under `root` named `*.pdf`, sorted; hidden files and folders and `exclude` trees skipped."""
    skip = [e.resolve() for e in exclude]
    found = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file() or p.suffix.lower() != ".pdf":
            continue
        if any(p.resolve().is_relative_to(s) for s in skip):
            continue
        found.append(p)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def failed(fichier: str, message: str, seconds: float, cacheable: bool = True) -> DocumentResult:
    """The result of a file that could not be processed: an error entry and an EXTRACTION_FAILED flag."""
    flag = Flag(
        fichier=fichier,
        code="EXTRACTION_FAILED",
        gravite="erreur",
        message=f"Fichier illisible : {message}. Le lot continue sans ce fichier.",
        trouve=message,
    )
    return DocumentResult(
        entry=RunEntry(fichier=fichier, statut="erreur", erreur=message, secondes=round(seconds, 3)),
        flags=[flag],
        cacheable=cacheable,
    )


def run_one(
    path: Path, fichier: str, options: Options, process: Callable[..., tuple[Convention, list[Flag]]] = process_document
) -> DocumentResult:
    """One file, never raising: an unreadable file becomes an error entry and a flag (`process`: the stages)."""
    start = time.perf_counter()
    try:
        convention, flags = process(path, fichier, options)
    except InputError as e:
        return failed(fichier, str(e), time.perf_counter() - start)
    except MemoryError:  # the worker's memory cap (`--worker-memory`) was reached
        cap = f" : le traitement dépasse {options.worker_memory_mb} Mo (option --worker-memory)"
        message = "mémoire insuffisante" + (cap if options.worker_memory_mb else "")
        return failed(fichier, message, time.perf_counter() - start, cacheable=False)
    except Exception as e:  # a bug on one file must not end the batch; the message says what happened
        message = f"erreur interne ({type(e).__name__} : {e})"
        return failed(fichier, message, time.perf_counter() - start, cacheable=False)
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


# --- serialisation: the same bytes go to the cache and from the workers to the parent ---------------------------


def encode_result(result: DocumentResult) -> str:
    """The JSON payload of a result, page texts included (the model excludes them from its dumps)."""
    page_texts = result.convention.page_texts if result.convention else []
    payload = {"format": PAYLOAD_FORMAT, "result": result.model_dump(mode="json"), "page_texts": page_texts}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _relabel(node: Any, old: str, new: str) -> Any:
    """Replace the file label `old` by `new` wherever a `fichier` or `file` field holds it."""
    if isinstance(node, dict):
        return {k: new if k in ("fichier", "file") and v == old else _relabel(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_relabel(v, old, new) for v in node]
    return node


def decode_result(payload: str, fichier: str | None = None) -> DocumentResult:
    """A result back from its payload, relabelled to `fichier` (the same content found under another name)."""
    data = json.loads(payload)
    if data.get("format") != PAYLOAD_FORMAT:
        raise ValueError(f"unknown payload format {data.get('format')!r}")
    raw = data["result"]
    if fichier is not None and raw["entry"]["fichier"] != fichier:
        raw = _relabel(raw, raw["entry"]["fichier"], fichier)
    result = DocumentResult.model_validate(raw)
    if result.convention is not None:
        result.convention.page_texts = list(data.get("page_texts", []))
    return result


# --- worker processes that can be stopped --------------------------------------------------------------------------


Runner = Callable[[Path, str, Options], DocumentResult]


# an article as conventions word them: its words reach the parts of the French tokenizer that compile on
# first use (`normalize.french_model`), once in the forkserver rather than once per worker
WARM_UP_TEXT = (
    "Article 3 : le soutien de l'État s'élève à 150 000 € pour l'année 2024 . La participation maximale du "
    "Département , versée après présentation du bilan , est plafonnée à 20 000 € par an ; chaque partie "
    "s'engage à mobiliser ses moyens humains , techniques et financiers , notamment grâce au co-financement "
    "d'une équipe pluridisciplinaire qui accompagne vers le logement , dont un travailleur social ."
)


def warm_up() -> None:
    """Load what the stages load lazily (spaCy's model, ~4 s) on a one-paragraph page, before any document's clock."""
    from models import Page, Word
    from pipeline.document import pages_to_convention
    from reconcile import convention_to_flags

    words, x, top = [], 50.0, 100.0
    for text in WARM_UP_TEXT.split():
        if x + 6 * len(text) > 545:  # the paragraph wraps within the page's margins
            x, top = 50.0, top + 14
        words.append(Word(text=text, x0=x, x1=x + 6 * len(text), top=top, bottom=top + 10))
        x += 6 * len(text) + 4
    convention_to_flags(pages_to_convention([Page(number=1, width=595, height=842, words=words)], "warm-up", "0" * 64))


def cap_memory(megabytes: int | None) -> None:
    """Cap this process's address space (its children inherit it): past it, allocations fail instead of the machine."""
    if megabytes is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def worker_logging(debug_dir: Path | None) -> None:
    """Libraries' own words (pdfminer's warnings, qpdf's repairs) never reach the analyst's terminal; with
    `--debug-dir` they go, with ours, to `debug_dir/journal.log`."""
    if debug_dir is None:
        logging.getLogger().addHandler(logging.NullHandler())
        logging.getLogger("pdfminer").setLevel(logging.ERROR)
        return
    with contextlib.suppress(OSError):
        debug_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(debug_dir / "journal.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.DEBUG)
        logging.getLogger("pdfminer").setLevel(logging.WARNING)  # its DEBUG output is every token of every page


def _worker_main(conn: Connection, options: Options, runner: Runner, warm: bool) -> None:
    """A worker: its own process group (so a timeout stops its children too), one document at a time."""
    with contextlib.suppress(OSError):
        os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    cap_memory(options.worker_memory_mb)
    worker_logging(options.debug_dir)
    if warm:
        # only a head start: should it fail, the first real document meets the same error and reports it
        with contextlib.suppress(Exception):
            warm_up()
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        path, fichier = task
        conn.send(("started", None))
        conn.send(("done", encode_result(runner(Path(path), fichier, options))))


@dataclass
class _Task:
    sha256: str
    path: Path
    fichier: str
    size: int


@cache
def _context() -> ForkServerContext | SpawnContext:
    """Workers forked from a clean forkserver that has loaded the models once (`pipeline.warm`); spawn elsewhere."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["pipeline.warm"])
        return ctx
    return multiprocessing.get_context("spawn")


class _Worker:
    """One worker process, its pipe and the document it is on."""

    def __init__(self, options: Options, runner: Runner, warm: bool) -> None:
        ctx = _context()
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, options, runner, warm), name="lda-worker")
        self.process.start()
        child.close()
        self.task: _Task | None = None
        self.timeout: float | None = None
        self.deadline = math.inf
        self.done = 0

    def submit(self, task: _Task, timeout: float | None) -> None:
        """Send a document; its clock starts when the worker says it has started it."""
        self.task = task
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout + STARTUP_GRACE if timeout else math.inf
        self.conn.send((str(task.path), task.fichier))

    def receive(self) -> str | None:
        """The payload when the document is done, None when the message only says it started."""
        kind, payload = self.conn.recv()
        if kind == "started":
            self.deadline = time.monotonic() + self.timeout if self.timeout else math.inf
            return None
        return cast(str, payload)

    def stop(self, force: bool = False) -> None:
        """End the worker: politely when idle, by its process group when stuck."""
        if not force and self.process.is_alive():
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
            self.process.join(KILL_GRACE)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pid = self.process.pid
            if not self.process.is_alive() or pid is None:
                break
            try:
                os.killpg(pid, sig)  # the worker and whatever it started (it leads its own process group)
            except (ProcessLookupError, PermissionError):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)  # not yet its own group leader
            self.process.join(KILL_GRACE)
        self.conn.close()
        if not self.process.is_alive():
            self.process.close()


def _process_all(
    tasks: list[_Task],
    options: Options,
    on_start: Callable[[str], None],
    on_result: Callable[[_Task, str | None, DocumentResult | None], bool],
    runner: Runner,
    warm: bool,
) -> None:
    """Run `tasks` on up to `options.workers` processes; `on_result` returns False to stop the batch."""
    pending = sorted(tasks, key=lambda t: -t.size)  # longest first, so the tail is short
    workers: list[_Worker] = []
    try:
        while pending or any(w.task for w in workers):
            while pending and len([w for w in workers if w.task]) < options.workers:
                idle = next((w for w in workers if not w.task), None)
                if idle is None:
                    idle = _Worker(options, runner, warm)
                    workers.append(idle)
                task = pending.pop(0)
                on_start(task.fichier)
                idle.submit(task, options.document_timeout)
            busy = [w for w in workers if w.task]
            wait_for = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            ready = wait([w.conn for w in busy], timeout=None if math.isinf(wait_for) else wait_for)
            for w in busy:
                task = cast(_Task, w.task)
                if w.conn in ready:
                    try:
                        payload: str | None = w.receive()
                        result = None
                        if payload is None:
                            continue
                    except (EOFError, OSError):
                        w.process.join(KILL_GRACE)
                        code = w.process.exitcode
                        payload = None
                        result = failed(
                            task.fichier,
                            f"le processus de traitement s'est arrêté brutalement (code {code}), "
                            "mémoire insuffisante ou fichier qui fait planter une bibliothèque",
                            0.0,
                            cacheable=False,
                        )
                elif time.monotonic() >= w.deadline:
                    payload = None
                    result = failed(
                        task.fichier,
                        f"délai dépassé : traitement arrêté après {options.document_timeout:g} s "
                        "(option --document-timeout)",
                        float(options.document_timeout or 0.0),
                        cacheable=False,
                    )
                else:
                    continue
                w.task, w.deadline = None, math.inf
                w.done += 1
                if result is not None or w.done >= MAX_TASKS_PER_WORKER:
                    w.stop(force=result is not None)
                    workers.remove(w)
                if not on_result(task, payload, result):
                    pending.clear()
                    for other in [o for o in workers if o.task]:
                        other.stop(force=True)
                        workers.remove(other)
                    return
    finally:
        for w in workers:
            w.stop(force=w.task is not None)


# --- the batch ---------------------------------------------------------------------------------------------------


class BatchObserver(Protocol):
    """What the CLI's progress display is told."""

    def planned(self, files: int, to_process: int) -> None: ...

    def started(self, fichier: str) -> None: ...

    def finished(self, result: DocumentResult, cached: bool) -> None: ...


@dataclass
class BatchOutcome:
    """Every file's result (sorted by `fichier`) and how the batch went."""

    results: list[DocumentResult] = field(default_factory=list)
    aborted: bool = False
    files: int = 0
    processed: int = 0
    from_cache: int = 0
    duplicates: int = 0
    pages_processed: int = 0
    seconds: float = 0.0


class _Silent:
    def planned(self, files: int, to_process: int) -> None:
        pass

    def started(self, fichier: str) -> None:
        pass

    def finished(self, result: DocumentResult, cached: bool) -> None:
        pass


def _hash_all(input_dir: Path, paths: list[Path]) -> Iterator[tuple[Path, str, str | None, str | None]]:
    from extract.pdf import file_sha256

    for p in paths:
        fichier = p.relative_to(input_dir).as_posix()
        try:
            yield p, fichier, file_sha256(p), None
        except OSError as e:
            yield p, fichier, None, f"fichier inaccessible ({e.strerror or type(e).__name__})"


def run_batch(
    input_dir: Path,
    options: Options,
    cache: ResultCache | None = None,
    observer: BatchObserver | None = None,
    exclude: tuple[Path, ...] = (),
    runner: Runner = run_one,
    warm: bool = True,
) -> BatchOutcome:
    """Every PDF under `input_dir`: cached results reused, the same content processed once, the rest in parallel.

    `runner` processes one file in a worker (a module-level function, so that a spawned worker can import it);
    `warm` loads the lazy models in each worker before its first document's clock starts.
    """
    obs = observer or _Silent()
    start = time.perf_counter()
    outcome = BatchOutcome()
    results: dict[str, DocumentResult] = {}
    groups: dict[str, list[tuple[Path, str]]] = {}
    direct: list[DocumentResult] = []
    for path, fichier, sha, error in _hash_all(input_dir, find_pdfs(input_dir, exclude)):
        if sha is None:
            direct.append(failed(fichier, error or "fichier inaccessible", 0.0, cacheable=False))
        else:
            groups.setdefault(sha, []).append((path, fichier))
    outcome.files = len(direct) + sum(len(g) for g in groups.values())
    outcome.duplicates = sum(len(g) - 1 for g in groups.values())

    def deliver(sha: str | None, result: DocumentResult, cached: bool) -> bool:
        """Record a result for every file of its content; False when the batch must stop."""
        members = groups.get(sha, []) if sha else []
        labelled = [result]
        if len(members) > 1:  # the same content under other names: a copy relabelled for each
            payload = encode_result(result)
            labelled = [result if f == result.entry.fichier else decode_result(payload, f) for _, f in members]
        for r in labelled:
            if sha:
                r.entry.sha256 = sha
            results[r.entry.fichier] = r
            obs.finished(r, cached)
        return not (options.abort_on_error and result.entry.statut != "ok")

    tasks: list[_Task] = []
    hits: list[tuple[str, DocumentResult]] = []
    for sha, members in groups.items():
        payload = cache.get(sha) if cache else None
        if payload is not None and cache is not None:
            try:
                hits.append((sha, decode_result(payload, members[0][1])))
                continue
            except (ValueError, KeyError, ValidationError):
                cache.discard(sha)  # unreadable entry (older format, hand edit): process again
        path, fichier = members[0]
        tasks.append(_Task(sha, path, fichier, path.stat().st_size))
    obs.planned(outcome.files, len(tasks))

    keep_going = True
    for r in direct:
        keep_going = deliver(None, r, cached=False) and keep_going
    for sha, r in hits:
        outcome.from_cache += len(groups[sha])
        keep_going = deliver(sha, r, cached=True) and keep_going

    def on_result(task: _Task, payload: str | None, result: DocumentResult | None) -> bool:
        if payload is not None:
            result = decode_result(payload)
            if cache is not None and result.cacheable:
                cache.put(task.sha256, payload)
        assert result is not None
        outcome.processed += 1
        outcome.pages_processed += result.entry.pages
        return deliver(task.sha256, result, cached=False)

    if keep_going and tasks:
        _process_all(tasks, options, obs.started, on_result, runner, warm)
    outcome.aborted = options.abort_on_error and any(r.entry.statut != "ok" for r in results.values())
    outcome.results = [results[k] for k in sorted(results)]
    outcome.seconds = time.perf_counter() - start
    return outcome


def unify_territories(results: list[DocumentResult]) -> list[tuple[str, str]]:
    """One name per territory across the batch (its documents word it differently), so one folder; the pairs
    of names that may be one territory but are not surely are kept apart and returned for the summary."""
    from normalize.parties import group_territories

    groups = group_territories(r.convention.parties.territoire for r in results if r.convention is not None)
    for r in results:
        c = r.convention
        if c is None or groups.canonical.get(c.parties.territoire, c.parties.territoire) == c.parties.territoire:
            continue
        old, new = c.parties.territoire, groups.canonical[c.parties.territoire]
        c.parties.territoire = c.fields.territoire = r.entry.territoire = new
        if old not in c.parties.aliases:
            c.parties.aliases.append(old)
        for f in r.flags:
            if f.territoire == old:
                f.territoire = new
    return groups.unsure


def cross_document_flags(conventions: list[Convention]) -> list[Flag]:
    """Checks across documents (an avenant against the convention it amends), once every document is read."""
    from reconcile.cross import conventions_to_flags

    return conventions_to_flags(conventions)
