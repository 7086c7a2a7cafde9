"""The command line: `lda-conventions run INPUT_DIR --out OUT_DIR`; exit codes are decided here only."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from models import Flag
    from pipeline.batch import BatchOutcome, DocumentResult
    from pipeline.document import Options


class ExitCode(IntEnum):
    """What `lda-conventions run` returns (README, section « Codes de sortie »)."""

    OK = 0  # every file was read
    FILES_FAILED = 1  # the batch completed; some files are error entries in run.json
    USAGE = 2  # bad arguments or options, no PDF in INPUT_DIR (Click's own usage errors are 2 as well)
    ABORTED = 3  # --abort-on-error stopped the batch at the first failed file
    OUTPUT_FAILED = 4  # OUT could not be written (permissions, disk full), or an export failed (others written)
    INTERRUPTED = 130  # Ctrl-C; finished documents are in the cache and the next run resumes


EXIT_CODES_HELP = (
    "Codes de sortie : 0 tous les fichiers lus ; 1 lot terminé mais au moins un fichier en erreur "
    "(voir run.json) ; 2 usage incorrect (option invalide, aucun PDF) ; 3 lot arrêté au premier fichier "
    "en erreur (--abort-on-error) ; 4 écriture impossible dans OUT, ou un export manquant ; 130 interrompu (Ctrl-C), "
    "la relance reprend où le lot s'était arrêté."
)

app = typer.Typer(add_completion=False, help="Conventions Logement d'abord : extraction, contrôles, exports.")

_OPTION_FLAGS = {
    "workers": "--workers",
    "document_timeout": "--document-timeout",
    "debug_dir": "--debug-dir",
    "ocr_language": "--ocr-language",
    "lexique": "--lexique",
    "worker_memory_mb": "--worker-memory",
}


@app.callback()
def _main() -> None:
    """lda-conventions."""


class _RichProgress:
    """The progress bar: documents done, the files in work, pages per second."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.current: list[str] = []
        self.pages = 0
        self.first_start: float | None = None

    def planned(self, files: int, to_process: int) -> None:
        cached = files - to_process
        self.task = self.progress.add_task(f"{to_process} à traiter, {cached} en cache", total=files, pps="-")

    def started(self, fichier: str) -> None:
        self.first_start = self.first_start or time.perf_counter()
        self.current.append(fichier)
        self._describe()

    def finished(self, result: DocumentResult, cached: bool) -> None:
        fichier = result.entry.fichier
        if fichier in self.current:
            self.current.remove(fichier)
        if not cached:
            self.pages += result.entry.pages
        if result.entry.statut != "ok" and self.progress.console.is_terminal:
            self.progress.console.print(f"[red]✗[/red] {fichier} : {result.entry.erreur}", markup=True, highlight=False)
        pps = "-"
        if self.first_start is not None:
            pps = f"{self.pages / max(time.perf_counter() - self.first_start, 1e-6):.1f}"
        if self.task is not None:
            self.progress.update(self.task, advance=1, pps=pps)
        self._describe()

    def _describe(self) -> None:
        if self.task is not None:
            shown = ", ".join(self.current[:2]) or "terminé"
            self.progress.update(self.task, description=shown if len(shown) <= 60 else "…" + shown[-59:])


def _options(**kwargs: Any) -> Options:
    """Build the options, a French usage message and exit code 2 when they are invalid."""
    from pydantic import ValidationError

    from pipeline.document import Options

    try:
        return Options(**{k: v for k, v in kwargs.items() if v is not None})
    except ValidationError as e:
        for err in e.errors():
            name = str(err["loc"][0]) if err["loc"] else ""
            typer.echo(f"option {_OPTION_FLAGS.get(name, name)} invalide : {err['msg']}", err=True)
        raise typer.Exit(code=ExitCode.USAGE) from None


