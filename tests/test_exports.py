"""Analyst exports: safe folder names, workbooks, Excel CSV, DuckDB, the HTML report (checked in Chromium)."""

from __future__ import annotations

import base64
import csv
import io
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from export.bundle import write_all
from export.excel_csv import excel_csv
from export.paths import slugify
from export.report import Region, euros, flag_region, render_regions, report_html, search_terms
from export.rows import ANALYST_ACTION_COLUMNS, LABELS, territories
from export.store import write_store
from export.xlsx import EURO_FORMAT, SHEETS, workbook_bytes
from models import (
    ActionLine,
    Amount,
    Annex,
    BBox,
    Convention,
    DeclaredAmount,
    DocumentFields,
    Flag,
    Parties,
    Provenance,
    RunEntry,
)
from reconcile import convention_to_flags
from tests.conftest import FIXTURES, convention_of

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
FORMULAS = {
    "action": '=HYPERLINK("http://exemple.invalid","clic")',
    "pilote_brut": "+DDETS",
    "commentaire": "-5 % en 2024",
    "sources_cofinancement": "@SUM(A1)",
}
REAL = FIXTURES / "lattice" / "Avenant_2024_CPO_CUBellisac.pdf"


def _convention(territoire: str, fichier: str = "t/convention.pdf") -> Convention:
    """A small convention whose texts look like spreadsheet formulas."""
    prov = Provenance(file=fichier, sha256="0" * 64, page=1, bbox=BBox(x0=50, top=100, x1=500, bottom=130))
    line = ActionLine(
        annexe="1",
        ligne=1,
        page=1,
        **FORMULAS,
        cout_total=Amount(raw="1 305 720,50 €", value=Decimal("1305720.50")),
        financement_ami=Amount(raw="75 000", value=Decimal("75000")),
        provenance=prov,
    )
    declared = DeclaredAmount(
        role="soutien_etat", montant=Decimal("150000"), extrait="=cmd|' /C calc'!A0", page=1, provenance=prov
    )
    return Convention(
        fichier=fichier,
        sha256="0" * 64,
        pages=1,
        fields=DocumentFields(type_document="convention", date_signature="2023-06-30"),
        parties=Parties(territoire=territoire),
        annexes=[Annex(annexe="1", pages=[1], columns=[], lines=[line])],
        declared=[declared],
    )


def _flag(fichier: str, territoire: str, message: str = "Total faux") -> Flag:
    return Flag(
        territoire=territoire,
        fichier=fichier,
        code="TOTAL_MISMATCH",
        gravite="erreur",
        page=1,
        annexe="1",
        message=message,
        attendu="100",
        trouve="=1+1",
    )


# --- territory names never escape OUT ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Métropole Aix-Marseille-Provence", "metropole-aix-marseille-provence"),
        ("../../etc/passwd", "etc-passwd"),
        ("/etc", "etc"),
        ("..", "territoire-inconnu"),
        ("", "territoire-inconnu"),
        ("a\x00b\x1b[31mc\nd\te", "a-b-31mc-d-e"),
        ("C:\\Windows\\System32", "c-windows-system32"),
        ("x" * 79 + "-y" * 10, "x" * 79),
    ],
)
def test_slugify_keeps_names_inside_one_folder(name: str, slug: str) -> None:
    assert slugify(name) == slug


@given(st.text())
def test_any_territory_name_is_one_plain_folder_name(name: str) -> None:
    slug = slugify(name)
    assert SLUG.match(slug) and len(slug) <= 80
    base = Path("/out/territories")
    assert (base / slug).resolve().parent == base


def test_hostile_territory_names_write_only_inside_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    names = ["../../evil", "/etc/passwd", "a\x00b\x1b[31m", "..", "", "<script>alert(1)</script>"]
    conventions = [_convention(n, f"d{i}/convention.pdf") for i, n in enumerate(names)]
    flags = [_flag(c.fichier, c.parties.territoire) for c in conventions]
    entries = [RunEntry(fichier=c.fichier, statut="ok", territoire=c.parties.territoire) for c in conventions]
    write_all(out, conventions, flags, entries, sources={}, cache_dir=None, run_info={})
    outside = [p for p in tmp_path.rglob("*") if not p.is_relative_to(out)]
    assert outside == []
    folders = [p.name for p in (out / "territories").iterdir()]
    assert folders and all(SLUG.match(f) for f in folders)
    assert "<script>alert(1)</script>" not in (out / "report.html").read_text(encoding="utf-8")


