"""Read a born-digital PDF with pdfium's page objects: the same pages as `extract.pdf`'s pdfplumber
reader (words, rulings, fills) at a fraction of its cost, and each page's drawing figures for the
OCR decision from the same pass.

pdfplumber is pdfminer's layout plus a word grouping; both are reproduced here from pdfium's raw API:
- a character's box is pdfminer's: its advance (pdfium's loose box, left to right) by the font size
  from the font's descent, so `top`/`bottom` are pdfminer's, not the glyph's ink;
- words are pdfplumber's `extract_words(x_tolerance=1.5, y_tolerance=2.5)` with the font as extra
  attribute: runs of one font in content order, clustered into lines by `top`, sorted by `x0`, cut at
  blanks and gaps; ligature characters expanded;
- paths are pdfminer's painted paths: split at each `m`, a two-point path a line, a closed axis-aligned
  four-point path a rectangle, anything else a curve; edges and their `source` as `extract.pdf` makes them.
What this reader does not reproduce (rotated or vertical text, a page rotated or offset by its MediaBox,
a character that pdfium cannot place) makes `read_pdfium` answer None and the pdfplumber reader is used.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import operator
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from extract.layout import within_any
from models import BBox, Page, Ruling, Word

if TYPE_CHECKING:
    from extract.ocr import PageImageInfo

MIN_RULING = 4.0  # as extract.pdf
_SUBSET = re.compile(r"^[A-Z]{6}\+")  # a subset font's name prefix
HAIRLINE = 2.0  # as extract.pdf
X_TOLERANCE = 1.5
Y_TOLERANCE = 2.5
LIGATURES = {"ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬁ": "fi", "ﬂ": "fl", "ﬆ": "st", "ﬅ": "st"}  # pdfplumber's
_LIGATURE_OF: dict[str, tuple[str, ...]] = {
    letters: tuple(c for c, x in LIGATURES.items() if x == letters) for letters in set(LIGATURES.values())
}


class UnsupportedError(Exception):
    """Something on the page this reader does not reproduce exactly; the pdfplumber reader takes over."""


@dataclass
class PdfiumReading:
    """The pages, and what each page's drawing tells the OCR decision."""

    pages: list[Page]
    drawings: list[PageImageInfo]


# ---------------------------------------------------------------- characters and words

# a character: text, x0, x1, top, bottom, font key (font handle), font name
Char = tuple[str, float, float, float, float, int, str]


@dataclass
class _Font:
    key: int
    handle: Any
    name: str
    descent: float  # pdfminer's, as a fraction of the font size (<= 0)
    widths: dict[str, float]  # pdfminer's advance of a character, in thousandths of the font size
    default: float | None = None  # a standard font's width for a character its metrics lack
    own: dict[str, float] = field(default_factory=dict)  # pdfium's advance (what it placed the glyphs with)

    def pdfium_width(self, pdfium_c: Any, text: str) -> float | None:
        """The advance pdfium placed the character with (its widths rounded down, or its own metrics
        for a standard font), None when pdfium does not say."""
        w = self.own.get(text)
        if w is None:
            got = ctypes.c_float()
            ok = len(text) == 1 and pdfium_c.FPDFFont_GetGlyphWidth(
                self.handle, ord(text), ctypes.c_float(1000.0), ctypes.byref(got)
            )
            w = self.own[text] = got.value if ok else -1.0
        return w if w >= 0 else None

    def width(self, pdfium_c: Any, text: str) -> float | None:
        """pdfminer's advance: the file's exact widths, a standard font's AFM metrics, else pdfium's
        (its loose box reaches a glyph's overhang, as `f`'s, so the width is asked for)."""
        w = self.widths.get(text)
        if w is None and self.default is not None:
            return self.default
        if w is None:
            w = self.pdfium_width(pdfium_c, text)
            if w is None or w <= 0:
                return None
        return w


def _standard_metrics(name: str) -> tuple[dict[str, Any], dict[Any, int]] | None:
    """pdfminer's AFM metrics for a non-embedded standard font (and its Arial, Times New Roman and
    Courier New aliases), which pdfminer uses instead of the file's widths and descent."""
    from pdfminer.fontmetrics import FONT_METRICS

    got = FONT_METRICS.get(name)
    return None if got is None else (dict(got[0]), dict(got[1]))


def _font(pdfium_c: Any, handle: Any, cache: dict[int, _Font], descents: dict[str, float], exact: Widths) -> _Font:
    key = ctypes.cast(handle, ctypes.c_void_p).value or 0
    font = cache.get(key)
    if font is None:
        buf = ctypes.create_string_buffer(256)
        n = pdfium_c.FPDFFont_GetBaseFontName(handle, buf, 256)
        name = buf.raw[: max(n - 1, 0)].decode("utf-8", "replace") if n else ""
        standard = _standard_metrics(name) if not pdfium_c.FPDFFont_GetIsEmbedded(handle) else None
        if standard is not None:  # pdfminer reads these with its own AFM metrics, whatever the file says
            descriptor, widths = standard
            descent = -abs(float(descriptor.get("Descent", 0) or 0)) / 1000
            font = _Font(key, handle, name, descent, {k: float(v) for k, v in widths.items() if isinstance(k, str)})
            font.default = float(descriptor.get("MissingWidth", 0) or 0)
        else:  # the descriptor's /Descent as written (pdfium makes one up when it says 0)
            written = descents.get(name)
            if written is None or math.isnan(written):  # none, or two of that name that disagree: pdfplumber's page
                raise UnsupportedError(f"descripteur de police introuvable ou ambigu : {name}")
            font = _Font(key, handle, name, written, dict(exact.get(name, {})))
        cache[key] = font
    return font


