"""Lines from words: the pruned grouping gives exactly what trying every line would."""

from __future__ import annotations

import random

import pytest

from extract.layout import words_to_lines
from models import Word


def _every_line(words: list[Word], tolerance: float) -> list[list[Word]]:
    """The grouping by definition: each word, by its middle, joins the first line it overlaps enough."""
    lines: list[list[Word]] = []
    boxes: list[tuple[float, float]] = []
    for w in sorted(words, key=lambda w: (w.yc, w.x0)):
        for i, (top, bottom) in enumerate(boxes):
            if min(bottom, w.bottom) - max(top, w.top) >= tolerance * min(bottom - top, w.bottom - w.top):
                lines[i].append(w)
                boxes[i] = (min(top, w.top), max(bottom, w.bottom))
                break
        else:
            lines.append([w])
            boxes.append((w.top, w.bottom))
    return [sorted(ln, key=lambda w: w.x0) for _, ln in sorted(zip(boxes, lines, strict=True), key=lambda t: t[0][0])]


@pytest.mark.parametrize("seed", range(40))
def test_pruned_lines_are_the_lines_by_definition(seed: int) -> None:
    rng = random.Random(seed)
    words = []
    for i in range(rng.randint(1, 120)):
        top = rng.uniform(0, 300) if rng.random() < 0.7 else round(rng.uniform(0, 30)) * 10.0
        height = rng.choice([rng.uniform(0, 4), rng.uniform(6, 12), rng.uniform(12, 40), 0.0])
        x0 = rng.uniform(0, 500)
        words.append(Word(text=f"w{i}", x0=x0, x1=x0 + 20, top=top, bottom=top + height))
    for tolerance in (0.5, 0.2, 0.0):
        assert words_to_lines(words, tolerance) == _every_line(words, tolerance)
