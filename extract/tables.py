"""Find annex tables on a page: ruled ones from their rulings, borderless ones from the layout.

The choice is made per table from evidence (a grid of rulings or none) and recorded in the
table's parsing report; both paths end in the same cell grid (`extract.grid`)."""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from statistics import median
from typing import Any, Literal, NamedTuple

from extract.grid import SNAP, cluster, grid_rows, split_word
from extract.layout import line_height, phrase_gap, words_to_lines, words_to_phrases
from models import BBox, Cell, Page, PageTable, ParsingReport, RawRow, Ruling, Word
from normalize.amounts import parse_amount
from normalize.columns import header_hits

MIN_HEADER_FIELDS = 3


class Found(NamedTuple):
    """One table found on a page, before its header is read: box, rows, columns and the evidence."""

    box: BBox
    rows: list[RawRow]
    columns: list[float]
    evidence: str
    notes: list[str]
    confidence: float  # how sure the grid is (columns and rows), before the header is considered
    dropped: list[str]  # text of the table's region that no cell holds
    doubts: tuple[str, ...] = ()  # header readings left unsure (a label cut from its unit)


_ANNEX_TITLE = re.compile(r"^\s*annexe\s*(n°\s*)?(\d+|[IVX]+)\b", re.IGNORECASE)
_LETTERS = re.compile(r"[^\W\d_]{2,}")


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


def ruled_tables(page: Page) -> list[Found]:
    """Every grid of drawn lines on the page, cut into rows of cells; the sides of filled backgrounds
    (bands, header cells) are no grid: they only hint at row boundaries on the borderless path."""
    lines = [r for r in page.rulings if r.source == "line"]
    hs = _merge_segments(lines, "h")
    vs = _merge_segments(lines, "v")
    found = []
    for ghs, gvs in _components(hs, vs):
        ys = cluster([h.top for h in ghs])
        xs = cluster([v.x0 for v in gvs])
        if len(xs) < 3 or len(ys) < 2:
            continue
        box = BBox(x0=xs[0], top=ys[0], x1=xs[-1], bottom=ys[-1])
        words = [w for w in page.words if box.x0 - 2 <= w.xc <= box.x1 + 2 and box.top <= w.yc <= box.bottom]
        lost: list[Word] = []
        rows = grid_rows(words, xs, ys, gvs, page.number, lost)
        if rows:
            evidence = f"grille de réglures tracées ({len(rows)} bandes, {len(xs) - 1} colonnes)"
            found.append(Found(box, rows, [], evidence, [], 1.0 if not lost else 0.6, _lost(page, lost)))
    return found


# ---------------------------------------------------------------- header rows


@lru_cache(maxsize=65536)  # a pure function of the text, asked for every word of every line
def _is_amount(text: str) -> bool:
    if re.fullmatch(r"(19|20)\d\d([-–/](19|20)\d\d)?", text.strip()):
        return False
    a = parse_amount(text)
    return a.value is not None and bool(re.search(r"\d{3}", text))


_BARE_NUMBER = re.compile(r"[-+]?\d[\d\s.,]*")
_PERIOD_LABEL = re.compile(r"(ann[ée]e\s+)?(19|20)\d\d([-–/](19|20)?\d\d)?(\s*\(k?€\))?", re.IGNORECASE)


def _amount_cell(text: str) -> bool:
    """A cell that is an amount, not a label holding a number (`Programme 177 (k€) Total`)."""
    words = re.sub(r"\([^)]*\)|\b(euros?|eur|keur)\b", " ", text, flags=re.IGNORECASE)
    return _is_amount(text) and not re.search(r"[^\W\d_]{3,}", words)


