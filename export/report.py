"""OUT/report.html: territories, their totals and every flag beside a crop of its page region, readable offline."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from export.contract import territory_slug
from export.paths import atomic_write
from export.rows import TerritoryRows, flag_slug
from models import BBox, Convention, Flag, RunEntry
from normalize.amounts import plain

RENDER_VERSION = "2"
SCALE = 1.5  # 108 dpi: table text stays legible in a crop
PAGE_SCALE = 0.9  # a whole page (no region known)
MARGIN_X, MARGIN_Y = 14.0, 26.0  # points of context around a region
TEXT_MARGIN = 50.0  # points: a text line found by search is shown across the page's text column
MAX_HEIGHT = 420.0  # points: a region taller than this is shown from its top
AMOUNT_TOTALS = ("cout_total", "financement_ami", "cofinancement")
NARROW_NBSP = "\u202f"
GRAVITY_ORDER = {"erreur": 0, "alerte": 1, "info": 2}
GRAVITY_LABEL = {"erreur": "erreur", "alerte": "alerte", "info": "info"}


@dataclass(frozen=True)
class Region:
    """Where on which page a flag is about; `bbox` None shows the whole page, `mark` is outlined in red."""

    fichier: str
    sha256: str
    page: int
    bbox: BBox | None = None
    mark: BBox | None = None
    find: tuple[str, ...] = ()  # with no box: texts to look for on the page, the first found is shown

    def key(self) -> str:
        """A stable name for the rendered crop (content hash, page, boxes, searched texts, render settings)."""
        boxes = [
            None if b is None else [round(v, 1) for v in (b.x0, b.top, b.x1, b.bottom)] for b in (self.bbox, self.mark)
        ]
        material = json.dumps([RENDER_VERSION, SCALE, PAGE_SCALE, self.sha256, self.page, boxes, self.find])
        return hashlib.sha256(material.encode()).hexdigest()[:32]


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _mentions(values: list[Decimal | None], flag: Flag) -> bool:
    wanted = {_digits(flag.trouve), _digits(flag.attendu)} - {""}
    return any(_digits(plain(v)) in wanted for v in values if v is not None)


def flag_region(flag: Flag, convention: Convention | None) -> Region | None:
    """The page region a flag is about: its cell or line, its total row, its annex, its declared amount, its page."""
    if convention is None or flag.code == "PAGE_UNREADABLE":  # rendering that page would meet its fault again
        return None
    c = convention
    annex = next((a for a in c.annexes if flag.annexe and a.annexe == flag.annexe), None)
    if annex is not None and flag.ligne is not None:
        line = next((ln for ln in annex.lines if ln.ligne == flag.ligne), None)
        if line is not None:
            cell = line.cells.get(flag.champ) if flag.champ else None
            mark = cell.bbox if cell is not None and cell.bbox is not None else line.provenance.bbox
            return Region(c.fichier, c.sha256, line.provenance.page, line.provenance.bbox or mark, mark)
    if annex is not None:
        totals = [t for t in annex.totals if flag.page is None or t.provenance.page == flag.page]
        total = next((t for t in totals if _mentions([a.value for a in t.amounts.values()], flag)), None)
        total = total or (totals[0] if totals and flag.code in ("TOTAL_MISMATCH", "REMAINDER_MISMATCH") else None)
        if total is not None and total.provenance.bbox is not None:
            return Region(c.fichier, c.sha256, total.provenance.page, total.provenance.bbox, total.provenance.bbox)
        page = flag.page or (annex.pages[0] if annex.pages else None)
        boxes = [ln.provenance.bbox for ln in annex.lines if ln.page == page and ln.provenance.bbox is not None]
        if page is not None and boxes:
            return Region(c.fichier, c.sha256, page, BBox.union(boxes), None)
    if flag.page is not None:
        for d in c.declared:
            if d.page == flag.page and d.provenance.bbox is not None and _mentions([d.montant], flag):
                return Region(c.fichier, c.sha256, d.page, d.provenance.bbox, d.provenance.bbox)
        return Region(c.fichier, c.sha256, flag.page, find=search_terms(flag))
    return None


def search_terms(flag: Flag) -> tuple[str, ...]:
    """What to look for on the page: the found text, then each amount as French typesetting prints it."""
    terms: list[str] = []
    for text in (flag.trouve, flag.attendu):
        text = " ".join(text.split())
        if not text:
            continue
        if text.replace(".", "", 1).isdigit():
            whole = text.split(".")[0]
            groups = [whole[max(0, i - 3) : i] for i in range(len(whole), 0, -3)][::-1]
            terms.extend(sep.join(groups) for sep in (" ", "\u00a0", "\u202f", "."))
            terms.append(whole)
        elif len(text) >= 4:
            terms.append(text[:60])
    return tuple(dict.fromkeys(terms))


def _find(page: Any, terms: tuple[str, ...]) -> BBox | None:
    """The box of the first term found in the page's text layer (PDF points, top-left origin)."""
    if not terms:
        return None
    height = page.get_size()[1]
    textpage = page.get_textpage()
    try:
        for term in terms:
            searcher = textpage.search(term, match_case=False)
            hit = searcher.get_next()
            searcher.close()
            if hit is None:
                continue
            index, count = hit
            rects = [textpage.get_rect(i) for i in range(textpage.count_rects(index, count))]
            if rects:
                return BBox(
                    x0=min(r[0] for r in rects),
                    top=height - max(r[3] for r in rects),
                    x1=max(r[2] for r in rects),
                    bottom=height - min(r[1] for r in rects),
                )
        return None
    finally:
        textpage.close()