@dataclass(frozen=True)
class _CharApi:
    """pdfium's per-character calls declared without argument types: ctypes passes the index as a C int and
    the addresses as `c_void_p`s, without the conversions that cost more than the calls themselves."""

    text_object: Any  # (textpage, index) -> page object address (0 for a character pdfium made up)
    loose_box: Any  # (textpage, index, FS_RECTF address) -> ok
    origin: Any  # (textpage, index, x address, y address) -> ok


@cache
def _char_api(pdfium_c: Any) -> _CharApi:
    def bare(fn: Any, restype: Any) -> Any:  # no declared argument: a C function takes the extra ones as given
        return ctypes.CFUNCTYPE(restype)(ctypes.cast(fn, ctypes.c_void_p).value or 0)

    return _CharApi(
        bare(pdfium_c.FPDFText_GetTextObject, ctypes.c_size_t),
        bare(pdfium_c.FPDFText_GetLooseCharBox, ctypes.c_int),
        bare(pdfium_c.FPDFText_GetCharOrigin, ctypes.c_int),
    )


def _chars(
    pdfium_c: Any,
    textpage: Any,
    height: float,
    fonts: dict[int, _Font],
    descents: dict[str, float],
    exact: Widths,
) -> list[Char]:
    """The page's characters in content order, with pdfminer's boxes in top-left-origin points."""
    n = pdfium_c.FPDFText_CountChars(textpage)
    if n <= 0:
        return []
    buf = ctypes.create_string_buffer((n + 1) * 2)
    got = pdfium_c.FPDFText_GetText(textpage, 0, n, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)))
    units = memoryview(buf.raw[: max(got - 1, 0) * 2]).cast("H").tolist()
    if len(units) != n:
        raise UnsupportedError("texte de page mal indexé")
    api = _char_api(pdfium_c)
    page_text = ctypes.c_void_p(ctypes.cast(textpage, ctypes.c_void_p).value)
    # pdfium writes the boxes and origins into these; the memoryviews read them back cheaply
    rect, xy = (ctypes.c_float * 4)(), (ctypes.c_double * 2)()
    rect_at = ctypes.c_void_p(ctypes.addressof(rect))
    x_at = ctypes.c_void_p(ctypes.addressof(xy))
    y_at = ctypes.c_void_p(ctypes.addressof(xy) + ctypes.sizeof(ctypes.c_double))
    box, origin_xy = memoryview(rect).cast("B").cast("f"), memoryview(xy).cast("B").cast("d")
    matrix = pdfium_c.FS_MATRIX()
    size = ctypes.c_float()
    text_object, loose_box, origin = api.text_object, api.loose_box, api.origin

    def loose(i: int) -> tuple[float, float]:
        """Character i's loose box, left and right (pdfium fails it only for an index out of range)."""
        if not loose_box(page_text, i, rect_at):
            raise UnsupportedError("caractère sans boîte")
        return box[0], box[2]

    # text object -> font, em height, width scale, font key, font name, descent below the origin, the
    # font's (pdfminer's advance, pdfium's advance) by character
    objects: dict[int, tuple[_Font, float, float, int, str, float, dict[str, tuple[float | None, float | None]]]] = {}
    metrics: dict[int, dict[str, tuple[float | None, float | None]]] = {}
    out: list[Char] = []
    append = out.append
    # the last character kept: its text object, origin, index, loose box (fetched when needed), pdfium's advance
    last_key, last_x, last_y, last_i = 0, math.nan, math.nan, -1
    last_box: tuple[float, float] | None = None
    last_own: float | None = None
    drift, run_xscale = 0.0, 0.0
    current = 0  # the text object whose font and scales are loaded (a character's first, as keys are never 0)
    pending_high = 0
    group, group_drift, group_start = "", 0.0, 0
    spaced = False  # a space pdfium generated just before this character
    for i in range(n):
        unit = units[i]
        key = text_object(page_text, i)
        if not key:  # generated by pdfium (spaces, line ends it infers): not in the content
            # ... but where it stands for a space glyph it could not map (Chromium's U+202F in
            # `104 000 €`), pdfminer has that glyph and cuts the word there
            spaced = unit == 0x20
            continue
        if 0x02 < unit < 0xD800:
            text = chr(unit)
        elif unit == 0x02 or unit == 0xFFFE:  # pdfium's mark for a hyphen ending a line
            text = "-"
        elif 0xD800 <= unit < 0xE000:
            if unit < 0xDC00:
                pending_high = unit
                continue
            if pending_high:
                text = chr(0x10000 + ((pending_high - 0xD800) << 10) + (unit - 0xDC00))
                pending_high = 0
            else:
                text = chr(unit)
        else:
            text = chr(unit)
        if key != current:
            info = objects.get(key)
            if info is None:
                pdfium_c.FPDFText_GetMatrix(textpage, i, ctypes.byref(matrix))
                if abs(matrix.b) > 1e-9 or abs(matrix.c) > 1e-9 or matrix.a <= 0 or matrix.d <= 0:
                    raise UnsupportedError("texte tourné ou retourné")
                obj = ctypes.cast(key, pdfium_c.FPDF_PAGEOBJECT)
                pdfium_c.FPDFTextObj_GetFontSize(obj, ctypes.byref(size))
                font = _font(pdfium_c, pdfium_c.FPDFTextObj_GetFont(obj), fonts, descents, exact)
                em = matrix.d * size.value
                font_metrics = metrics.setdefault(font.key, {})
                info = (font, em, matrix.a * size.value / 1000, font.key, font.name, em * font.descent, font_metrics)
                objects[key] = info
            font, em, xscale, font_key, font_name, below, font_metrics = info
            current = key

        origin(page_text, i, x_at, y_at)
        x, y = origin_xy[0], origin_xy[1]
        here: tuple[float, float] | None = None  # this character's loose box, when fetched
        if key == last_key and x == last_x and y == last_y:
            here = loose(i)
            if last_box is None:
                last_box = loose(last_i)
            if here == last_box:
                # one glyph mapped to several characters (a ligature's `ff`): pdfminer keeps one character
                # as wide as the glyph
                prev = out[-1]
                if drift or font.widths:
                    raise UnsupportedError("ligature dans une police aux chasses corrigées")
                out[-1] = (prev[0] + text, prev[1], max(here), *prev[3:])
                continue
            # another character at the same origin: pdfium splits a ligature glyph (`ﬁ`) into its letters
            group += text
            lig = next((c for c in _LIGATURE_OF.get(group, ()) if c in font.widths), None)
            if lig is not None:  # pdfminer's one character, with the glyph's width
                del out[group_start:]
                drift, text = group_drift, lig
        else:
            if key != last_key:  # a new text object continues the run when pdfium put it where the last one ended
                run_x = last_x + (last_own if last_own is not None else 0.0) * run_xscale
                if abs(x - run_x) > 1e-3 or abs(y - last_y) > 1e-3:
                    drift = 0.0
                run_xscale = xscale
            group, group_drift, group_start = text, drift, len(out)
        last_key, last_x, last_y, last_i = key, x, y, i
        last_box = here
        both = font_metrics.get(text)
        if both is None:
            both = font_metrics[text] = (font.width(pdfium_c, text), font.pdfium_width(pdfium_c, text))
        advance, own = both
        if advance is not None:
            x0 = x + drift
            x1 = x0 + advance * xscale
            if own is not None:
                # pdfium placed the next characters with its own advance, pdfminer with the exact one
                drift += (advance - own) * xscale
            elif drift:
                raise UnsupportedError("chasse pdfium inconnue")
        else:
            left, right = here if here is not None else loose(i)
            x0, x1 = (left, right) if left <= right else (right, left)
        last_own = own
        bottom = height - (y + below)
        if spaced:
            if out and out[-1][5] == font_key and abs(out[-1][4] - bottom) < 0.01 and x0 - out[-1][2] > 0.05:
                append((" ", out[-1][2], _round4(x0), bottom - em, bottom, font_key, font_name))
            spaced = False
        # float32 noise off: characters pdfminer places at one x (a zero-width glyph) keep their order
        append((text, _round4(x0), _round4(x1), bottom - em, bottom, font_key, font_name))
    return out