def header_row_count(rows: list[RawRow]) -> int:
    """How many leading rows are column headers (words of the vocabulary, no amounts)."""
    n = 0
    spanned: set[int] = set()  # columns under a label spread over several of them
    for row in rows[:3]:
        texts = [c.text for c in row.cells if c.text]
        labels = [header_hits(t) for t in texts]
        hits: set[str] = set().union(*labels)
        # a bare number (`70` under a k€ header, an action's `1`) is a body cell, never a label
        if any(
            _amount_cell(t) or (_BARE_NUMBER.fullmatch(t.strip()) and not _PERIOD_LABEL.fullmatch(t.strip()))
            for t in texts
        ):
            break
        # a sub-header row under a spanning label: labels and years (`2024 | 2025 | Total`)
        headerish = sum(bool(h) or bool(_PERIOD_LABEL.fullmatch(t.strip())) for h, t in zip(labels, texts, strict=True))
        # ... and only there, or across the row: a lone word under a one-column label ends a row cut by the page
        filled = [i for i, c in enumerate(row.cells) if c.text]
        placed = all(i in spanned for i in filled) or len(filled) * 2 >= len(row.cells)
        sub = n and placed and headerish * 2 >= len(texts) and all(len(t) <= 60 for t in texts)
        if len(hits) >= MIN_HEADER_FIELDS or sub:
            n += 1
            for i, c in enumerate(row.cells):
                if c.span > 1:
                    spanned.update(range(i, i + c.span))
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
    """Indexes of lines that start a header: several column wordings side by side, on this line and
    the one or two lines right below it (sub-headers under a parent label)."""
    per_line: list[tuple[int, set[str], bool, int]] = []
    for line in lines:
        hits: set[str] = set()
        phrases = 0
        split = words_to_phrases(line, gap)
        # a single run of words is never read for labels (prose, a title): the costly matching is skipped
        labels: set[int] = set()  # words of phrases that read as labels
        previous: list[Word] = []
        for ph in split if len(split) >= 2 else []:
            h = header_hits(" ".join(w.text for w in ph))
            phrases += bool(h)
            hits |= h
            if h:
                labels.update(id(w) for w in ph)
            elif len(ph) == 1 and previous and id(previous[-1]) in labels and ph[0].x0 - previous[-1].x1 < 2 * gap:
                labels.add(id(ph[0]))  # a number set a little apart after a label (OCR spacing): `programme` `177`
            previous = ph
        # in a bold header line, or inside a phrase read as a label, a number is a label's
        # (`Enveloppe du programme 177`), not a cell's amount
        bold = sum(w.bold for w in line) > len(line) / 2
        amount = any(_is_amount(w.text) and not (bold and w.bold) and id(w) not in labels for w in line)
        per_line.append((phrases, hits, amount, len(split)))

    def reads_alone(k: int) -> bool:
        labelled, _, amount, total = per_line[k]
        return not amount and total >= 3 and labelled >= 2 and labelled >= 0.6 * total

    found: list[int] = []
    for i in range(len(lines)):
        # a header line reads as several separate labels, never as one run of prose
        labelled, total = per_line[i][0], per_line[i][3]
        if per_line[i][2] or total < 3 or (found and found[-1] >= i - 2):
            continue
        if labelled < 2 or labelled < 0.6 * total:
            # labels wrapped in their cells: read them whole, each cell's lines stacked (unless the
            # next line is a header on its own: this one is a title above it, `Annexe 1 - Programme …`;
            # a line of as many labels as a header needs is the header's first line, its cells wrapping)
            # a line of fewer labels is the header's first line when stacking it over the lines below
            # reads more labelled columns than the next line alone (`Soutien du` / `programme 177`)
            stacked = _stacked_labels(lines, i, gap, per_line)
            title = _ANNEX_TITLE.match(" ".join(w.text for w in lines[i])) or (
                labelled < MIN_HEADER_FIELDS and stacked[1] <= per_line[i + 1][0] if i + 1 < len(lines) else True
            )
            if i + 1 < len(lines) and reads_alone(i + 1) and title:
                continue
            if not _inside_row(lines, i, per_line) and _stacked_reads(stacked):
                found.append(i)
            continue
        if _inside_row(lines, i, per_line):
            continue
        phrases, hits = per_line[i][0], set(per_line[i][1])
        for k in range(i + 1, min(i + 3, len(lines))):
            close = min(w.top for w in lines[k]) - max(w.bottom for w in lines[k - 1]) < 1.5 * line_height(lines[k])
            if not close or per_line[k][2] or per_line[k][3] < 2:
                break
            phrases += per_line[k][0]
            hits |= per_line[k][1]
        if phrases >= MIN_HEADER_FIELDS and len(hits) >= MIN_HEADER_FIELDS:
            found.append(i)
    return found


def _stacked_reads(counts: tuple[int, int, int]) -> bool:
    """Whether stacked phrases (`_stacked_labels`: stacks, labelled stacks, fields) read as a header."""
    stacks, labelled, fields = counts
    return stacks >= 3 and labelled >= 2 and labelled >= 0.6 * stacks and fields >= MIN_HEADER_FIELDS


def _stacked_labels(
    lines: list[list[Word]], i: int, gap: float, per_line: list[tuple[int, set[str], bool, int]]
) -> tuple[int, int, int]:
    """The phrases of line i and of the tight lines below it stacked by column (labels wrapped in their
    cells: `Subvention Dihal` / `sollicitée pour` / `2026 (€)`), read as labels: how many stacks, how
    many of them labelled, how many fields they name."""
    stacks: list[list[Any]] = []  # [x0, x1, texts]
    for k in range(i, min(i + 4, len(lines))):
        if k > i:
            close = min(w.top for w in lines[k]) - max(w.bottom for w in lines[k - 1]) < 1.0 * line_height(lines[k])
            if not close or per_line[k][2]:
                break
        for ph in words_to_phrases(lines[k], gap):
            x0, x1 = ph[0].x0, ph[-1].x1
            overlap = [(min(x1, s[1]) - max(x0, s[0]), s) for s in stacks if x0 < s[1] and x1 > s[0]]
            text = " ".join(w.text for w in ph)
            if k > i and overlap:
                target = max(overlap, key=lambda o: o[0])[1]
                target[0], target[1] = min(target[0], x0), max(target[1], x1)
                target[2].append(text)
            elif k == i or not overlap:
                stacks.append([x0, x1, [text]])
    hits: set[str] = set()
    labelled = 0
    for _x0, _x1, texts in stacks:
        h = header_hits(" ".join(texts))
        labelled += bool(h)
        hits |= h
    return len(stacks), labelled, len(hits)


def _inside_row(lines: list[list[Word]], i: int, per_line: list[tuple[int, set[str], bool, int]]) -> bool:
    """Whether line i continues the cells of a body row: the lines set tight above it (cell leading)
    hold an amount, or several cells of prose (`chef de projet` wrapped in a cell is no header)."""
    for k in range(i - 1, -1, -1):
        gap = min(w.top for w in lines[k + 1]) - max(w.bottom for w in lines[k])
        if gap >= 0.5 * line_height(lines[k + 1]):
            return False
        labelled, _, amount, total = per_line[k]
        if amount or (total >= 3 and labelled < 2):
            return True
    return False


