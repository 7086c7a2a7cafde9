"""OUT/report.html: territories, their totals and every flag beside a crop of its page region, readable offline."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
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
                png = _render(pdf, r)
                crops[r.key()] = png
                if cache_dir is not None:
                    atomic_write(cache_dir / f"{r.key()}.png", png)
        finally:
            pdf.close()
    return crops


# --- HTML ------------------------------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d3557;color:#fff;padding:16px 24px}header h1{margin:0 0 4px;font-size:22px}
main{padding:16px 24px;max-width:1400px}
table{border-collapse:collapse;background:#fff;margin:8px 0 20px}
th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
section.territory{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:8px 16px;margin:16px 0}
.flag{border-top:1px solid #e3e6eb;padding:10px 0}
.flag img{display:block;margin-top:6px;max-width:min(100%,900px);border:1px solid #c8ccd3;background:#fff}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.erreur .badge,.badge.erreur{background:#c0392b}.alerte .badge,.badge.alerte{background:#d68910}
.info .badge,.badge.info{background:#2471a3}
.meta{color:#5a6270;font-size:12px}.nocrop{color:#8a919c;font-style:italic}
nav button{margin-right:6px}.hidden{display:none}
"""

_JS = """
(function(){
  var flags=document.querySelectorAll('.flag');
  document.querySelectorAll('nav button').forEach(function(b){
    b.addEventListener('click',function(){
      var g=b.getAttribute('data-gravite');
      flags.forEach(function(f){f.classList.toggle('hidden',g!=='tout'&&!f.classList.contains(g));});
    });
  });
  window.addEventListener('load',function(){
    var imgs=document.querySelectorAll('img.crop'),ok=0;
    imgs.forEach(function(i){if(i.complete&&i.naturalWidth>0){ok++;}});
    document.body.setAttribute('data-flags',String(flags.length));
    document.body.setAttribute('data-images',String(imgs.length));
    document.body.setAttribute('data-images-ok',String(ok));
    document.body.setAttribute('data-ready','ok');
  });
})();
"""


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


def _e(value: object) -> str:
    """Text for HTML: escaped, control characters dropped."""
    return html.escape(_CONTROL.sub("", "" if value is None else str(value)), quote=True)


def _flag_html(flag: Flag, crop: bytes | None) -> str:
    where = [f"fichier {_e(flag.fichier)}"]
    if flag.page is not None:
        where.append(f"page {flag.page}")
    if flag.annexe:
        where.append(f"annexe {_e(flag.annexe)}")
    if flag.ligne is not None:
        where.append(f"ligne {flag.ligne}")
    evidence = ""
    if flag.attendu or flag.trouve:
        evidence = f"<div>attendu : <b>{_e(flag.attendu) or '—'}</b> · trouvé : <b>{_e(flag.trouve) or '—'}</b></div>"
    if crop is not None:
        alt = f"extrait de {flag.fichier}, page {flag.page}"
        data = base64.b64encode(crop).decode()
        figure = f'<img class="crop" alt="{_e(alt)}" src="data:image/png;base64,{data}">'
    else:
        figure = '<div class="nocrop">pas d\'extrait de page pour ce contrôle</div>'
    return (
        f'<div class="flag {_e(flag.gravite)}" data-code="{_e(flag.code)}">'
        f'<span class="badge">{_e(GRAVITY_LABEL.get(flag.gravite, flag.gravite))}</span> <b>{_e(flag.code)}</b>'
        f'<div class="message">{_e(flag.message)}</div>{evidence}'
        f'<div class="meta">{" · ".join(where)}</div>{figure}</div>'
    )