def _summary(
    console: Console,
    outcome: BatchOutcome,
    by_gravity: Counter[str],
    worst: list[tuple[str, Counter[str]]],
    out: Path,
    unsure: Sequence[tuple[str, str]] = (),
) -> None:
    """The end-of-run table: documents ok / failed, flags by severity, the most flagged territories, the
    territory names that may be one territory but were kept apart."""
    from rich.table import Table

    ok = sum(r.entry.statut == "ok" for r in outcome.results)
    ko = len(outcome.results) - ok
    pps = outcome.pages_processed / outcome.seconds if outcome.seconds else 0.0
    table = Table(title="Bilan du lot", show_header=False, title_justify="left")
    table.add_row("documents lus", str(ok))
    table.add_row("documents en erreur", f"[red]{ko}[/red]" if ko else "0")
    table.add_row("repris du cache", str(outcome.from_cache))
    table.add_row("doublons (même contenu, lu une fois)", str(outcome.duplicates))
    table.add_row(
        "contrôles : erreurs / alertes / infos",
        f"{by_gravity['erreur']} / {by_gravity['alerte']} / {by_gravity['info']}",
    )
    unread = sum(
        1
        for r in outcome.results
        if r.convention is not None
        for a in r.convention.annexes
        for ln in a.lines
        if ln.statut_brut and not ln.statut
    )
    table.add_row("statuts non compris (statut laissé vide)", str(unread))
    table.add_row("durée", f"{outcome.seconds:.1f} s ({outcome.pages_processed} pages traitées, {pps:.1f} pages/s)")
    if outcome.aborted:
        table.add_row("[red]lot interrompu[/red]", "premier fichier en erreur (--abort-on-error)")
    console.print(table)
    if worst:
        w = Table(title="Territoires les plus signalés", title_justify="left")
        for col in ("territoire", "erreurs", "alertes", "infos"):
            w.add_column(col)
        for name, c in worst:
            w.add_row(name, str(c["erreur"]), str(c["alerte"]), str(c["info"]))
        console.print(w)
    if unsure:
        u = Table(title="Territoires peut-être identiques, gardés dans des dossiers distincts", title_justify="left")
        u.add_column("territoire")
        u.add_column("peut-être le même que")
        for a, b in unsure:
            u.add_row(a, b)
        console.print(u)
    for r in outcome.results:
        if r.entry.statut != "ok":
            console.print(f"[red]✗[/red] {r.entry.fichier} : {r.entry.erreur}", highlight=False)
    console.print(f"Résultats : {out} (rapport : {out / 'report.html'})", highlight=False)


def excluded(out: Path, options: Options) -> tuple[Path, ...]:
    """Folders under INPUT_DIR that are outputs, not inputs."""
    return (out, *((options.debug_dir,) if options.debug_dir else ()))


@dataclass
class Executed:
    """What a run did: the batch, its flags, the territory names kept apart though they may be one, and the
    analyst exports that could not be written (French, empty when all were)."""

    outcome: BatchOutcome
    flags: list[Flag]
    unsure: list[tuple[str, str]]
    problems: list[str] = field(default_factory=list)


