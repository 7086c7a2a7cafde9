"""Find annex tables on a page: ruled ones from their rulings, borderless ones from the layout.

The choice is made per table from evidence (a grid of rulings or none) and recorded in the
table's parsing report; both paths end in the same cell grid (`extract.grid`)."""

from __future__ import annotations

import re
from statistics import median

from extract.grid import SNAP, cluster, grid_rows
from extract.layout import line_height, words_to_lines, words_to_phrases
from models import BBox, Cell, Page, PageTable, ParsingReport, RawRow, Ruling, Word
from normalize.amounts import parse_amount
from normalize.columns import header_hits

MIN_HEADER_FIELDS = 3
_ANNEX_TITLE = re.compile(r"^\s*annexe\s*(n°\s*)?(\d+|[IVX]+)\b", re.IGNORECASE)


# ---------------------------------------------------------------- ruled tables


def _merge_segments(rulings: list[Ruling], orientation: str) -> list[Ruling]:
    """Collinear, touching segments joined into one ruling."""
    segs = [r for r in rulings if r.orientation == orientation]

    def key(r: Ruling) -> float:
        return r.top if orientation == "h" else r.x0

    out: list[Ruling] = []
    for pos in cluster([key(r) for r in segs]):
        group = [r for r in segs if abs(key(r) - pos) <= SNAP]
        spans = sorted((r.x0, r.x1) for r in group) if orientation == "h" else sorted((r.top, r.bottom) for r in group)
        cur = list(spans[0])
        for a, b in spans[1:]:
            if a <= cur[1] + SNAP:
                cur[1] = max(cur[1], b)
            else:
                out.append(_ruling(orientation, pos, cur))
                cur = [a, b]
        out.append(_ruling(orientation, pos, cur))
    return out


def _ruling(orientation: str, pos: float, span: list[float]) -> Ruling:
    if orientation == "h":
        return Ruling(orientation="h", x0=span[0], x1=span[1], top=pos, bottom=pos)
    return Ruling(orientation="v", x0=pos, x1=pos, top=span[0], bottom=span[1])


def _components(hs: list[Ruling], vs: list[Ruling]) -> list[tuple[list[Ruling], list[Ruling]]]:
    """Groups of rulings that touch one another: one group per drawn table."""
    items = hs + vs
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, h in enumerate(hs):
        for j, v in enumerate(vs, len(hs)):
            if h.x0 - SNAP <= v.x0 <= h.x1 + SNAP and v.top - SNAP <= h.top <= v.bottom + SNAP:
                parent[find(i)] = find(j)
    groups: dict[int, tuple[list[Ruling], list[Ruling]]] = {}
    for i, r in enumerate(items):
        g = groups.setdefault(find(i), ([], []))
        (g[0] if r.orientation == "h" else g[1]).append(r)
    return [g for g in groups.values() if len(g[0]) >= 2 and len(g[1]) >= 2]


def ruled_tables(page: Page) -> list[tuple[BBox, list[RawRow]]]:
    """Every grid of rulings on the page, cut into rows of cells."""
    hs = _merge_segments(page.rulings, "h")
    vs = _merge_segments(page.rulings, "v")
    found = []
    for ghs, gvs in _components(hs, vs):
        ys = cluster([h.top for h in ghs])
        xs = cluster([v.x0 for v in gvs])
        if len(xs) < 3 or len(ys) < 2:
            continue
        box = BBox(x0=xs[0], top=ys[0], x1=xs[-1], bottom=ys[-1])
        words = [w for w in page.words if box.x0 - 2 <= w.xc <= box.x1 + 2 and box.top <= w.yc <= box.bottom]
        rows = grid_rows(words, xs, ys, gvs, page.number)
        if rows:
            found.append((box, rows))
    return found


# ---------------------------------------------------------------- header rows


def _is_amount(text: str) -> bool:
    if re.fullmatch(r"(19|20)\d\d([-–/](19|20)\d\d)?", text.strip()):
        return False
    a = parse_amount(text)
    return a.value is not None and bool(re.search(r"\d{3}", text))


def header_row_count(rows: list[RawRow]) -> int:
    """How many leading rows are column headers (words of the vocabulary, no amounts)."""
    n = 0
    for row in rows[:3]:
        texts = [c.text for c in row.cells if c.text]
        hits: set[str] = set()
        for t in texts:
            hits |= header_hits(t)
        if any(_is_amount(t) for t in texts):
            break
        headerish = sum(bool(header_hits(t)) for t in texts)
        if len(hits) >= MIN_HEADER_FIELDS or (n and headerish * 2 >= len(texts) and all(len(t) <= 60 for t in texts)):
            n += 1
        else:
            break
    return n


def combine_header(rows: list[RawRow]) -> list[Cell]:
    """One header cell per column; a spanning cell's words lead each column it covers."""
    ncol = len(rows[0].cells)
    parts: list[list[str]] = [[] for _ in range(ncol)]
    boxes: list[list[BBox]] = [[] for _ in range(ncol)]
    for row in rows:
        for i, c in enumerate(row.cells):
            if c.span >= 1 and c.text:
                for k in range(i, min(ncol, i + c.span)):
                    parts[k].append(c.text)
                    if c.bbox:
                        boxes[k].append(c.bbox)
    return [Cell(text=" ".join(p), lines=p, bbox=BBox.union(b)) for p, b in zip(parts, boxes, strict=True)]