_ROUNDER = 1.5 * 2**52  # a float this large has no fractional digit: adding it rounds to an integer


def _round4(v: float) -> float:
    """`round(v, 4)`, cheaper: the scaled value rounded to an integer is the decimal round's digits unless it
    lies near a tie (or the result is zero, whose sign `round` keeps, or far out of the page), left to `round`."""
    y = v * 10000.0
    n = (y + _ROUNDER) - _ROUNDER
    return n / 10000.0 if n and -0.4999 < y - n < 0.4999 and -1e9 < y < 1e9 else round(v, 4)


_X0 = operator.itemgetter(1)
_TOP = operator.itemgetter(3)
_FONT_KEY = operator.itemgetter(5)


def _cluster_lines(chars: list[Char]) -> list[list[Char]]:
    """pdfplumber's `cluster_objects` on `top` (chained tolerance, clusters in order of `top`), each
    line sorted by `x0`."""
    tops = sorted(set(map(_TOP, chars)))
    if len(tops) == 1:  # a run of one font on one line, the common case
        return [sorted(chars, key=_X0)]
    index: dict[float, int] = {}
    k, last = 0, tops[0]
    for t in tops:
        if t > last + Y_TOLERANCE:
            k += 1
        index[t] = k
        last = t
    if k == 0:
        return [sorted(chars, key=_X0)]
    lines: list[list[Char]] = [[] for _ in range(k + 1)]
    for c in chars:  # content order within a line, as a stable sort on the line keeps it
        lines[index[c[3]]].append(c)
    for line in lines:
        line.sort(key=_X0)
    return lines


@cache
def _is_bold(name: str) -> bool:
    font = name.lower()
    return "bold" in font or font.endswith("-b") or "-b" in font.split("+")[-1][-3:]


_LIGATURE_CHARS = frozenset("".join(LIGATURES))


