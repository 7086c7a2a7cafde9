"""Cells from separators: rulings (drawn or inferred) cut a table into bands and cells."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from extract.layout import words_to_lines
from models import BBox, Cell, RawRow, Ruling, Word

SNAP = 2.5  # points within which two rulings are the same line
_NUMBER = re.compile(r"[+\-\u2212]?\d[\d.,\u00a0\u202f]*")


def cluster(values: Sequence[float], tol: float = SNAP) -> list[float]:
    """Sorted values merged when closer than `tol` (the mean of each run)."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(run) / len(run) for run in out]


def split_word(word: Word, x: float, reach: float = 3.0, numeric: bool = False) -> list[Word]:
    """The word cut at the character boundary nearest to `x` (a column boundary it crosses): each part
    keeps its characters; unchanged without character extents or without a boundary within `reach`.
    With `numeric`, only where one part is a number (a boundary no drawn line proves: `34|8,5`, never
    inside a word of text)."""
    if not word.chars or not word.x0 < x < word.x1:
        return [word]
    best: tuple[float, int] | None = None
    for i in range(1, len(word.chars)):
        edge = (word.chars[i - 1][1] + word.chars[i][0]) / 2
        d = abs(edge - x)
        if numeric and not (_NUMBER.fullmatch(word.text[:i]) or _NUMBER.fullmatch(word.text[i:])):
            continue
        if d <= reach and (best is None or d < best[0]):
            best = (d, i)
    if best is None:
        return [word]
    i = best[1]
    left, right = word.chars[:i], word.chars[i:]
    return [
        word.model_copy(update={"text": word.text[:i], "x1": left[-1][1], "chars": left}),
        word.model_copy(update={"text": word.text[i:], "x0": right[0][0], "chars": right}),
    ]


def split_at(words: list[Word], xs: Sequence[float], reach: float = 3.0, numeric: bool = False) -> list[Word]:
    """Words crossing any of the boundaries `xs` cut there: a cell owns characters, not words."""
    out: list[Word] = []
    for w in words:
        parts = [w]
        for x in xs:
            if w.x0 < x < w.x1:
                parts = [q for p in parts for q in split_word(p, x, reach, numeric)]
        out.extend(parts)
    return out


def cell_text(words: list[Word]) -> tuple[str, list[str]]:
    """The cell's text (lines joined by a space) and its lines."""
    lines = [" ".join(w.text for w in line) for line in words_to_lines(words)]
    return " ".join(lines), lines


def make_cell(words: list[Word], span: int = 1) -> Cell:
    """A cell holding these words, with its box and lowest OCR confidence."""
    text, lines = cell_text(words)
    confs = [w.conf for w in words if w.conf is not None]
    return Cell(
        text=text,
        lines=lines,
        bbox=BBox.union([w.bbox for w in words]),
        min_conf=min(confs) if confs else None,
        span=span,
    )


def grid_rows(
    words: list[Word],
    xs: list[float],
    ys: list[float],
    verticals: list[Ruling] | None,
    page: int,
    dropped: list[Word] | None = None,
) -> list[RawRow]:
    """Rows of cells between consecutive `ys`, columns between consecutive `xs`.

    With `verticals`, a band is cut only where a vertical ruling crosses it, so a label that
    spans several columns stays one cell (its text in the first column, `span` > 1). Words that no
    band holds are appended to `dropped`."""
    rows: list[RawRow] = []
    ncol = len(xs) - 1
    placed: set[int] = set()
    for top, bottom in itertools.pairwise(ys):
        if bottom - top < 1.0:
            continue
        mid = (top + bottom) / 2
        band_words = [w for w in words if top <= w.yc < bottom and xs[0] - 2 <= w.xc <= xs[-1] + 2]
        placed.update(id(w) for w in band_words)
        if verticals is None:
            cuts = list(range(ncol + 1))
        else:
            present = {0, ncol}
            for v in verticals:
                if v.top - SNAP <= mid <= v.bottom + SNAP or (v.top <= top + SNAP and v.bottom >= bottom - SNAP):
                    k = min(range(len(xs)), key=lambda i: abs(xs[i] - v.x0))
                    if abs(xs[k] - v.x0) <= SNAP * 2:
                        present.add(k)
            cuts = sorted(present)
            # a drawn line between two cells owns no text: a word printed across it is two cells' text
            band_words = split_at(band_words, [xs[k] for k in cuts[1:-1]], reach=SNAP)
        cells = [Cell(span=0) for _ in range(ncol)]
        for a, b in itertools.pairwise(cuts):
            inside = [w for w in band_words if xs[a] <= w.xc < xs[b]]
            cells[a] = make_cell(inside, span=b - a)
        for w in band_words:
            if w.xc < xs[0] or w.xc >= xs[-1]:
                edge = 0 if w.xc < xs[0] else max(a for a in cuts[:-1])
                cells[edge] = make_cell([*_words_of(cells[edge], band_words, xs, cuts, edge), w], cells[edge].span)
        if any(c.text for c in cells):
            rows.append(RawRow(page=page, cells=cells, bbox=BBox(x0=xs[0], top=top, x1=xs[-1], bottom=bottom)))
    if dropped is not None:
        dropped.extend(w for w in words if id(w) not in placed)
    return rows


def _words_of(cell: Cell, band: list[Word], xs: list[float], cuts: list[int], a: int) -> list[Word]:
    b = cuts[cuts.index(a) + 1]
    return [w for w in band if xs[a] <= w.xc < xs[b]]