def _gutters(
    header: list[tuple[float, float]],
    body: list[tuple[float, float]],
    x0: float,
    x1: float,
    min_width: float,
    body_lines: int,
    fine: list[tuple[float, float]] | None = None,
    values: list[tuple[float, float]] | None = None,
) -> tuple[list[float], int]:
    """Column separators: in each gap between header phrases, the place fewest body phrases cross
    (the rightmost such place, since cells start just before their header); a place that too many
    body lines cross is no column boundary. Where phrases cross a header gap, `fine` spans (words,
    kept whole only inside a value such as `1 305 721 €`) get a second look: cells printed closer
    than a space still leave the gap between their words. Returns the separators and how many
    came from that second look. Amounts right-aligned past their header's end (`values`) may fill
    the middle of a header gap: the open places on both sides of them are boundaries."""
    step = 0.5
    n = int((x1 - x0) / step) + 1

    def coverage(spans: list[tuple[float, float]]) -> list[int]:
        """How many spans cover each step (counted at their ends, then summed along)."""
        delta = [0] * (n + 1)
        for a, b in spans:
            start, end = max(0, int((a - x0) / step)), min(n, int((b - x0) / step) + 1)
            if start < end:
                delta[start] += 1
                delta[end] -= 1
        return list(itertools.accumulate(delta[:n]))

    head_cover = coverage(header)
    body_cover = coverage(body)
    fine_cover = coverage(fine) if fine is not None else None
    value_cover = coverage(values) if values is not None else None
    limit = max(1, body_lines // 5)
    seps: list[float] = []
    second = 0
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
        if fine_cover is not None and value_cover is not None:
            around = _around_values(fine_cover[start:k], value_cover[start:k], limit)
            if around:
                seps.extend(x0 + (start + c) * step for c in around)
                second += 1
                continue
        gap = body_cover[start:k]
        if min(gap) > limit and fine is not None and fine_cover is not None and min(fine_cover[start:k]) <= limit:
            second += 1
            seps.append(_aligned_run(fine_cover[start:k], fine, x0 + start * step, step, limit))
            continue
        low = min(gap)
        if low > limit:
            continue
        # the rightmost run of the lowest coverage (cells start just before their header), unless amounts
        # visibly end and text starts on a narrower one (text set left under a centred header)
        choice = _aligned_run(gap, [], x0 + start * step, step, low)
        if fine is not None and fine_cover is not None:
            # a gap narrower than a space that the cells of several rows end and start on beats an
            # open place nothing aligns on (`45 000 €|Objectif atteint` under a centred header)
            left = x0 + start * step
            runs = _open_runs(fine_cover[start:k], limit)
            here = next((r for r in runs if left + r[0] * step <= choice <= left + r[1] * step), None)
            base = _aligned(here, fine, left, step) if here else 0
            best = max(
                runs, key=lambda r: (_edges(r, values or [], left, step)[0] + _edges(r, fine, left, step)[1], r[0])
            )
            # the cells ending there must be amounts (set right), not words that happen to end together
            ends, starts = _edges(best, values or [], left, step)[0], _edges(best, fine, left, step)[1]
            if min(ends, starts) >= 2 and ends + starts >= base + max(2, body_lines // 2):
                choice = left + (best[0] + best[1]) / 2 * step
                second += 1
        seps.append(choice)
    return seps, second


def _open_runs(cover: list[int], limit: int) -> list[tuple[int, int]]:
    """Runs of positions (in steps) that at most `limit` lines cross."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(cover):
        if cover[i] <= limit:
            j = i
            while j < len(cover) and cover[j] <= limit:
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def _edges(run: tuple[int, int], spans: list[tuple[float, float]], left: float, step: float) -> tuple[int, int]:
    """How many body cells end right before the run (amounts set right) and start right after it (text
    set left)."""
    a, b = left + run[0] * step, left + run[1] * step
    return sum(abs(x1 - a) <= 1.5 for _, x1 in spans), sum(abs(x0 - b) <= 1.5 for x0, _ in spans)


def _aligned(run: tuple[int, int], spans: list[tuple[float, float]], left: float, step: float) -> int:
    return sum(_edges(run, spans, left, step))


def _aligned_run(cover: list[int], spans: list[tuple[float, float]], left: float, step: float, limit: int) -> float:
    """Among the open runs of a header gap, the one most body cells align on, the rightmost on a tie;
    returns its centre."""
    best = max(_open_runs(cover, limit), key=lambda r: (_aligned(r, spans, left, step), r[0]))
    return left + (best[0] + best[1]) / 2 * step


def _around_values(fine: list[int], values: list[int], limit: int) -> list[float]:
    """Centres (in steps) of the open runs (at most `limit` lines crossing) on both sides of stretches
    covered by amounts alone; empty unless the header gap holds such a stretch between two open runs."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(fine):
        if fine[i] <= limit:
            j = i
            while j < len(fine) and fine[j] <= limit:
                j += 1
            if j - i >= 2:
                runs.append((i, j))
            i = j
        else:
            i += 1
    if len(runs) < 2:
        return []
    for (_, a), (b, _) in itertools.pairwise(runs):
        if any(fine[m] != values[m] for m in range(a, b)):
            return []
    return [(a + b) / 2 for a, b in runs]


_GROUP = re.compile(r"\d{3}(?:[.,]\d{1,2})?[.,]?")
_NUMERIC = re.compile(r"[+\-\u2212]?\d[\d.,]*")
_UNIT = re.compile(r"(?:k|m)?€|k?eur(?:os?)?|%|ht|ttc", re.IGNORECASE)


def _value_spans(line: list[Word], gap: float) -> list[tuple[float, float, bool]]:
    """A line's words as x-spans, joined only inside a value (`1 305 721 €`: digit groups and units),
    each with whether it is a number."""
    spans: list[tuple[float, float, bool]] = []
    prev: Word | None = None
    for w in sorted(line, key=lambda w: w.x0):
        inside_value = (
            prev is not None
            and w.x0 - prev.x1 < gap
            and prev.text[-1:].isdigit()
            and (_GROUP.fullmatch(w.text) is not None or _UNIT.fullmatch(w.text) is not None)
        )
        if spans and inside_value:
            spans[-1] = (spans[-1][0], w.x1, spans[-1][2])
        else:
            spans.append((w.x0, w.x1, _NUMERIC.fullmatch(w.text) is not None))
        prev = w
    return spans


def borderless_tables(
    page: Page, inherited: list[float] | None = None, lines: list[list[Word]] | None = None
) -> list[Found]:
    """Tables found from their header words and the alignment below them; at the top of a page that
    continues a borderless table without repeating its header, the rows take the inherited columns
    (`lines`: the page's `words_to_lines`, when the caller has them already)."""
    words = page.words
    if not words:
        return []
    lh = line_height(words)
    lines = lines if lines is not None else words_to_lines(words)
    gap = phrase_gap(lines, lh, page.ocr.needed)
    anchors = _anchor_lines(lines, gap)
    starts: list[tuple[int, bool]] = [(a, True) for a in anchors]
    if (
        inherited
        and (not anchors or anchors[0] > 0)
        and len({_col(w.xc, inherited) for ln in lines[:3] for w in ln}) >= 2
        and not any(_ANNEX_TITLE.match(" ".join(w.text for w in ln)) for ln in lines[:3])
    ):
        starts.insert(0, (0, False))
    found = []
    consumed = -1
    for start, has_header in starts:
        if start <= consumed:
            continue
        end = _table_end(lines, start, anchors, lh)
        if has_header:
            start = _header_top(lines, start, consumed + 1, gap)
        consumed = end
        table = _borderless_block(page, lines[start : end + 1], has_header, inherited, lh, gap)
        if table is not None:
            found.append(table)
    return found


def _header_top(lines: list[list[Word]], anchor: int, floor: int, gap: float) -> int:
    """The first line of the header found at `anchor`: a header aligned at the bottom of its cells starts
    higher for its tall labels (`Financement` / `Dihal sollicité` / `2024 (€)`); such a line sits tight
    above, holds no amount, and each of its labels lies over one or two labels of the anchor line."""
    anchor_phrases = [(ph[0].x0, ph[-1].x1) for ph in words_to_phrases(lines[anchor], gap)]
    # labels centred in tall header cells: `Coût` above `total`, beside the anchor line's labels
    below_phrases = list(anchor_phrases)
    for k in range(anchor + 1, min(anchor + 3, len(lines))):
        if min(w.top for w in lines[k]) - max(w.bottom for w in lines[k - 1]) >= 0.5 * line_height(lines[k]):
            break
        if any(_is_amount(w.text) for w in lines[k]):
            break
        below_phrases += [(ph[0].x0, ph[-1].x1) for ph in words_to_phrases(lines[k], gap)]
    top = anchor
    while top > floor:
        above, below = lines[top - 1], lines[top]
        if min(w.top for w in below) - max(w.bottom for w in above) >= 0.5 * line_height(below):
            break
        if any(_is_amount(w.text) for w in above) or _ANNEX_TITLE.match(" ".join(w.text for w in above)):
            break
        spans = [(ph[0].x0, ph[-1].x1) for ph in words_to_phrases(above, gap)]
        over = [sum(a < x1 and b > x0 for x0, x1 in below_phrases) for a, b in spans]
        if not over or any(n < 1 or n > 2 for n in over) or len(spans) >= len(anchor_phrases):
            break
        top -= 1
    return top


def _table_end(lines: list[list[Word]], start: int, anchors: list[int], lh: float) -> int:
    """Index of the last line of the table starting at `start`: before a large gap, a title or a new header."""
    end = start
    for k in range(start + 1, len(lines)):
        prev_bottom = max(w.bottom for w in lines[k - 1])
        top = min(w.top for w in lines[k])
        text = " ".join(w.text for w in lines[k])
        if top - prev_bottom > 3.0 * lh or _ANNEX_TITLE.match(text) or k in anchors:
            break
        end = k
    return end


_LABEL_TAIL = re.compile(r"\(\s*(?:k|m)?(?:€|eur(?:os?)?)\s*\)|\d{1,4}", re.IGNORECASE)


def _header_phrases(line: list[Word], gap: float) -> list[list[Word]]:
    """The phrases of a header line; a lone unit or number set a little apart after a label (OCR word
    gaps vary with the ink: `programme` `177`, `total` `(k€)`) stays on that label."""
    phrases: list[list[Word]] = []
    for ph in words_to_phrases(line, gap):
        prev = phrases[-1] if phrases else []
        tail = len(ph) == 1 and _LABEL_TAIL.fullmatch(ph[0].text) is not None
        if tail and prev and ph[0].x0 - prev[-1].x1 < 2 * gap and any(_LETTERS.search(w.text) for w in prev):
            prev.extend(ph)
        else:
            phrases.append(list(ph))
    return phrases


def _label_blocks(header: list[list[Word]], gap: float) -> list[tuple[float, float, float, float, list[str]]]:
    """Header phrases (x0, x1, top, bottom, texts), a label wrapped over several lines kept as one: a
    phrase alone under another one's span, set tight below it (`Crédits AMI alloués` / `2024-2025`
    over `2024 | 2025 | Total`), continues it; several phrases under one span are its sub-headers."""
    blocks: list[list[Any]] = []
    prev: list[list[Any]] = []
    for ln in header:
        phs = [
            (ph[0].x0, ph[-1].x1, min(w.top for w in ph), max(w.bottom for w in ph), " ".join(w.text for w in ph))
            for ph in _header_phrases(ln, gap)
        ]
        cur: list[list[Any]] = []
        for x0, x1, top, bottom, text in phs:
            # the one block above it overlaps, and only it of its line overlaps that block (a wrapped
            # label's next line may be wider than its first: `Contribution État` / `retenue 2026 (k€)`)
            above = [b for b in prev if x0 < b[1] and x1 > b[0] and top - b[3] < 0.8 * (bottom - top)]
            parent = (
                above[0]
                if len(above) == 1 and sum(q[0] < above[0][1] and q[1] > above[0][0] for q in phs) == 1
                else None
            )
            if parent is not None:
                parent[0], parent[1], parent[3] = min(parent[0], x0), max(parent[1], x1), bottom
                parent[4].append(text)
                cur.append(parent)
            else:
                block = [x0, x1, top, bottom, [text]]
                blocks.append(block)
                cur.append(block)
        prev = cur
    return [(b[0], b[1], b[2], b[3], b[4]) for b in blocks]


def _unit_fragment(texts: list[str]) -> bool:
    """Whether a header block holds only units and numbers (`177`, `(k€)`), not only years."""
    words = " ".join(texts).split()
    return all(_LABEL_TAIL.fullmatch(w) for w in words) and not all(_YEAR.fullmatch(w) for w in words)


def _cut_labels(header: list[list[Word]], gap: float) -> list[str]:
    """Header fragments of units or numbers alone, under no label and right beside one at their height:
    a label cut from its unit, whose column and unit are unsure (one French note each)."""
    blocks = _label_blocks(header, gap)
    out = []
    for x0, x1, top, bottom, texts in blocks:
        if not _unit_fragment(texts) or any(b[3] <= top + 0.5 and b[0] < x1 and b[1] > x0 for b in blocks):
            continue  # a label, or a sub-label under its parent
        beside = [
            " ".join(b[4])
            for b in blocks
            if b[2] < bottom
            and b[3] > top
            and min(abs(x0 - b[1]), abs(b[0] - x1)) < 4 * gap
            and any(_LETTERS.search(t) for t in b[4])
        ]
        if beside:
            cut = f"en-tête « {' '.join(texts)} » isolé à côté de « {beside[0]} »"
            out.append(f"{cut} : libellé coupé, sens ou unité incertain")
    return out


def _parents_dropped(header: list[list[Word]], gap: float) -> list[tuple[float, float]]:
    """Header phrases as x-spans, without the parent labels that span several sub-headers below them."""
    phrases = [(x0, x1, top, bottom) for x0, x1, top, bottom, _ in _label_blocks(header, gap)]
    kept = []
    for x0, x1, _top, bottom in phrases:
        # sub-headers under the label: centred under it or overlapping it (a short label over wide columns)
        below = [
            p
            for p in phrases
            if p[2] >= bottom - 0.5 and (x0 - 1 <= (p[0] + p[1]) / 2 <= x1 + 1 or (p[0] < x1 and p[1] > x0))
        ]
        below.sort()
        separate = any(b[0] > a[1] for a, b in itertools.pairwise(below))
        if not separate:
            kept.append((x0, x1))
    return kept


def _borderless_block(
    page: Page, block: list[list[Word]], has_header: bool, inherited: list[float] | None, lh: float, gap: float
) -> Found | None:
    region = [w for ln in block for w in ln]
    if not region:
        return None
    notes: list[str] = []
    header_top = min(w.top for w in block[0])
    head_end = _header_end(block, lh, gap, page) if has_header else 0
    second = 0
    if not has_header:
        if not inherited:
            return None
        seps = list(inherited)
        x0, x1 = seps[0], seps[-1]
        evidence = "pas de grille de réglures ; colonnes héritées de la page précédente"
    else:
        x0 = min(w.x0 for w in region) - 1
        x1 = max(w.x1 for w in region) + 1
        head_spans = _parents_dropped(block[:head_end], gap)
        body_spans = [(ph[0].x0, ph[-1].x1) for ln in block[head_end:] for ph in words_to_phrases(ln, gap)]
        fine = [sp for ln in block[head_end:] for sp in _value_spans(ln, gap)]
        inner, second = _gutters(
            head_spans,
            body_spans,
            x0,
            x1,
            min_width=0.5 * lh,
            body_lines=len(block) - head_end,
            fine=[(a, b) for a, b, _ in fine],
            values=[(a, b) for a, b, number in fine if number],
        )
        seps = _merge_headerless([x0, *inner, x1], block[:head_end], block[head_end:])
        evidence = "pas de grille de réglures ; colonnes tirées de l'alignement des mots"
        if second:
            evidence += f" ; {second} colonne(s) séparée(s) par un écart plus étroit qu'une espace"
        # a word printed across a column boundary that the other rows leave open: two cells' characters
        block = block[:head_end] + _cut_touching(block[head_end:], seps, 0.5 * lh)
        # prose set apart under the table (`Fait à …`, a note) runs across columns: it is no row; a
        # label merged across columns (a total row's) holds amounts or sits tight under its row
        while (
            len(block) > head_end + 1
            and min(w.top for w in block[-1]) - max(w.bottom for w in block[-2]) >= 0.9 * lh
            and not any(_is_amount(w.text.rstrip(".,;:")) for w in block[-1])
            and any(sum(ph[0].x0 < x < ph[-1].x1 for x in seps[1:-1]) >= 2 for ph in words_to_phrases(block[-1], gap))
        ):
            notes.append("texte sous le tableau, à travers les colonnes : " + " ".join(w.text for w in block[-1]))
            block.pop()
        region = [w for ln in block for w in ln]
    bottom = max(w.bottom for w in region) + 1
    hints = _row_hints(page, block, x0, x1)
    ys = _row_cuts(block, head_end, seps, header_top, bottom, lh, hints)
    if hints:
        evidence += f" ; {len(hints)} traits ou bords de fonds entre les lignes (indices de rangées)"
    lost: list[Word] = []
    rows = grid_rows(region, seps, ys, None, page.number, lost)
    if head_end and rows:
        _spread_parents(rows[0], block[:head_end], seps, gap)
    confidence = (0.8 if not second else 0.7) if not lost else 0.5
    box = BBox(x0=x0, top=header_top, x1=x1, bottom=bottom)
    drawn = [r for r in page.rulings if r.source == "line" and _inside(r, box)]
    fills = [r for r in page.rulings if r.source == "fill" and _inside(r, box)]
    if drawn or fills:
        evidence += f" ; dessins vus sans grille : {len(drawn)} traits, {len(fills)} bords de fonds"
    doubts = tuple(_cut_labels(block[:head_end], gap)) if head_end else ()
    return Found(box, rows, seps, evidence, notes, confidence, _lost(page, lost), doubts)


def _inside(r: Ruling, box: BBox) -> bool:
    return box.x0 - 2 <= r.x0 and r.x1 <= box.x1 + 2 and box.top - 2 <= r.top and r.bottom <= box.bottom + 2


def _lost(page: Page, words: list[Word]) -> list[str]:
    """Words of a table that no cell holds, for the parsing report."""
    return [f"page {page.number} : mot hors des cellules « {w.text} » ({w.x0:.0f}, {w.top:.0f})" for w in words]


_YEAR = re.compile(r"(?:19|20)\d\d(?:[-–/](?:19|20)?\d\d)?[.,;:]?")


def _cut_touching(body: list[list[Word]], seps: list[float], reach: float) -> list[list[Word]]:
    """Body words printed across a column boundary cut there when a part is a number and the cut falls
    on the edges the other rows draw (the left column's right edge, amounts set right; the right
    column's left edge, text set left) or in the gap they leave between. `34|8,5 (ARS)` becomes two
    cells; a year (`Total 2025` run over an empty cell) stays whole."""
    inner = seps[1:-1]
    whole = [w for ln in body for w in ln if not any(w.x0 < x < w.x1 for x in inner)]
    right_edge: dict[int, float] = {}
    left_edge: dict[int, float] = {}
    for w in whole:
        c = _col(w.xc, seps)
        right_edge[c] = max(right_edge.get(c, w.x1), w.x1)
        left_edge[c] = min(left_edge.get(c, w.x0), w.x0)
    out = []
    for ln in body:
        words: list[Word] = []
        for w in ln:
            parts = [w]
            for i, x in enumerate(inner, 1):
                if not w.x0 < x < w.x1:
                    continue
                cut = [q for p in parts for q in split_word(p, x, reach, numeric=True)]
                if len(cut) == len(parts) + 1:
                    a, b = next(
                        (cut[k], cut[k + 1]) for k in range(len(cut) - 1) if cut[k].x1 <= x + reach <= cut[k + 1].x1
                    )
                    end, start = right_edge.get(i - 1, -1e9), left_edge.get(i, 1e9)
                    on_edge = abs(a.x1 - end) <= 1.5 or abs(b.x0 - start) <= 1.5
                    in_gap = end - 1.5 <= a.x1 and b.x0 <= start + 1.5
                    if (on_edge or in_gap) and not _YEAR.fullmatch(w.text):
                        parts = cut
            words.extend(parts)
        out.append(sorted(words, key=lambda w: w.x0))
    return out


def _spread_parents(row: RawRow, header: list[list[Word]], seps: list[float], gap: float) -> None:
    """A header label drawn over several columns (`Crédits AMI 2024-2025` over `2024`, `2025`, `Total`)
    leads the header text of each column it covers, instead of being cut word by word."""
    ncol = len(seps) - 1
    parts: list[list[str]] = [[] for _ in range(ncol)]
    spread = False
    for a, b, _top, _bottom, texts in _label_blocks(header, gap):
        cols = [
            i for i in range(ncol) if min(b, seps[i + 1]) - max(a, seps[i]) >= 0.5 * min(b - a, seps[i + 1] - seps[i])
        ]
        if not cols:
            cols = [_col((a + b) / 2, seps)]
        spread |= len(cols) >= 2
        for i in cols:
            parts[i].append(" ".join(texts))
    if not spread or len(row.cells) != ncol:
        return
    for cell, texts in zip(row.cells, parts, strict=True):
        cell.text, cell.lines = " ".join(texts), texts


def _row_hints(page: Page, block: list[list[Word]], x0: float, x1: float) -> list[float]:
    """Heights where a horizontal rule or a background band's edge runs across most of the table between
    two lines of words: drawn evidence of a row boundary (never required, never a column)."""
    top = min(w.top for w in block[0])
    bottom = max(w.bottom for ln in block for w in ln)
    width = x1 - x0
    hs = _merge_segments([r for r in page.rulings if r.orientation == "h" and top - 1 < r.top < bottom + 1], "h")
    ys = cluster([r.top for r in hs if min(r.x1, x1) - max(r.x0, x0) >= 0.6 * width])
    # a speck read as punctuation on the rule itself (`.`, `-`: a dotted rule's dots, OCR) crosses nothing
    words = [w for ln in block for w in ln if any(ch.isalnum() for ch in w.text)]
    # a word's box holds its font's ascent and descent: an edge through their margin still passes between
    # lines (spreadsheet rows set their text against the row's edge)
    return [
        y
        for y in ys
        if top < y < bottom and not any(w.top + 0.25 * w.height < y < w.bottom - 0.25 * w.height for w in words)
    ]


def _row_cuts(
    lines: list[list[Word]],
    head_end: int,
    seps: list[float],
    top: float,
    bottom: float,
    lh: float,
    hints: list[float] | None = None,
) -> list[float]:
    """Horizontal cuts: below the header, at drawn rules or band edges between lines (`hints`), and
    wherever a gap opens in the columns' text and several columns start anew."""
    cuts = [top - 1]
    i0 = head_end
    head_bottom = top
    if head_end:
        below = min(w.top for w in lines[i0]) if i0 < len(lines) else bottom
        head_bottom = max(w.bottom for w in lines[i0 - 1])
        cuts.append((head_bottom + below) / 2)
    cuts.extend(y for y in hints or [] if y > head_bottom)
    body = lines[i0:]
    if not body:
        return cluster([*cuts, bottom], tol=1.0)
    # each column's lines on their own: cells centred in their row interleave with their neighbours
    # on the page's lines, but inside one column a row break still opens the wider gap
    columns: dict[int, list[Word]] = {}
    for w in (w for ln in body for w in ln):
        columns.setdefault(_col(w.xc, seps), []).append(w)
    col_lines = {c: words_to_lines(ws) for c, ws in columns.items()}
    gaps = [
        min(w.top for w in b) - max(w.bottom for w in a) for cl in col_lines.values() for a, b in itertools.pairwise(cl)
    ]
    # line spacing inside a cell: the usual small gap; a row break opens a clearly wider one
    leading = median([g for g in gaps if -lh < g < 0.8 * lh] or [0.0])
    threshold = max(0.45 * lh, leading + 0.3 * lh)
    # paragraphs: a column's lines closer than the threshold; the body's blocks: overlapping paragraphs
    paragraphs: list[tuple[float, float, int]] = []

    def top_of(ln: list[Word]) -> float:
        # a word whose box rises above its line's took in a speck (OCR): the line's words say where it starts
        return median(w.top if w.height <= 2 * lh else w.bottom - 1.5 * lh for w in ln)

    for c, cl in col_lines.items():
        start, end = top_of(cl[0]), max(w.bottom for w in cl[0])
        for ln in cl[1:]:
            t, b = top_of(ln), max(w.bottom for w in ln)
            if t - end >= threshold:
                paragraphs.append((start, end, c))
                start = t
            end = max(end, b)
        paragraphs.append((start, end, c))
    paragraphs.sort()
    blocks: list[tuple[float, float, set[int]]] = []
    for t, b, c in paragraphs:
        if blocks and t - blocks[-1][1] < threshold:
            blocks[-1] = (blocks[-1][0], max(blocks[-1][1], b), blocks[-1][2] | {c})
        else:
            blocks.append((t, b, {c}))
    for prev, nxt in itertools.pairwise(blocks):
        if len(nxt[2]) >= 2 or min(nxt[2]) == 0:
            cuts.append((prev[1] + nxt[0]) / 2)
    cuts.append(bottom)
    return cluster(cuts, tol=1.0)


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


def _header_end(lines: list[list[Word]], lh: float, spaced: float, page: Page) -> int:
    """Index of the first body line after the header that starts at lines[0]: below the first rule
    under which the lines stop looking like a header (a rule between a parent label and its
    sub-headers does not end it), else at the first change of weight, gap or amount (`spaced`: the phrase gap)."""
    top = min(w.top for w in lines[0])
    bold = sum(w.bold for w in lines[0]) > len(lines[0]) / 2
    width = max(w.x1 for ln in lines for w in ln) - min(w.x0 for ln in lines for w in ln)
    # a browser draws a rule cell by cell: segments joined first
    rules = sorted(
        r.top
        for r in _merge_segments([r for r in page.rulings if r.orientation == "h"], "h")
        if top < r.top < top + 12 * lh and r.x1 - r.x0 > max(100.0, 0.5 * width)
    )
    for rule in rules:
        k = next((k for k, ln in enumerate(lines) if median(w.yc for w in ln) > rule), len(lines))
        if k == len(lines):
            break
        below = lines[k]
        sub_headers = (
            bold
            and sum(w.bold for w in below) > len(below) / 2
            and not any(_is_amount(w.text) for w in below)
            and max(w.x1 for w in below) - min(w.x0 for w in below) < 0.6 * width
        )
        if not sub_headers:
            return k
    pitches: list[float] = []
    # OCR boxes hold the ink only (gaps vary with the letters): the spacing of a cell's lines is the measure
    leading = _leading(lines) if page.ocr.needed else None
    for k in range(1, len(lines)):
        gap = min(w.top for w in lines[k]) - max(w.bottom for w in lines[k - 1])
        pitch = median(w.top for w in lines[k]) - median(w.top for w in lines[k - 1])
        is_bold = sum(w.bold for w in lines[k]) > len(lines[k]) / 2
        # in a bold header, a bold number is a label's (`programme 177`, `2024`), not a cell's amount; so is a
        # number that shares its phrase with words (`BOP 177`, `177 notifiée`): a cell's amount stands alone
        amount = any(
            _is_amount(w.text) and not (bold and w.bold) and _amount_cell(_text(ph))
            for ph in words_to_phrases(lines[k], spaced)
            for w in ph
        )
        if gap > 0.6 * lh and bold and is_bold and not amount and _under_parent(lines[:k], lines[k], lh):
            continue  # sub-headers set apart under their parent label (`2024 | 2025 | Total`)
        # a line at the header's own spacing goes on it
        usual = median(pitches) if pitches else leading
        wide = gap > 0.6 * lh and not (usual and pitch <= 1.2 * usual)
        if (bold and not is_bold) or wide or amount:
            return k
        pitches.append(pitch)
    return len(lines)


def _text(phrase: list[Word]) -> str:
    """A phrase's words, spaced."""
    return " ".join(w.text for w in phrase)


def _leading(lines: list[list[Word]]) -> float | None:
    """The pitch of lines inside one cell: the smaller pitches of consecutive lines, where a row break
    opens a wider one (None under four lines)."""
    pitches = sorted(
        median(w.top for w in b) - median(w.top for w in a) for a, b in itertools.pairwise(lines) if a and b
    )
    if len(pitches) < 3:
        return None
    return median(pitches[: max(1, len(pitches) // 3)])


def _under_parent(header: list[list[Word]], line: list[Word], lh: float) -> bool:
    """Whether a line holds two or more labels that all lie under one phrase of the header above: the
    sub-headers of a parent label spread over their columns."""
    parents = [(ph[0].x0, ph[-1].x1) for ln in header for ph in words_to_phrases(ln, 0.6 * lh)]
    labels = words_to_phrases(line, 0.6 * lh)
    # labels set right or left in their cells reach a little past the centred parent
    return len(labels) >= 2 and any(
        all(a - 0.2 * (b - a) <= (ph[0].x0 + ph[-1].x1) / 2 <= b + 0.2 * (b - a) for ph in labels) for a, b in parents
    )


# ---------------------------------------------------------------- per page


def _title_above(page: Page, top: float) -> str:
    """The text lines just above a table (its annex title, if any)."""
    above = [w for w in page.words if w.bottom <= top + 1 and w.top >= top - 80]
    return " ".join(" ".join(w.text for w in ln) for ln in words_to_lines(above))


def _title_row(row: RawRow) -> bool:
    """A row above the header that is no header itself: text from the first cell on (a merged cell, or
    text overflowing its empty neighbours), no amount, no two column labels."""
    filled = [c for c in row.cells if c.text]
    if not filled or not row.cells[0].text or any(_is_amount(c.text) for c in filled):
        return False
    return sum(bool(header_hits(c.text)) for c in filled) < 2 and len(filled) <= max(1, len(row.cells) // 3)


def _note_row(row: RawRow) -> bool:
    """A row under the body whose only text is one cell merged across the whole width."""
    filled = [c for c in row.cells if c.text]
    return (
        len(filled) == 1
        and filled[0].span >= max(2, len(row.cells) - 1)
        and not any(_is_amount(c.text) for c in filled)
    )


def _page_table(page: Page, found: Found, method: Literal["ruled", "borderless"]) -> PageTable:
    rows = found.rows
    notes = list(found.notes)
    title = _title_above(page, found.box.top)
    # the grid may hold the annex title (and its unit) in rows above the header: the header is below them
    lead = 0
    n = header_row_count(rows)
    while not n and lead < min(2, len(rows) - 1) and _title_row(rows[lead]):
        lead += 1
        n = header_row_count(rows[lead:])
    if n and lead:
        inside = " ".join(c.text for r in rows[:lead] for c in r.cells if c.text)
        title = f"{title} {inside}".strip()
        notes.append(f"titre dans la grille, au-dessus de l'en-tête : {inside}")
        rows = rows[lead:]
    # and notes under the body, across the whole width
    while n and len(rows) > n + 1 and _note_row(rows[-1]):
        notes.append("note sous le tableau : " + " ".join(c.text for c in rows[-1].cells if c.text))
        rows = rows[:-1]
    for r in rows[:n]:
        r.kind = "header"
    return PageTable(
        page=page.number,
        bbox=found.box,
        header=combine_header(rows[:n]) if n else [],
        rows=rows,
        title=title,
        columns=found.columns,
        report=ParsingReport(
            method=method,
            evidence=found.evidence,
            confidence=found.confidence if n else 0.5,
            rows=len(rows) - n,
            notes=notes + list(found.doubts),
            dropped=list(found.dropped),
            doubts=list(found.doubts),
        ),
    )


def page_to_tables(
    page: Page, inherited: list[float] | None = None, lines: list[list[Word]] | None = None
) -> list[PageTable]:
    """The tables of one page: ruled where the rulings draw a grid, borderless otherwise (`lines`: the
    page's `words_to_lines`, when the caller has them already)."""
    ruled = [_page_table(page, f, "ruled") for f in ruled_tables(page)]
    if not ruled:
        return [_page_table(page, f, "borderless") for f in borderless_tables(page, inherited, lines)]
    # a grid drawn around the header alone (its body set without lines) frames no table when the
    # words below it align into one; a grid elsewhere on the page (a framed block) hides no table
    framed = [t for t in ruled if not (t.header and t.report.rows == 0)]
    outside = [w for w in page.words if not any(_holds(t.bbox, w) for t in framed)]
    if not outside:
        return ruled
    found = [
        t
        for t in (
            _page_table(page, f, "borderless")
            for f in borderless_tables(page.model_copy(update={"words": outside}))
            if not any(_overlaps(f.box, r.bbox) for r in framed)
        )
        if t.header and t.report.rows
    ]
    if not found:
        return ruled
    kept = [r for r in ruled if r in framed or not any(_overlaps(r.bbox, t.bbox) for t in found)]
    return sorted([*kept, *found], key=lambda t: t.bbox.top)


def _holds(box: BBox, w: Word) -> bool:
    return box.x0 - 2 <= w.xc <= box.x1 + 2 and box.top - 2 <= w.yc <= box.bottom + 2


def _overlaps(a: BBox, b: BBox) -> bool:
    return min(a.x1, b.x1) > max(a.x0, b.x0) and min(a.bottom, b.bottom) > max(a.top, b.top)