def _to_word(chars: list[Char]) -> Word | None:
    """The word of non-blank characters (a character's text is never empty, so each has its extent)."""
    texts, x0s, x1s, tops, bottoms, _, names = zip(*chars, strict=True)
    text = "".join(texts)
    if not _LIGATURE_CHARS.isdisjoint(text):
        text = "".join([LIGATURES.get(t, t) for t in texts])
    text = text.strip()
    if not text:
        return None
    return _word(
        text,
        min(x0s),
        min(tops),
        max(x1s),
        max(bottoms),
        _is_bold(names[0]),
        tuple(zip(x0s, x1s, strict=True)) if len(texts) == len(text) else (),
    )


_new = object.__new__


def _word(
    text: str, x0: float, top: float, x1: float, bottom: float, bold: bool, chars: tuple[tuple[float, float], ...]
) -> Word:
    """`Word(...)` of values already of its fields' types, built as pydantic unpickles a model: validating
    them would only copy them, at more cost than the rest of the word."""
    word: Word = _new(Word)
    word.__setstate__(
        {
            "__dict__": {
                "text": text,
                "x0": x0,
                "top": top,
                "x1": x1,
                "bottom": bottom,
                "conf": None,
                "bold": bold,
                "chars": chars,
            },
            "__pydantic_extra__": None,
            "__pydantic_fields_set__": {"text", "x0", "top", "x1", "bottom", "bold", "chars"},
            "__pydantic_private__": None,
        }
    )
    return word


def chars_to_words(chars: list[Char]) -> list[Word]:
    """pdfplumber's `extract_words(x_tolerance=1.5, y_tolerance=2.5, extra_attrs=["fontname"])`, as
    `extract.pdf` keeps them."""
    words: list[Word] = []
    add = words.append
    for _, run in itertools.groupby(chars, key=_FONT_KEY):
        for line in _cluster_lines(list(run)):
            start, p = -1, line[0]  # the current word's first character (-1: none), its last one
            for j, c in enumerate(line):
                if c[0].isspace():
                    if start >= 0 and (w := _to_word(line[start:j])) is not None:
                        add(w)
                    start = -1
                    continue
                if start < 0:
                    start = j
                elif c[1] < p[1] or c[1] > p[2] + X_TOLERANCE or abs(c[3] - p[3]) > Y_TOLERANCE:
                    if (w := _to_word(line[start:j])) is not None:
                        add(w)
                    start = j
                p = c
            if start >= 0 and (w := _to_word(line[start:])) is not None:
                add(w)
    return words


# ---------------------------------------------------------------- paths


@dataclass
class _Shape:
    """A painted path as pdfminer classifies it, in top-left-origin points."""

    kind: str  # line, rect, curve
    pts: list[tuple[float, float]]
    fill: bool
    stroke: bool


def _subpaths(points: list[tuple[int, float, float, bool]]) -> list[tuple[str, list[tuple[float, float]]]]:
    """pdfminer's shape string and points of each subpath (`m` starts one, a closing line back to the
    start is its `h`, a Bézier counts once with its end point)."""
    out: list[tuple[str, list[tuple[float, float]]]] = []
    shape, pts = "", list[tuple[float, float]]()
    pending_bezier = 0
    for kind, x, y, close in points:
        if kind == 2:  # moveto
            if shape:
                out.append((shape, pts))
            shape, pts, pending_bezier = "m", [(x, y)], 0
            continue
        if not shape:
            continue
        if kind == 1:  # bezierto: three points, the last is the end
            pending_bezier += 1
            if pending_bezier < 3:
                continue
            pending_bezier = 0
            shape += "c"
            pts.append((x, y))
        else:
            shape += "l"
            pts.append((x, y))
        if close:
            if shape[-1] == "l" and pts[-1] == pts[0]:
                shape = shape[:-1] + "h"
            else:
                shape += "h"
                pts.append(pts[0])
    if shape:
        out.append((shape, pts))
    return out


def _classify(shape: str, pts: list[tuple[float, float]]) -> str:
    """pdfminer's `paint_path`: line, rect or curve."""
    if len(shape) > 3 and shape[-2:] == "lh" and pts[-2] == pts[0]:
        shape, pts = shape[:-2] + "h", pts[:-1]
    if shape in ("mlh", "ml"):
        return "line"
    if shape in ("mlllh", "mllll"):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3), _ = pts
        closed = pts[0] == pts[4]
        square = (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0)
        if closed and square:
            return "rect"
    return "curve"


def _path_shapes(pdfium_c: Any, obj: Any, ctm: tuple[float, ...], height: float) -> list[_Shape]:
    fillmode, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(obj, ctypes.byref(fillmode), ctypes.byref(stroke)):
        return []
    fill, stroked = fillmode.value != 0, bool(stroke.value)
    if not fill and not stroked:
        return []
    a, b, c, d, e, f = ctm
    x, y = ctypes.c_float(), ctypes.c_float()
    points = []
    for k in range(pdfium_c.FPDFPath_CountSegments(obj)):
        seg = pdfium_c.FPDFPath_GetPathSegment(obj, k)
        pdfium_c.FPDFPathSegment_GetPoint(seg, ctypes.byref(x), ctypes.byref(y))
        px, py = x.value, y.value
        tx, ty = a * px + c * py + e, b * px + d * py + f
        points.append(
            (pdfium_c.FPDFPathSegment_GetType(seg), tx, height - ty, bool(pdfium_c.FPDFPathSegment_GetClose(seg)))
        )
    shapes = []
    for shape, pts in _subpaths(points):
        raw = pts
        kind = _classify(shape, raw)
        if kind == "line":
            raw = raw[:2]
        elif kind == "rect":
            raw = [raw[0], raw[2]]
        elif len(shape) > 3 and shape[-2:] == "lh" and pts[-2] == pts[0]:
            raw = pts[:-1]
        shapes.append(_Shape(kind, raw, fill, stroked))
    return shapes