def _render(pdf: Any, region: Region) -> bytes:
    """One crop as a small PNG (palette), the marked box outlined."""
    from PIL import ImageDraw

    page = pdf[region.page - 1]
    try:
        width, height = page.get_size()
        found = _find(page, region.find) if region.bbox is None else None
        if found is not None:  # the line it is on, across the text column
            region = Region(
                region.fichier,
                region.sha256,
                region.page,
                BBox(
                    x0=min(found.x0, TEXT_MARGIN),
                    top=found.top,
                    x1=max(found.x1, width - TEXT_MARGIN),
                    bottom=found.bottom,
                ),
                found,
            )
        if region.bbox is None:
            bitmap = page.render(scale=PAGE_SCALE)
            image = bitmap.to_pil().convert("RGB")
            x0 = top = 0.0
            scale = PAGE_SCALE
        else:
            b = region.bbox
            x0, x1 = max(0.0, b.x0 - MARGIN_X), min(width, b.x1 + MARGIN_X)
            top = max(0.0, b.top - MARGIN_Y)
            bottom = min(height, b.bottom + MARGIN_Y, top + MAX_HEIGHT)
            bitmap = page.render(scale=SCALE, crop=(x0, height - bottom, width - x1, top))
            image = bitmap.to_pil().convert("RGB")
            scale = SCALE
        if region.mark is not None:
            m = region.mark
            box = [(m.x0 - x0) * scale - 2, (m.top - top) * scale - 2]
            box += [(m.x1 - x0) * scale + 2, (m.bottom - top) * scale + 2]
            ImageDraw.Draw(image).rectangle(box, outline=(220, 30, 30), width=3)
        buf = io.BytesIO()
        image.quantize(colors=32).save(buf, format="PNG", optimize=True)
        return buf.getvalue()
    finally:
        page.close()