# --- workbook ------------------------------------------------------------------------------------------------------


def test_workbook_amounts_are_euros_and_text_is_never_a_formula() -> None:
    from openpyxl import load_workbook

    [t] = territories([_convention("Grisemont")], [_flag("t/convention.pdf", "Grisemont")])
    data = workbook_bytes(t)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == list(SHEETS)
    ws = wb["actions"]
    header = [c.value for c in ws[1]]
    assert header == [LABELS[c] for c in ANALYST_ACTION_COLUMNS]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
    row = {LABELS[c]: ws.cell(row=2, column=j + 1) for j, c in enumerate(ANALYST_ACTION_COLUMNS)}
    assert row["Coût total"].value == Decimal("1305720.50") or row["Coût total"].value == 1305720.5
    assert row["Coût total"].number_format == EURO_FORMAT and row["Coût total"].data_type == "n"
    for col, text in FORMULAS.items():
        cell = row[LABELS[col]]
        assert (cell.value, cell.data_type) == (text, "s"), col
    for name in SHEETS[1:]:
        assert wb[name].freeze_panes == "A2" and wb[name].auto_filter.ref
    assert wb["contrôles"].cell(row=2, column=[c.value for c in wb["contrôles"][1]].index("Trouvé") + 1).value == "=1+1"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert sheets and not any("<f>" in s or "<f " in s for s in sheets)


# --- CSV for French Excel ----------------------------------------------------------------------------------------


def test_excel_csv_is_french_excel_ready() -> None:
    [t] = territories([_convention("Grisemont")], [])
    data = excel_csv(ANALYST_ACTION_COLUMNS, t.actions)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert list(rows[0]) == [LABELS[c] for c in ANALYST_ACTION_COLUMNS]
    assert rows[0]["Coût total"] == "1305720,5" and rows[0]["Financement AMI"] == "75000"
    for col, text in FORMULAS.items():
        assert rows[0][LABELS[col]] == "'" + text, col


# --- DuckDB --------------------------------------------------------------------------------------------------------


def test_duckdb_holds_every_territory_in_typed_tables(tmp_path: Path) -> None:
    import duckdb

    conventions = [_convention("Grisemont", "a/c.pdf"), _convention("Pellerive", "b/c.pdf")]
    flags = [_flag("a/c.pdf", "Grisemont")]
    entries = [RunEntry(fichier="a/c.pdf", statut="ok"), RunEntry(fichier="x.pdf", statut="erreur", erreur="vide")]
    path = write_store(tmp_path, territories(conventions, flags), flags, entries)
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"actions", "documents", "montants_declares", "flags", "run"} <= tables
        assert con.execute("SELECT sum(cout_total), count(DISTINCT territoire) FROM actions").fetchone() == (
            Decimal("2611441.00"),
            2,
        )
        assert con.execute("SELECT typeof(cout_total), typeof(page) FROM actions LIMIT 1").fetchone() == (
            "DECIMAL(18,2)",
            "INTEGER",
        )
        assert con.execute("SELECT CAST(date_signature AS VARCHAR) FROM documents LIMIT 1").fetchone() == (
            "2023-06-30",
        )
        assert con.execute("SELECT count(*) FROM run WHERE statut = 'erreur'").fetchone() == (1,)
        assert con.execute("SELECT trouve FROM flags").fetchone() == ("=1+1",)
    finally:
        con.close()


# --- report --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> tuple[Convention, list[Flag]]:
    """A real avenant and its flags, plus one flag on a line's cell."""
    c = convention_of(REAL)
    flags = convention_to_flags(c)
    line = next(ln for a in c.annexes for ln in a.lines if "financement_ami" in ln.cells)
    flags.append(
        Flag(
            territoire=c.parties.territoire,
            fichier=c.fichier,
            code="AMOUNT_UNPARSED",
            gravite="alerte",
            page=line.page,
            annexe=line.annexe,
            ligne=line.ligne,
            champ="financement_ami",
            message="Montant <illisible>",
        )
    )
    return c, flags