def _mult(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    """m then n (PDF row-vector convention)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _rulings_and_fills(shapes: list[_Shape]) -> tuple[list[Ruling], list[BBox]]:
    """`extract.pdf._rulings` and `_fills` on pdfplumber's edges: lines, then rectangles' sides, then curves."""
    lines, rects, curves = [], [], []
    for s in shapes:
        if s.kind == "line":
            (xa, ya), (xb, yb) = s.pts
            lines.append((min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)))
        elif s.kind == "rect":
            (xa, ya), (xb, yb) = s.pts
            rects.append((min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb), s.fill, s.stroke))
        else:
            curves.append(s.pts)
    backgrounds = [(x0, t, x1, b) for x0, t, x1, b, fill, stroke in rects if _background(x0, t, x1, b, fill, stroke)]
    # a hairline bar painted over a background (a cell border drawn on a header band) is a line
    bars = [
        (x0, t, x1, b)
        for x0, t, x1, b, fill, stroke in rects
        if fill and not stroke and not _background(x0, t, x1, b, fill, stroke)
    ]
    out: list[Ruling] = []
    for x0, top, x1, bottom in lines:
        if top == bottom:
            if x1 - x0 >= MIN_RULING:
                out.append(Ruling(orientation="h", x0=x0, x1=x1, top=top, bottom=top))
        elif bottom - top >= MIN_RULING:
            out.append(Ruling(orientation="v", x0=x0, x1=x0, top=top, bottom=bottom))
    for x0, top, x1, bottom, fill, stroke in rects:
        for orientation, ex0, etop, ex1, ebottom in (
            ("h", x0, top, x1, top),
            ("h", x0, bottom, x1, bottom),
            ("v", x0, top, x0, bottom),
            ("v", x1, top, x1, bottom),
        ):
            source = "line"
            edge = (ex0, etop, ex1, ebottom)
            if fill and not stroke and within_any(edge, backgrounds) and not within_any(edge, bars):
                source = "fill"
            if orientation == "h" and ex1 - ex0 >= MIN_RULING:
                out.append(Ruling(orientation="h", x0=ex0, x1=ex1, top=etop, bottom=etop, source=source))
            elif orientation == "v" and ebottom - etop >= MIN_RULING:
                out.append(Ruling(orientation="v", x0=ex0, x1=ex0, top=etop, bottom=ebottom, source=source))
    for pts in curves:
        for (xa, ya), (xb, yb) in itertools.pairwise(pts):
            x0, x1, top, bottom = min(xa, xb), max(xa, xb), min(ya, yb), max(ya, yb)
            if xa == xb:
                if bottom - top >= MIN_RULING:
                    out.append(Ruling(orientation="v", x0=x0, x1=x0, top=top, bottom=bottom))
            elif ya == yb and x1 - x0 >= MIN_RULING:
                out.append(Ruling(orientation="h", x0=x0, x1=x1, top=top, bottom=top))
    fills = [BBox(x0=x0, top=t, x1=x1, bottom=b) for x0, t, x1, b in backgrounds]
    return out, fills


def _background(x0: float, top: float, x1: float, bottom: float, fill: bool, stroke: bool) -> bool:
    return fill and not stroke and x1 - x0 >= HAIRLINE and bottom - top >= HAIRLINE


# ---------------------------------------------------------------- pages


@dataclass
class _Drawing:
    """Counters for `extract.ocr.PageImageInfo`, as `extract.ocr.page_image_info` gathers them."""

    cover: float = 0.0
    dpi: float | None = None
    best: float = 0.0
    paths: int = 0
    texts: int = 0
    invisible: int = 0


def _walk(
    pdfium_c: Any,
    parent: Any,
    form: bool,
    ctm: tuple[float, ...],
    level: int,
    height: float,
    size: tuple[float, float],
    shapes: list[_Shape],
    drawing: _Drawing,
) -> None:
    """Every page object (forms entered): painted paths as shapes, and the OCR decision's counters
    (counted to the depth `page_image_info` uses)."""
    count = pdfium_c.FPDFFormObj_CountObjects if form else pdfium_c.FPDFPage_CountObjects
    get = pdfium_c.FPDFFormObj_GetObject if form else pdfium_c.FPDFPage_GetObject
    matrix = pdfium_c.FS_MATRIX()
    for i in range(count(parent)):
        obj = get(parent, i)
        if not obj:
            raise UnsupportedError("objet de page illisible")
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        counted = level < 3
        if kind in (pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_FORM):
            pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(matrix))
            m = _mult((matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f), ctm)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            drawing.paths += counted
            shapes.extend(_path_shapes(pdfium_c, obj, m, height))
        elif kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
            drawing.texts += counted
            mode = pdfium_c.FPDFTextObj_GetTextRenderMode(obj)
            drawing.invisible += counted and mode == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
        elif kind == pdfium_c.FPDF_PAGEOBJ_IMAGE and counted:
            _image(pdfium_c, obj, size, drawing)
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:
            _walk(pdfium_c, obj, True, m, level + 1, height, size, shapes, drawing)


def _image(pdfium_c: Any, obj: Any, size: tuple[float, float], drawing: _Drawing) -> None:
    """`page_image_info`'s cover and resolution of one image object."""
    pw, ph = size
    left, bottom, right, top = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    if not pdfium_c.FPDFPageObj_GetBounds(obj, *map(ctypes.byref, (left, bottom, right, top))):
        raise UnsupportedError("image sans emprise")
    x0, y0, x1, y1 = left.value, bottom.value, right.value, top.value
    a = max(0.0, min(x1, pw) - max(x0, 0.0)) * max(0.0, min(y1, ph) - max(y0, 0.0))
    drawing.cover += a / max(pw * ph, 1.0)
    if a > drawing.best:
        drawing.best = a
        w, h = ctypes.c_uint(), ctypes.c_uint()
        if not pdfium_c.FPDFImageObj_GetImagePixelSize(obj, ctypes.byref(w), ctypes.byref(h)):
            raise UnsupportedError("taille d'image illisible")
        drawing.dpi = 72 * max(w.value / max(x1 - x0, 1e-6), h.value / max(y1 - y0, 1e-6))


def _page(
    pdfium_c: Any, page: Any, number: int, fonts: dict[int, _Font], descents: dict[str, float], exact: Widths
) -> tuple[Page, PageImageInfo]:
    from extract.ocr import PageImageInfo

    raw = page.raw
    if pdfium_c.FPDFPage_GetRotation(raw) != 0:
        raise UnsupportedError("page tournée")
    left, bottom, right, top = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    if pdfium_c.FPDFPage_GetMediaBox(raw, *map(ctypes.byref, (left, bottom, right, top))) and (
        left.value or bottom.value
    ):
        raise UnsupportedError("MediaBox décalée")
    width, height = pdfium_c.FPDF_GetPageWidthF(raw), pdfium_c.FPDF_GetPageHeightF(raw)
    shapes: list[_Shape] = []
    drawing = _Drawing()
    _walk(pdfium_c, raw, False, (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), 0, height, (width, height), shapes, drawing)
    textpage = pdfium_c.FPDFText_LoadPage(raw)
    if not textpage:
        raise UnsupportedError("texte de page illisible")
    try:
        chars = _chars(pdfium_c, textpage, height, fonts, descents, exact)
    finally:
        pdfium_c.FPDFText_ClosePage(textpage)
    rulings, fills = _rulings_and_fills(shapes)
    info = PageImageInfo(min(drawing.cover, 1.0), drawing.dpi, drawing.paths, drawing.texts, drawing.invisible)
    return Page(
        number=number, width=width, height=height, words=chars_to_words(chars), rulings=rulings, fills=fills
    ), info


_WIDTHS = re.compile(rb"/Widths\s*(?:\[([^\]]*)\]|(\d+)\s+\d+\s+R)")
_CID_WIDTHS = re.compile(rb"/W\s*(?:\[((?:[^\[\]]|\[[^\]]*\])*)\]|(\d+)\s+\d+\s+R)")
_OBJSTM = re.compile(rb"/Type\s*/ObjStm\b")
_STREAM = re.compile(rb"\d+\s+\d+\s+obj\s*<<(.*?)>>\s*stream\r?\n", re.S)


def _unpacked(data: bytes) -> list[bytes] | None:
    """The file's bytes and the content of its object streams (None when one cannot be inflated)."""
    texts = [data]
    if _OBJSTM.search(data):  # objects packed in compressed object streams: unpack them to look
        import zlib

        for m in _STREAM.finditer(data):
            if not _OBJSTM.search(m.group(1)):
                continue
            end = data.find(b"endstream", m.end())
            try:
                texts.append(zlib.decompressobj().decompress(data[m.end() : end]))
            except zlib.error:
                return None
    return texts


Widths = dict[str, dict[str, float]]  # font name without subset prefix -> character -> width
_FONT_WIDTHS = re.compile(rb"/Widths\b")
_BASE_FONT = re.compile(rb"/BaseFont\s*/([^\s/<>\[\]()]+)")
_FIRST_CHAR = re.compile(rb"/FirstChar\s+(\d+)")
_TO_UNICODE = re.compile(rb"/ToUnicode\s+(\d+)\s+\d+\s+R")
_HEX = re.compile(rb"<([0-9A-Fa-f]*)>")


def _stream(data: bytes, number: bytes) -> bytes | None:
    """The inflated content of stream object `number`, None when it cannot be read."""
    import zlib

    m = re.search(rb"(?<!\d)" + number + rb"\s+0\s+obj\s*<<(.*?)>>\s*stream\r?\n", data, re.S)
    if not m:
        return None
    end = data.find(b"endstream", m.end())
    raw = data[m.end() : end]
    if b"/FlateDecode" not in m.group(1):
        return raw if b"/Filter" not in m.group(1) else None
    try:
        return zlib.decompressobj().decompress(raw)
    except zlib.error:
        return None


def _cmap(text: bytes) -> dict[int, str]:
    """Code -> text of a ToUnicode CMap (bfchar and bfrange)."""

    def uni(h: bytes) -> str:
        return bytes.fromhex(h.decode()).decode("utf-16-be", "replace")

    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        hexes = _HEX.findall(block)
        for src, dst in zip(hexes[::2], hexes[1::2], strict=False):
            out[int(src, 16)] = uni(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for m in re.finditer(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])", block):
            lo, hi, dst = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
            if dst.startswith(b"["):
                for k, h in enumerate(_HEX.findall(dst)):
                    out[lo + k] = uni(h)
            else:
                base = bytes.fromhex(dst[1:-1].decode())
                for k in range(hi - lo + 1):
                    last = int.from_bytes(base[-2:], "big") + k
                    out[lo + k] = (base[:-2] + last.to_bytes(2, "big")).decode("utf-16-be", "replace")
    return out


def _exact_widths(data: bytes) -> Widths | None:
    """The simple fonts' widths by character, as written (fractional ones included), from each font
    dictionary's /Widths and /ToUnicode; None when a font with fractional widths cannot be read so."""
    out: Widths = {}
    for m in _FONT_WIDTHS.finditer(data):
        start = data.rfind(b" obj", 0, m.start())
        end = data.find(b"endobj", m.start())
        obj = data[start:end]
        name_m, first_m = _BASE_FONT.search(obj), _FIRST_CHAR.search(obj)
        arr = re.search(rb"/Widths\s*(?:\[([^\]]*)\]|(\d+)\s+\d+\s+R)", obj)
        if not name_m or not arr:
            continue
        array = arr.group(1)
        if array is None:
            ref = re.search(rb"(?<!\d)" + arr.group(2) + rb"\s+0\s+obj\s*\[([^\]]*)\]", data)
            array = ref.group(1) if ref else b"."
        if b"." not in array:
            continue
        uni_m = _TO_UNICODE.search(obj)
        cmap_text = _stream(data, uni_m.group(1)) if uni_m else None
        if cmap_text is None or not first_m:
            return None
        cmap = _cmap(cmap_text)
        name = re.sub(rb"^[A-Z]{6}\+", b"", name_m.group(1)).decode("latin-1")
        table = out.setdefault(name, {})
        for k, w in enumerate(array.split()):
            text = cmap.get(int(first_m.group(1)) + k)
            if not text or text == "\x00":
                continue
            width = float(w)
            if table.setdefault(text, width) != width:
                return None
    return out


_FONT_NAME = re.compile(rb"/FontName\s*/([^\s/<>\[\]()]+)")
_DESCENT = re.compile(rb"/Descent\s+(-?\d*\.?\d+)")


def _descents(texts: list[bytes]) -> dict[str, float]:
    """Each font descriptor's /Descent by font name without its subset prefix, as pdfminer reads it
    (NaN when two descriptors of that name disagree)."""
    out: dict[str, float] = {}
    for text in texts:
        for m in _FONT_NAME.finditer(text):
            start = max(text.rfind(b"obj", 0, m.start()), text.rfind(b"endobj", 0, m.start()), 0)
            end = text.find(b"endobj", m.end())
            found = _DESCENT.search(text, start, end if end > 0 else len(text))
            name = re.sub(rb"^[A-Z]{6}\+", b"", m.group(1)).decode("latin-1")
            name = re.sub(r"#([0-9A-Fa-f]{2})", lambda h: chr(int(h.group(1), 16)), name)
            descent = -abs(float(found.group(1))) / 1000 if found else 0.0
            if out.setdefault(name, descent) != descent:
                out[name] = math.nan
    return out


def _fractional_widths(
    data: bytes, texts: list[bytes] | None = None, patterns: tuple[re.Pattern[bytes], ...] = (_WIDTHS, _CID_WIDTHS)
) -> bool:
    """Whether a font of the file gives non-integer glyph widths: pdfium places characters with the
    widths rounded down, pdfminer with the exact ones (Skia and some other producers write them).
    `patterns`: the width arrays looked at (simple fonts' /Widths, CID fonts' /W)."""
    texts = texts if texts is not None else _unpacked(data)
    if texts is None:
        return True  # cannot tell: be safe
    for text in texts:
        for pattern in patterns:
            for m in pattern.finditer(text):
                array = m.group(1)
                if array is None:
                    ref = re.search(rb"(?<!\d)" + m.group(2) + rb"\s+0\s+obj\s*\[([^\]]*)\]", data)
                    array = ref.group(1) if ref else b"."
                if b"." in array:
                    return True
    return False


def _font_data(data: bytes) -> tuple[dict[str, float], Widths] | None:
    """The fonts' descents and exact widths this reader needs, or None when the file holds what it does not
    reproduce exactly (packed objects it cannot read, fractional widths without a ToUnicode map)."""
    texts = _unpacked(data)
    if texts is None:
        return None
    descents = _descents(texts)
    type0 = _type0_names(texts)
    exact = _exact_widths(data) if len(texts) == 1 else None
    if exact is None:
        if _fractional_widths(data, texts, (_WIDTHS,)):
            return None
        exact = {}
    if _fractional_widths(data, texts, (_CID_WIDTHS,)):  # Skia's (Chromium's) CID fonts
        cid = _cid_widths(data)
        if cid is None or any(exact.get(name, table) != table for name, table in cid.items()):
            return None
        exact = {**exact, **cid}
    # pdfium names a Type0 font (Chromium's) with its subset prefix, `AAAAAA+DejaVuSans`, and its descriptor sits
    # under DescendantFonts: its descent and widths are known by the name without prefix
    for name in type0:
        plain = _SUBSET.sub("", name)
        if plain in descents:
            descents[name] = descents[plain]
        if plain in exact:
            exact[name] = exact[plain]
    return descents, exact


_TYPE0 = re.compile(rb"/Subtype\s*/Type0\b")


def _type0_names(texts: list[bytes]) -> set[str]:
    """The /BaseFont of every Type0 font dictionary, as written."""
    out = set()
    for text in texts:
        for m in _TYPE0.finditer(text):
            start = max(text.rfind(b"obj", 0, m.start()), text.rfind(b"endobj", 0, m.start()), 0)
            end = text.find(b"endobj", m.end())
            found = _BASE_FONT.search(text, start, end if end > 0 else len(text))
            if found:
                name = found.group(1).decode("latin-1")
                out.add(re.sub(r"#([0-9A-Fa-f]{2})", lambda h: chr(int(h.group(1), 16)), name))
    return out


def _cid_widths(data: bytes) -> Widths | None:
    """The CID fonts' widths by character, as written (their /W and /DW read as pdfminer reads them, through
    the /ToUnicode map), by font name without subset prefix; None when a font is not one this reader
    reproduces (an encoding other than Identity-H, no ToUnicode map, two subsets that disagree)."""
    import io

    import pikepdf

    out: Widths = {}
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            for obj in pdf.objects:
                if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Subtype") != pikepdf.Name.Type0:
                    continue
                descendants = obj.get("/DescendantFonts")
                if obj.get("/Encoding") != pikepdf.Name("/Identity-H") or "/ToUnicode" not in obj or not descendants:
                    return None
                cmap = _cmap(obj.ToUnicode.read_bytes())
                cid_font = descendants[0]
                default = float(cid_font.get("/DW", 1000))
                widths: dict[int, float] = {}
                spec = [x for x in cid_font.get("/W", [])]
                k = 0
                while k < len(spec):
                    first = int(spec[k])
                    if isinstance(spec[k + 1], pikepdf.Array):
                        for n, w in enumerate(spec[k + 1]):
                            widths[first + n] = float(w)
                        k += 2
                    else:
                        for code in range(first, int(spec[k + 1]) + 1):
                            widths[code] = float(spec[k + 2])
                        k += 3
                name = _SUBSET.sub("", str(obj.get("/BaseFont", ""))[1:])
                table = out.setdefault(name, {})
                for code, text in cmap.items():
                    if not text or text == "\x00":
                        continue
                    if table.setdefault(text, widths.get(code, default)) != widths.get(code, default):
                        return None
    except (pikepdf.PdfError, ValueError, TypeError, IndexError, AttributeError):
        return None
    return out


class PdfiumPages:
    """pdfium's pages of one file, one at a time (an `extract.repair.PageSource`): a page this reader does not
    reproduce exactly, or a file it cannot take, is read by pdfplumber (`extract.pdf.PlumberPages`). `drawings`:
    the figures of each page pdfium read, for the OCR decision."""

    def __init__(self, path: Path) -> None:
        import pypdfium2 as pdfium

        self.drawings: dict[int, PageImageInfo] = {}
        self._path = path
        self._plumber: Any = None
        self._pdf: Any = None
        self._fonts: dict[int, _Font] = {}
        fonts = _font_data(path.read_bytes())
        if fonts is not None:
            self._descents, self._exact = fonts
            try:
                self._pdf = pdfium.PdfDocument(str(path))
            except pdfium.PdfiumError:
                self._pdf = None
            if self._pdf is not None and len(self._pdf) == 0:
                self._pdf.close()
                self._pdf = None
        if self._pdf is None:
            self._fallback()

    def _fallback(self) -> Any:
        from extract.pdf import PlumberPages

        if self._plumber is None:
            self._plumber = PlumberPages(self._path)
        return self._plumber

    def __len__(self) -> int:
        return len(self._pdf) if self._pdf is not None else len(self._fallback())

    def page(self, number: int) -> Page:
        """Page `number` (1-based), from pdfium when it reproduces it exactly."""
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        if self._pdf is not None:
            try:
                page = self._pdf[number - 1]
                try:
                    got, info = _page(pdfium_c, page, number, self._fonts, self._descents, self._exact)
                finally:
                    page.close()
            except (UnsupportedError, pdfium.PdfiumError):
                pass
            else:
                self.drawings[number] = info
                return got
        return cast("Page", self._fallback().page(number))

    def close(self) -> None:
        """Release the file."""
        if self._pdf is not None:
            self._pdf.close()
        if self._plumber is not None:
            self._plumber.close()


def read_pdfium(path: Path) -> PdfiumReading | None:
    """Every page with pdfium, or None when pdfium cannot open the file or meets what it does not
    reproduce exactly (the caller then reads the file with pdfplumber)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    font_data = _font_data(path.read_bytes())
    if font_data is None:
        return None
    descents, exact = font_data
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError:
        return None
    try:
        n = len(pdf)
        if n == 0:
            return None
        pages, drawings = [], []
        fonts: dict[int, _Font] = {}
        for i in range(n):
            page = pdf[i]
            try:
                p, info = _page(pdfium_c, page, i + 1, fonts, descents, exact)
            finally:
                page.close()
            pages.append(p)
            drawings.append(info)
        return PdfiumReading(pages, drawings)
    except (UnsupportedError, pdfium.PdfiumError):
        return None
    finally:
        pdf.close()