def execute(
    input_dir: Path, out: Path, options: Options, console: Console, corrections: Path | None = None
) -> Executed:
    """The batch and every file it writes in OUT (existing), shared by `run` and `lda_conventions.run`
    (`corrections`: default INPUT_DIR/corrections.csv). The progress bar shows in a terminal or in Jupyter; OSError
    when OUT, its cache or the contract files cannot be written."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from export.bundle import PartialOutputError, write_all
    from pipeline.batch import cross_document_flags, run_batch, unify_territories
    from pipeline.cache import ResultCache, pipeline_version
    from pipeline.corrections import run_corrections

    version = pipeline_version()
    cache = None
    if options.use_cache:
        cache = ResultCache(out / ".cache" / "results", version, options.result_fingerprint())
    progress = Progress(
        TextColumn("{task.description:<60}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[pps]} pages/s"),
        TimeElapsedColumn(),
        console=console,
        disable=not (console.is_terminal or console.is_jupyter),
    )
    with progress:
        outcome = run_batch(input_dir, options, cache, _RichProgress(progress), excluded(out, options))
    unsure = unify_territories(outcome.results)  # before the corrections: an analyst's word is the last
    results, correction_flags = run_corrections(input_dir, corrections, outcome.results)
    conventions = [r.convention for r in results if r.convention is not None]
    flags = [f for r in results for f in r.flags] + correction_flags + cross_document_flags(conventions)
    done = Executed(outcome, flags, unsure)
    try:
        write_all(
            out,
            conventions,
            flags,
            [r.entry for r in outcome.results],
            sources={r.entry.fichier: input_dir / r.entry.fichier for r in outcome.results},
            cache_dir=out / ".cache" if options.use_cache else None,
            run_info={"version": version, "secondes": round(outcome.seconds, 1), "interrompu": outcome.aborted},
        )
    except PartialOutputError as e:
        done.problems = e.problems
    if options.debug_dir:
        from export.debug import write_debug_images

        for c in conventions:
            write_debug_images(options.debug_dir, input_dir / c.fichier, c)
    return done


@app.command(epilog=EXIT_CODES_HELP)
def run(
    input_dir: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, metavar="INPUT_DIR", help="dossier des PDF à traiter")
    ],
    out: Annotated[Path, typer.Option("--out", metavar="OUT", help="dossier de sortie")],
    workers: Annotated[int | None, typer.Option(help="processus en parallèle (défaut : nombre de cœurs)")] = None,
    document_timeout: Annotated[
        float | None, typer.Option(help="secondes au plus par document, au-delà il est arrêté (défaut : 600)")
    ] = None,
    abort_on_error: Annotated[
        bool, typer.Option("--abort-on-error", help="arrêter le lot au premier fichier en erreur (code 3)")
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="tout retraiter, sans lire ni écrire OUT/.cache")
    ] = False,
    debug_dir: Annotated[Path | None, typer.Option(help="écrire les pages avec les cellules détectées")] = None,
    ocr: Annotated[bool, typer.Option(help="OCR des pages sans couche texte")] = True,
    ocr_language: Annotated[str, typer.Option(help="langue(s) Tesseract")] = "fra",
    lexique: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, metavar="FICHIER", help="lexique TOML ajouté au lexique intégré (README)"
        ),
    ] = None,
    worker_memory: Annotated[
        int | None, typer.Option(help="mémoire au plus par processus, en Mo (défaut : 3072)", metavar="MO")
    ] = None,
    corrections: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="corrections des analystes (défaut : INPUT_DIR/corrections.csv)"
        ),
    ] = None,
) -> None:
    """Traite tous les PDF de INPUT_DIR et écrit les fichiers du contrat, les classeurs et le rapport dans OUT."""
    from rich.console import Console

    from pipeline.batch import find_pdfs

    options = _options(
        workers=workers,
        document_timeout=document_timeout,
        abort_on_error=abort_on_error,
        use_cache=not no_cache,
        debug_dir=debug_dir,
        ocr=ocr,
        ocr_language=ocr_language,
        lexique=lexique,
        worker_memory_mb=worker_memory,
    )
    if lexique is not None:
        from normalize.lexique import LexiqueError, load_lexique

        try:
            load_lexique(lexique)
        except LexiqueError as e:
            typer.echo(str(e), err=True)
            raise typer.Exit(code=ExitCode.USAGE) from None
    if not find_pdfs(input_dir, excluded(out, options)):
        typer.echo(f"aucun fichier .pdf dans {input_dir}", err=True)
        raise typer.Exit(code=ExitCode.USAGE)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        typer.echo(f"écriture impossible dans {out} : {e}", err=True)
        raise typer.Exit(code=ExitCode.OUTPUT_FAILED) from None
    console = Console(stderr=True)
    try:
        done = execute(input_dir, out, options, console, corrections)
    except KeyboardInterrupt:
        console.print("interrompu : les documents terminés sont en cache, relancer pour reprendre")
        raise typer.Exit(code=ExitCode.INTERRUPTED) from None
    except OSError as e:  # the cache or the files under OUT could not be written
        typer.echo(f"écriture impossible dans {out} : {e}", err=True)
        raise typer.Exit(code=ExitCode.OUTPUT_FAILED) from None
    outcome, flags = done.outcome, done.flags
    by_gravity: Counter[str] = Counter(f.gravite for f in flags)
    per_territory: dict[str, Counter[str]] = {}
    for f in flags:
        if f.territoire:
            per_territory.setdefault(f.territoire, Counter())[f.gravite] += 1
    worst = sorted(per_territory.items(), key=lambda kv: (-kv[1]["erreur"], -kv[1]["alerte"], kv[0]))[:5]
    _summary(Console(), outcome, by_gravity, worst, out, done.unsure)
    for problem in done.problems:  # the contract files are written; an export is missing
        typer.echo(f"écriture incomplète : {problem}", err=True)
    if outcome.aborted:
        raise typer.Exit(code=ExitCode.ABORTED)
    if done.problems:
        raise typer.Exit(code=ExitCode.OUTPUT_FAILED)
    failed = sum(r.entry.statut != "ok" for r in outcome.results)
    raise typer.Exit(code=ExitCode.OK if failed == 0 else ExitCode.FILES_FAILED)


@app.command("corrections")
def corrections_template(
    out: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, metavar="OUT_DIR", help="dossier de sortie d'un lot")
    ],
    to: Annotated[
        Path | None, typer.Option("--to", help="fichier à écrire (défaut : OUT_DIR/corrections_a_remplir.csv)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="remplacer le fichier s'il existe")] = False,
) -> None:
    """Écrit un modèle de corrections.csv (une ligne par erreur ou alerte de flags.csv) à remplir dans Excel."""
    import csv

    from export.paths import atomic_write
    from pipeline.corrections import template_csv

    source = out / "flags.csv"
    if not source.is_file():
        typer.echo(f"{source} absent : lancer d'abord « run »", err=True)
        raise typer.Exit(code=ExitCode.USAGE)
    target = to or out / "corrections_a_remplir.csv"
    if target.exists() and not force:
        typer.echo(f"{target} existe déjà (--force pour le remplacer)", err=True)
        raise typer.Exit(code=ExitCode.USAGE)
    with source.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    try:
        atomic_write(target, template_csv(rows))
    except OSError as e:
        typer.echo(f"écriture impossible : {e}", err=True)
        raise typer.Exit(code=ExitCode.OUTPUT_FAILED) from None
    typer.echo(f"{target} : modèle à remplir (colonnes valeur et motif), à placer dans INPUT_DIR/corrections.csv")


def main() -> None:
    """Console script entry point."""
    app()