def test_every_flag_gets_its_page_region(real: tuple[Convention, list[Flag]]) -> None:
    c, flags = real
    regions = [flag_region(f, c) for f in flags]
    assert all(r is not None for r in regions)
    cell_flag = flags[-1]
    region = flag_region(cell_flag, c)
    assert region is not None and region.mark is not None
    line = next(
        ln for a in c.annexes for ln in a.lines if ln.ligne == cell_flag.ligne and ln.annexe == cell_flag.annexe
    )
    assert region.mark == line.cells["financement_ami"].bbox and region.page == line.page
    assert search_terms(Flag(fichier="f", code="MISSING_FIELD", gravite="alerte", message="m", trouve="114000"))[
        :2
    ] == ("114 000", "114\u00a0000")


def test_report_embeds_a_crop_per_flag_and_reuses_cached_crops(
    real: tuple[Convention, list[Flag]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    c, flags = real
    regions = [r for f in flags if (r := flag_region(f, c)) is not None]
    crops = render_regions(regions, {c.fichier: REAL}, tmp_path / "crops")
    assert set(crops) == {r.key() for r in regions}
    for png in crops.values():
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.width > 50 and image.height > 20

    def no_render(pdf: object, region: Region) -> bytes:
        raise AssertionError("crop rendered again")

    monkeypatch.setattr("export.report._render", no_render)
    assert render_regions(regions, {c.fichier: REAL}, tmp_path / "crops") == crops
    page = report_html(territories([c], flags), [c], flags, [RunEntry(fichier=c.fichier, statut="ok")], crops, {})
    assert page.count('class="flag ') == len(flags)
    assert page.count("data:image/png;base64,") == len(flags)
    assert "Montant &lt;illisible&gt;" in page and "<illisible>" not in page
    first = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert first is not None and base64.b64decode(first.group(1)).startswith(b"\x89PNG")


def test_euros_are_french() -> None:
    assert euros(Decimal("1305720")) == "1\u202f305\u202f720,00\u00a0€"
    assert euros(Decimal("-15000.5")) == "-15\u202f000,50\u00a0€"
    assert euros(None) == "—"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian chromium absent (make setup installs it)")
def test_report_loads_in_headless_chromium_and_shows_the_flags(
    real: tuple[Convention, list[Flag]], tmp_path: Path
) -> None:
    c, flags = real
    out = tmp_path / "out"
    write_all(
        out,
        [c],
        flags,
        [
            RunEntry(fichier=c.fichier, statut="ok"),
            RunEntry(fichier="vide.pdf", statut="erreur", erreur="fichier vide (0 octet)"),
        ],
        sources={c.fichier: REAL},
        cache_dir=tmp_path / "cache",
        run_info={"version": "test"},
    )
    profile = tmp_path / "profile"
    done = subprocess.run(
        [
            str(_chromium()),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            (out / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None, dom[:500]
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1)))
    assert attrs.get("data-ready") == "ok", "the report's script did not run to its end"
    assert attrs["data-flags"] == str(len(flags))
    assert attrs["data-images"] == attrs["data-images-ok"] == str(len(flags))
    assert attrs["data-synthese"] == "1"  # the national view: one row per document
    assert int(attrs["data-chart-bars"]) >= 1  # State funding of the territory for the document's year
    console_errors = [ln for ln in done.stderr.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]
    assert console_errors == []
    for f in flags:
        assert f.code in dom
    assert "fichier vide (0 octet)" in dom and "Montant &lt;illisible&gt;" in dom


def test_unchanged_workbooks_and_database_are_not_rebuilt(tmp_path: Path) -> None:
    from export.paths import OutputMemo
    from export.xlsx import write_workbooks

    memo = OutputMemo(tmp_path / "memo")
    rows = territories([_convention("Grisemont")], [])
    [book] = write_workbooks(tmp_path, rows, memo)
    db = write_store(tmp_path, rows, [], [], memo)
    stamps = (book.stat().st_mtime_ns, db.stat().st_mtime_ns)
    write_workbooks(tmp_path, rows, memo)
    write_store(tmp_path, rows, [], [], memo)
    assert (book.stat().st_mtime_ns, db.stat().st_mtime_ns) == stamps
    book.write_bytes(b"abime")  # a file touched since is rebuilt
    write_workbooks(tmp_path, rows, memo)
    assert book.read_bytes().startswith(b"PK")
    changed = territories([_convention("Grisemont"), _convention("Grisemont", "t/avenant.pdf")], [])
    write_store(tmp_path, changed, [], [], memo)  # so are outputs whose rows changed
    assert db.stat().st_mtime_ns != stamps[1]
