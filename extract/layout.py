"""Group words into visual lines and phrases; tell a box inside others."""

from __future__ import annotations

import itertools
from statistics import median

from models import Word


def words_to_lines(words: list[Word], tolerance: float = 0.5) -> list[list[Word]]:
    """Words grouped into lines (vertical overlap of at least `tolerance` of the smaller height)."""
    lines: list[list[Word]] = []
    tops: list[tuple[float, float]] = []
    ordered = sorted(words, key=lambda w: (w.yc, w.x0))
    # words come by their middle: a line that ends above the middle of this word less half the tallest word
    # ends above every later word's top, so it can hold none of them (exact for non-negative sizes)
    half = max((w.bottom - w.top for w in ordered), default=0.0) / 2
    prune = tolerance >= 0 and all(w.bottom >= w.top for w in ordered)
    first = 0
    for w in ordered:
        wt, wb = w.top, w.bottom
        wh = wb - wt
        if prune:
            floor = w.yc - half - 1e-6  # float rounding of the middles
            while first < len(tops) and tops[first][0] <= tops[first][1] < floor:
                first += 1
        fast = tolerance >= 0 and wh >= 0  # then a line apart from the word cannot hold it: skipped cheaply
        for i in range(first, len(tops)):
            top, bottom = tops[i]
            if fast and (top > wb or bottom < wt) and bottom >= top:
                continue
            overlap = min(bottom, wb) - max(top, wt)
            if overlap >= tolerance * min(bottom - top, wh):
                lines[i].append(w)
                tops[i] = (min(top, w.top), max(bottom, w.bottom))
                break
        else:
            lines.append([w])
            tops.append((w.top, w.bottom))
    by_top = sorted(zip(tops, lines, strict=True), key=lambda t: t[0][0])
    return [sorted(line, key=lambda w: w.x0) for _, line in by_top]


def line_height(words: list[Word]) -> float:
    """The median word height, a stand-in for the font size."""
    return median(w.height for w in words) if words else 10.0


def phrase_gap(lines: list[list[Word]], lh: float, ink: bool) -> float:
    """The gap that ends a phrase (a cell's text) on a line: 0.6 of the font size. OCR boxes hold the ink
    only, shorter than the font, so on OCR'd words the gap is at least 1.6 of the usual word space."""
    gap = 0.6 * lh
    if not ink:
        return gap
    spaces = [b.x0 - a.x1 for line in lines for a, b in itertools.pairwise(line) if 0 <= b.x0 - a.x1 < lh]
    return max(gap, 1.6 * median(spaces)) if len(spaces) >= 20 else gap


def words_to_phrases(line: list[Word], gap: float) -> list[list[Word]]:
    """Split one line into runs of words separated by less than `gap`."""
    phrases: list[list[Word]] = []
    for w in sorted(line, key=lambda w: w.x0):
        if phrases and w.x0 - phrases[-1][-1].x1 < gap:
            phrases[-1].append(w)
        else:
            phrases.append([w])
    return phrases


def page_text(words: list[Word]) -> str:
    """A page's text, one visual line per line, top to bottom."""
    return lines_text(words_to_lines(words))


def lines_text(lines: list[list[Word]]) -> str:
    """The text of visual lines, one per line."""
    return "\n".join(" ".join(w.text for w in line) for line in lines)


def join_words(words: list[Word]) -> str:
    """The text of words in reading order, lines joined by a space."""
    return " ".join(" ".join(w.text for w in line) for line in words_to_lines(words))


Box = tuple[float, float, float, float]  # x0, top, x1, bottom


def within_any(box: Box, boxes: list[Box], slack: float = 0.01) -> bool:
    """Whether a box lies inside one of `boxes`, to `slack` points."""
    x0, top, x1, bottom = box
    return any(
        bx0 - slack <= x0 and x1 <= bx1 + slack and btop - slack <= top and bottom <= bbottom + slack
        for bx0, btop, bx1, bbottom in boxes
    )