def render_regions(regions: list[Region], sources: dict[str, Path], cache_dir: Path | None) -> dict[str, bytes]:
    """PNG bytes by region key; crops already in `cache_dir` are reused, a file that will not render is skipped."""
    crops: dict[str, bytes] = {}
    todo: dict[str, list[Region]] = defaultdict(list)
    for r in regions:
        cached = cache_dir / f"{r.key()}.png" if cache_dir else None
        if cached is not None and cached.is_file():
            crops[r.key()] = cached.read_bytes()
        elif r.key() not in crops:
            todo[r.fichier].append(r)
    if not todo:
        return crops
    import pypdfium2 as pdfium

    for fichier, wanted in todo.items():
        source = sources.get(fichier)
        if source is None or not source.is_file():
            continue
        try:
            pdf = pdfium.PdfDocument(source)
        except pdfium.PdfiumError:
            continue
        try:
            for r in wanted:
                if r.key() in crops or not 1 <= r.page <= len(pdf):
                    continue
                try:
                    png = _render(pdf, r)
                except pdfium.PdfiumError:  # a damaged page the reading repaired: no crop, the rest of the report
                    continue
                crops[r.key()] = png
                if cache_dir is not None:
                    atomic_write(cache_dir / f"{r.key()}.png", png)
        finally:
            pdf.close()
    return crops


# --- HTML (Jinja2 templates in export/templates) -------------------------------------------------------------------