def report_html(
    territories: list[TerritoryRows],
    conventions: list[Convention],
    flags: list[Flag],
    entries: list[RunEntry],
    crops: dict[str, bytes],
    run_info: dict[str, object],
) -> str:
    """The whole report as one self-contained HTML page (inline CSS, script and images)."""
    by_file = {c.fichier: c for c in conventions}
    slug_of_file = {c.fichier: territory_slug(c) for c in conventions}

    def flag_html(f: Flag) -> str:
        region = flag_region(f, by_file.get(f.fichier))
        crop = crops.get(region.key()) if region else None
        return _flag_html(f, crop)

    flags_by_slug: dict[str | None, list[Flag]] = defaultdict(list)
    for f in flags:
        flags_by_slug[flag_slug(f, slug_of_file)].append(f)
    for lst in flags_by_slug.values():
        lst.sort(key=lambda f: (GRAVITY_ORDER.get(f.gravite, 9), f.fichier, f.page or 0, f.annexe, f.ligne or 0))
    gravity = Counter(f.gravite for f in flags)
    ok = sum(e.statut == "ok" for e in entries)
    parts = [
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Conventions Logement d'abord — rapport du lot</title><style>{_CSS}</style></head><body>",
        "<header><h1>Conventions Logement d'abord — rapport du lot</h1>",
        f"<div>{ok} document(s) lu(s), {len(entries) - ok} en erreur · {gravity['erreur']} erreur(s), "
        f"{gravity['alerte']} alerte(s), {gravity['info']} info(s) · version {_e(run_info.get('version', ''))}"
        f"{' · <b>lot interrompu</b>' if run_info.get('interrompu') else ''}</div></header><main>",
        '<nav>Afficher : <button data-gravite="tout">tout</button><button data-gravite="erreur">erreurs</button>'
        '<button data-gravite="alerte">alertes</button><button data-gravite="info">infos</button></nav>',
        "<h2>Territoires</h2><table><thead><tr><th>Territoire</th><th>Documents</th><th>Actions</th>"
        "<th>Coût total</th><th>Financement AMI</th><th>Cofinancement</th><th>Erreurs</th><th>Alertes</th>"
        "<th>Infos</th></tr></thead><tbody>",
    ]
    for t in territories:
        c: Counter[str] = Counter(f.gravite for f in flags_by_slug.get(t.slug, []))
        parts.append(
            f'<tr><td><a href="#t-{_e(t.slug)}">{_e(t.name)}</a></td><td class="num">{len(t.documents)}</td>'
            f'<td class="num">{len(t.actions)}</td>'
            + "".join(f'<td class="num">{euros(t.total(col))}</td>' for col in AMOUNT_TOTALS)
            + "".join(f'<td class="num">{c[g]}</td>' for g in ("erreur", "alerte", "info"))
            + "</tr>"
        )
    parts.append("</tbody></table>")
    failed = [e for e in entries if e.statut != "ok"]
    if failed:
        parts.append("<h2>Fichiers en erreur</h2><table><thead><tr><th>Fichier</th><th>Message</th></tr></thead>")
        parts.append("<tbody>")
        parts.extend(f"<tr><td>{_e(e.fichier)}</td><td>{_e(e.erreur)}</td></tr>" for e in failed)
        parts.append("</tbody></table>")
    for t in territories:
        tf = flags_by_slug.get(t.slug, [])
        parts.append(f'<section class="territory" id="t-{_e(t.slug)}"><h2>{_e(t.name)}</h2>')
        parts.append(
            f'<div class="meta">{len(t.documents)} document(s) : '
            + ", ".join(_e(d.get("fichier")) for d in t.documents)
            + f" · coût total {euros(t.total('cout_total'))} · financement AMI {euros(t.total('financement_ami'))}"
            + f" · cofinancement {euros(t.total('cofinancement'))}</div>"
        )
        parts.extend(flag_html(f) for f in tf)
        if not tf:
            parts.append('<p class="meta">aucun contrôle signalé</p>')
        parts.append("</section>")
    orphans = flags_by_slug.get(None, [])
    if orphans:
        parts.append('<section class="territory" id="t-sans-territoire"><h2>Sans territoire (fichiers en erreur)</h2>')
        parts.extend(flag_html(f) for f in orphans)
        parts.append("</section>")
    parts.append(f"</main><script>{_JS}</script></body></html>\n")
    return "".join(parts)


def write_report(
    out: Path,
    territories: list[TerritoryRows],
    conventions: list[Convention],
    flags: list[Flag],
    entries: list[RunEntry],
    sources: dict[str, Path],
    crop_cache: Path | None,
    run_info: dict[str, object],
) -> Path:
    """Render the crops every flag needs (reusing cached ones) and write OUT/report.html."""
    by_file = {c.fichier: c for c in conventions}
    regions = [r for f in flags if (r := flag_region(f, by_file.get(f.fichier))) is not None]
    crops = render_regions(regions, sources, crop_cache)
    path = out / "report.html"
    atomic_write(path, report_html(territories, conventions, flags, entries, crops, run_info))
    return path