# ---------------------------------------------------------------- borderless tables


def _anchor_lines(lines: list[list[Word]], gap: float) -> list[int]:
    """Indexes of lines that read like a header: several column wordings side by side."""
    found = []
    for i, line in enumerate(lines):
        hits: set[str] = set()
        phrases = 0
        for ph in words_to_phrases(line, gap):
            h = header_hits(" ".join(w.text for w in ph))
            phrases += bool(h)
            hits |= h
        if (
            phrases >= MIN_HEADER_FIELDS
            and len(hits) >= MIN_HEADER_FIELDS
            and not any(_is_amount(w.text) for w in line)
        ):
            found.append(i)
    return found


def _gutters(
    header: list[tuple[float, float]],
    body: list[tuple[float, float]],
    x0: float,
    x1: float,
    min_width: float,
    body_lines: int,
) -> list[float]:
    """Column separators: in each gap between header phrases, the place fewest body phrases cross
    (the rightmost such place, since cells start just before their header); a place that too many
    body lines cross is no column boundary."""
    step = 0.5
    n = int((x1 - x0) / step) + 1
    head_cover = [0] * n
    body_cover = [0] * n
    for spans, cover in ((header, head_cover), (body, body_cover)):
        for a, b in spans:
            for k in range(max(0, int((a - x0) / step)), min(n, int((b - x0) / step) + 1)):
                cover[k] += 1
    limit = max(1, body_lines // 5)
    seps: list[float] = []
    k = 0
    while k < n:
        if head_cover[k] or k == 0:
            k += 1
            continue
        start = k
        while k < n and not head_cover[k]:
            k += 1
        if k >= n or (k - start) * step < min_width:
            continue
        gap = body_cover[start:k]
        low = min(gap)
        if low > limit:
            continue
        # rightmost run of the lowest coverage
        end = max(i for i, c in enumerate(gap) if c == low)
        begin = end
        while begin > 0 and gap[begin - 1] == low:
            begin -= 1
        seps.append(x0 + (start + (begin + end + 1) / 2) * step)
    return seps


def borderless_table(
    page: Page, inherited: list[float] | None = None
) -> tuple[BBox, list[RawRow], list[float], str] | None:
    """A table found from its header words and the alignment below them, or, on a page that
    continues a borderless table without repeating its header, from the inherited columns."""
    words = page.words
    if not words:
        return None
    lh = line_height(words)
    gap = 0.6 * lh
    lines = words_to_lines(words)
    anchors = _anchor_lines(lines, gap)
    if anchors:
        start = anchors[0]
        header_top = min(w.top for w in lines[start])
    elif (
        inherited
        and len({_col(w.xc, inherited) for ln in lines[:3] for w in ln}) >= 2
        and not any(_ANNEX_TITLE.match(" ".join(w.text for w in ln)) for ln in lines[:3])
    ):
        start, header_top = 0, min(w.top for w in lines[0])
    else:
        return None
    # the body runs down until a large vertical gap (footer) or a new title
    end = start
    for k in range(start + 1, len(lines)):
        prev_bottom = max(w.bottom for w in lines[k - 1])
        top = min(w.top for w in lines[k])
        text = " ".join(w.text for w in lines[k])
        if top - prev_bottom > 3.0 * lh or _ANNEX_TITLE.match(text):
            break
        if k in anchors and k > start + 3:
            break
        end = k
    block = lines[start : end + 1]
    region = [w for ln in block for w in ln]
    head_end = _header_end(block, lh, page) if anchors else 0
    if inherited and not anchors:
        seps = inherited
        x0, x1 = seps[0], seps[-1]
        evidence = "pas de réglures ; colonnes héritées de la page précédente"
    else:
        x0 = min(w.x0 for w in region) - 1
        x1 = max(w.x1 for w in region) + 1
        spans = [
            [(ph[0].x0, ph[-1].x1) for ln in part for ph in words_to_phrases(ln, gap)]
            for part in (block[:head_end], block[head_end:])
        ]
        inner = _gutters(spans[0], spans[1], x0, x1, min_width=0.5 * lh, body_lines=len(block) - head_end)
        seps = _merge_headerless([x0, *inner, x1], block[:head_end], block[head_end:])
        evidence = "pas de réglures ; colonnes tirées de l'alignement des mots"
    bottom = max(w.bottom for w in region) + 1
    ys = _row_cuts(block, head_end, seps, header_top, bottom, lh)
    rows = grid_rows(region, seps, ys, None, page.number)
    return BBox(x0=x0, top=header_top, x1=x1, bottom=bottom), rows, seps, evidence


def _row_cuts(
    lines: list[list[Word]], head_end: int, seps: list[float], top: float, bottom: float, lh: float
) -> list[float]:
    """Horizontal cuts: below the header, then wherever a gap opens and several columns start anew."""
    cuts = [top - 1]
    i0 = head_end
    if head_end:
        below = min(w.top for w in lines[i0]) if i0 < len(lines) else bottom
        cuts.append((max(w.bottom for w in lines[i0 - 1]) + below) / 2)
    gaps = [min(w.top for w in lines[k]) - max(w.bottom for w in lines[k - 1]) for k in range(i0 + 1, len(lines))]
    typical = median([g for g in gaps if g > -lh] or [0.0])
    threshold = max(0.45 * lh, typical + 0.3 * lh)
    for k in range(i0 + 1, len(lines)):
        prev_bottom = max(w.bottom for w in lines[k - 1])
        top_k = min(w.top for w in lines[k])
        if top_k - prev_bottom < threshold:
            continue
        cols = {_col(w.xc, seps) for w in lines[k]}
        first_col = min(cols)
        if len(cols) >= 2 or first_col == 0:
            cuts.append((prev_bottom + top_k) / 2)
    cuts.append(bottom)
    return cuts


def _merge_headerless(seps: list[float], header: list[list[Word]], body: list[list[Word]]) -> list[float]:
    """Drop separators around columns without header text: such a column is part of a neighbour
    (a number set apart from its header, an amount overhanging its column)."""
    if not header:
        return seps
    head_words = [w for ln in header for w in ln]
    while True:
        ncol = len(seps) - 1
        titled = [any(seps[i] <= w.xc < seps[i + 1] for w in head_words) for i in range(ncol)]
        empty = [i for i in range(ncol) if not titled[i]]
        if not empty or ncol <= 1:
            return seps
        i = empty[0]

        options = [j for j in (i - 1, i + 1) if 0 <= j < ncol]
        j = min(options, key=lambda j: (_clashes(seps, body, i, j), j != i - 1))
        del seps[max(i, j)]


def _clashes(seps: list[float], body: list[list[Word]], i: int, j: int) -> int:
    """Lines where columns i and j both hold words: merging them would mix two cells."""
    return sum(
        any(seps[i] <= w.xc < seps[i + 1] for w in ln) and any(seps[j] <= w.xc < seps[j + 1] for w in ln) for ln in body
    )


def _col(x: float, seps: list[float]) -> int:
    for i in range(len(seps) - 1):
        if x < seps[i + 1]:
            return i
    return len(seps) - 2


def _header_end(lines: list[list[Word]], lh: float, page: Page) -> int:
    """Index of the first body line after the header that starts at lines[0]."""
    top = min(w.top for w in lines[0])
    rules = sorted(
        r.top for r in page.rulings if r.orientation == "h" and top < r.top < top + 12 * lh and r.x1 - r.x0 > 100
    )
    if rules:
        for k, ln in enumerate(lines):
            if min(w.top for w in ln) > rules[0]:
                return k
    bold = sum(w.bold for w in lines[0]) > len(lines[0]) / 2
    for k in range(1, len(lines)):
        gap = min(w.top for w in lines[k]) - max(w.bottom for w in lines[k - 1])
        is_bold = sum(w.bold for w in lines[k]) > len(lines[k]) / 2
        if (bold and not is_bold) or gap > 0.6 * lh or any(_is_amount(w.text) for w in lines[k]):
            return k
    return len(lines)


# ---------------------------------------------------------------- per page


def _title_above(page: Page, top: float) -> str:
    """The text lines just above a table (its annex title, if any)."""
    above = [w for w in page.words if w.bottom <= top + 1 and w.top >= top - 80]
    return " ".join(" ".join(w.text for w in ln) for ln in words_to_lines(above))


def page_to_tables(page: Page, inherited: list[float] | None = None) -> list[PageTable]:
    """The tables of one page, ruled where rulings draw a grid, borderless otherwise."""
    tables: list[PageTable] = []
    for box, rows in ruled_tables(page):
        n = header_row_count(rows)
        header = combine_header(rows[:n]) if n else []
        for r in rows[:n]:
            r.kind = "header"
        tables.append(
            PageTable(
                page=page.number,
                bbox=box,
                header=header,
                rows=rows,
                title=_title_above(page, box.top),
                report=ParsingReport(
                    method="ruled",
                    evidence=f"grille de réglures ({len(rows)} bandes)",
                    confidence=1.0 if n else 0.6,
                    rows=len(rows) - n,
                ),
            )
        )
    if tables:
        return tables
    found = borderless_table(page, inherited)
    if found is None:
        return []
    box, rows, seps, evidence = found
    n = header_row_count(rows)
    header = combine_header(rows[:n]) if n else []
    for r in rows[:n]:
        r.kind = "header"
    return [
        PageTable(
            page=page.number,
            bbox=box,
            header=header,
            rows=rows,
            title=_title_above(page, box.top),
            columns=seps,
            report=ParsingReport(
                method="borderless", evidence=evidence, confidence=0.8 if n else 0.5, rows=len(rows) - n
            ),
        )
    ]