def euros(value: Decimal | None) -> str:
    """`1 305 720,00 €` with narrow no-break spaces; `—` when there is no amount."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    whole, _, cents = f"{abs(value):.2f}".partition(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + NARROW_NBSP.join(groups) + "," + cents + "\u00a0€"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
YEAR_COLORS = ("#1d3557", "#e07a1f", "#2a9d8f", "#8e44ad", "#c0392b", "#7f8c8d")
CHART_LABEL_WIDTH, CHART_BAR_WIDTH, CHART_BAR, CHART_GAP = 360, 480, 11, 8


@cache
def _environment() -> Any:
    """The template environment: autoescaped, control characters dropped from every printed value."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    def finalize(value: object) -> object:
        if isinstance(value, Markup):
            return value
        return _CONTROL.sub("", value) if isinstance(value, str) else ("" if value is None else value)

    return Environment(
        loader=PackageLoader("export", "templates"),
        autoescape=select_autoescape(["html", "j2", "svg"], default=True),
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _flag_view(flag: Flag, crop: bytes | None) -> dict[str, object]:
    where = [f"fichier {flag.fichier}"]
    if flag.page is not None:
        where.append(f"page {flag.page}")
    if flag.annexe:
        where.append(f"annexe {flag.annexe}")
    if flag.ligne is not None:
        where.append(f"ligne {flag.ligne}")
    return {
        "gravite": GRAVITY_LABEL.get(flag.gravite, flag.gravite),
        "code": flag.code,
        "message": flag.message,
        "evidence": bool(flag.attendu or flag.trouve),
        "attendu": flag.attendu,
        "trouve": flag.trouve,
        "where": where,
        "crop": base64.b64encode(crop).decode() if crop is not None else None,
        "alt": f"extrait de {flag.fichier}, page {flag.page}",
    }


def state_funding(conventions: list[Convention]) -> dict[str, dict[int, Decimal]]:
    """AMI amounts requested or granted (not those obtained in earlier years) by territory and document start year."""
    out: dict[str, dict[int, Decimal]] = defaultdict(dict)
    for c in conventions:
        year = c.fields.annee_debut
        if year is None:
            continue
        for a in c.annexes:
            for ln in a.lines:
                v = ln.amount("financement_ami")
                if v is None or ln.nature_financement_ami == "obtenu_precedemment":
                    continue
                name = c.parties.territoire or territory_slug(c)
                out[name][year] = out[name].get(year, Decimal(0)) + v
    return out


def chart_view(funding: dict[str, dict[int, Decimal]]) -> dict[str, object]:
    """Geometry of the horizontal grouped bar chart: a group per territory, a bar per year."""
    years = sorted({y for by_year in funding.values() for y in by_year})
    color = {y: YEAR_COLORS[i % len(YEAR_COLORS)] for i, y in enumerate(years)}
    top = max((v for by_year in funding.values() for v in by_year.values()), default=Decimal(0))
    groups = []
    y = 32.0
    for name in sorted(funding):
        bars = []
        for year in sorted(funding[name]):
            v = funding[name][year]
            w = float(v / top) * CHART_BAR_WIDTH if top > 0 else 0.0
            bars.append(
                {
                    "y": y,
                    "w": round(max(w, 1.0), 1),
                    "h": CHART_BAR,
                    "color": color[year],
                    "year": year,
                    "text": euros(v),
                }
            )
            y += CHART_BAR + 2
        h = len(bars) * (CHART_BAR + 2)
        groups.append({"name": name, "y": y - h, "h": h, "bars": bars})
        y += CHART_GAP
    legend = [{"x": CHART_LABEL_WIDTH + 70 * i, "year": yr, "color": color[yr]} for i, yr in enumerate(years)]
    return {
        "width": CHART_LABEL_WIDTH + CHART_BAR_WIDTH + 140,
        "height": int(max(y, 60) + 8),
        "label_width": CHART_LABEL_WIDTH,
        "groups": groups,
        "legend": legend,
    }


def _synthese_view(
    rows: list[dict[str, object]], slug_of_file: dict[str, str]
) -> tuple[list[dict[str, object]], list[list[dict[str, object]]]]:
    from export.rows import LABELS
    from export.synthese import SYNTHESE_AMOUNTS, SYNTHESE_COLUMNS, SYNTHESE_INTEGERS, SYNTHESE_LABELS

    labels = {**LABELS, **SYNTHESE_LABELS}
    columns = [
        {"label": labels.get(c, c), "numeric": c in SYNTHESE_AMOUNTS or c in SYNTHESE_INTEGERS}
        for c in SYNTHESE_COLUMNS
    ]
    body = []
    for r in rows:
        cells = []
        for c in SYNTHESE_COLUMNS:
            v = r.get(c)
            numeric = c in SYNTHESE_AMOUNTS or c in SYNTHESE_INTEGERS
            text = euros(v) if c in SYNTHESE_AMOUNTS and isinstance(v, Decimal) else ("—" if v is None else str(v))
            sort = "" if v is None else str(v)
            link = slug_of_file.get(str(r["fichier"])) if c == "territoire" else None
            cells.append({"text": text, "sort": sort, "numeric": numeric, "link": link})
        body.append(cells)
    return columns, body


def _followed_view(
    rows: list[dict[str, object]], corrected: set[tuple[str, str, int]]
) -> tuple[list[int], list[dict[str, object]]]:
    """The followed actions of a territory as table rows: a column per year, corrected amounts marked."""
    from export.suivi import followed

    chains = followed(rows)
    years = sorted({y for a in chains for y in a.by_year})
    keyed: dict[tuple[str, int], list[dict[str, object]]] = defaultdict(list)
    for r in rows:
        year = r["annee_debut"] if isinstance(r["annee_debut"], int) else 0
        keyed[(str(r["action_ref"]), year)].append(r)
    out: list[dict[str, object]] = []
    for a in chains:
        cells: list[dict[str, object]] = []
        for y in years:
            members = keyed.get((a.action_ref, y), [])
            values = a.by_year.get(y)
            text = " + ".join(euros(v) for v in values) if values else ""
            mark = any((str(m["fichier"]), str(m["annexe"]), int(str(m["ligne"]))) in corrected for m in members)
            cells.append({"text": text, "corrected": mark})
        out.append(
            {"ref": a.action_ref, "action": a.action, "pilotes": a.pilotes, "cells": cells, "lien": f"{a.lien:.2f}"}
        )
    return years, out


def report_html(
    territories: list[TerritoryRows],
    conventions: list[Convention],
    flags: list[Flag],
    entries: list[RunEntry],
    crops: dict[str, bytes],
    run_info: dict[str, object],
    synthese: list[dict[str, object]] | None = None,
    suivi: dict[str, list[dict[str, object]]] | None = None,
) -> str:
    """The whole report as one self-contained HTML page (inline CSS, script, chart and images)."""
    from export.synthese import synthese_rows

    by_file = {c.fichier: c for c in conventions}
    slug_of_file = {c.fichier: territory_slug(c) for c in conventions}
    synthese = synthese if synthese is not None else synthese_rows(conventions, flags)
    suivi = suivi or {}

    def flag_view(f: Flag) -> dict[str, object]:
        region = flag_region(f, by_file.get(f.fichier))
        return _flag_view(f, crops.get(region.key()) if region else None)

    flags_by_slug: dict[str | None, list[Flag]] = defaultdict(list)
    for f in flags:
        flags_by_slug[flag_slug(f, slug_of_file)].append(f)
    for lst in flags_by_slug.values():
        lst.sort(key=lambda f: (GRAVITY_ORDER.get(f.gravite, 9), f.fichier, f.page or 0, f.annexe, f.ligne or 0))
    applied = [f for f in flags if f.code == "CORRECTION_APPLIED"]
    corrected_amounts = {(f.fichier, f.annexe, f.ligne) for f in applied if f.champ == "financement_ami" and f.ligne}
    views = []
    for t in territories:
        tf = flags_by_slug.get(t.slug, [])
        c: Counter[str] = Counter(f.gravite for f in tf)
        years, followed_rows = _followed_view(suivi.get(t.slug, []), corrected_amounts)
        views.append(
            {
                "slug": t.slug,
                "name": t.name,
                "documents": len(t.documents),
                "actions": len(t.actions),
                "files": [d.get("fichier") for d in t.documents],
                "totals": [euros(t.total(col)) for col in AMOUNT_TOTALS],
                "gravity": [c[g] for g in ("erreur", "alerte", "info")],
                "flags": [flag_view(f) for f in tf],
                "corrections": [
                    {
                        "fichier": f.fichier,
                        "where": f"annexe {f.annexe}, ligne {f.ligne}" if f.annexe else "document",
                        "champ": f.champ,
                        "trouve": f.trouve or "—",
                        "attendu": f.attendu or "—",
                    }
                    for f in tf
                    if f.code == "CORRECTION_APPLIED"
                ],
                "years": years,
                "followed": followed_rows,
            }
        )
    columns, body = _synthese_view(synthese, slug_of_file)
    gravity: Counter[str] = Counter(f.gravite for f in flags)
    ok = sum(e.statut == "ok" for e in entries)
    env = _environment()
    return str(
        env.get_template("report.html.j2").render(
            ok=ok,
            failed_count=len(entries) - ok,
            gravity={g: gravity[g] for g in ("erreur", "alerte", "info")},
            version=run_info.get("version", ""),
            interrupted=bool(run_info.get("interrompu")),
            synthese_columns=columns,
            synthese=body,
            chart=chart_view(state_funding(conventions)),
            territories=views,
            failed=[e for e in entries if e.statut != "ok"],
            orphans=[flag_view(f) for f in flags_by_slug.get(None, [])],
        )
    )


def write_report(
    out: Path,
    territories: list[TerritoryRows],
    conventions: list[Convention],
    flags: list[Flag],
    entries: list[RunEntry],
    sources: dict[str, Path],
    crop_cache: Path | None,
    run_info: dict[str, object],
    synthese: list[dict[str, object]] | None = None,
    suivi: dict[str, list[dict[str, object]]] | None = None,
) -> Path:
    """Render the crops every flag needs (reusing cached ones) and write OUT/report.html."""
    by_file = {c.fichier: c for c in conventions}
    regions = [r for f in flags if (r := flag_region(f, by_file.get(f.fichier))) is not None]
    crops = render_regions(regions, sources, crop_cache)
    path = out / "report.html"
    atomic_write(path, report_html(territories, conventions, flags, entries, crops, run_info, synthese, suivi))
    return path
