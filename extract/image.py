"""Page images for the OCR path: render, estimate and correct skew, find ruling lines.

Every function takes and returns plain numpy arrays (grayscale uint8, ink dark on white);
OpenCV and pypdfium2 are imported inside the functions so importing this module stays cheap."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Gray = NDArray[Any]
else:
    Gray = Any

MAX_SKEW = 3.0  # degrees; scans are rarely worse, and a wider search finds text slopes that are not skew


@dataclass(frozen=True)
class Segment:
    """A ruling line found on the image, in pixels: horizontal (`h`) or vertical (`v`)."""

    orientation: str
    x0: float
    top: float
    x1: float
    bottom: float


def render_page(path: Path, index: int, dpi: int) -> Gray:
    """Page `index` (0-based) rendered in grayscale at `dpi`."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[index]
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        array: Gray = bitmap.to_numpy().copy()
        if array.ndim == 3:
            array = array[:, :, 0].copy()
        return array
    finally:
        pdf.close()


def binarize(gray: Gray) -> Gray:
    """Ink as 255 on a black background (Otsu), the form morphology works on."""
    import cv2

    _, inv = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    out: Gray = inv
    return out


def _profile_score(ink: Gray, angle: float) -> float:
    """How sharply the rows of ink separate once the image is rotated by `angle` degrees."""
    import cv2
    import numpy as np

    h, w = ink.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rotated = cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    rows = rotated.sum(axis=1, dtype=np.float64)
    return float(np.sum(np.diff(rows) ** 2))


def _reduced(ink: Gray, size: int) -> Gray:
    import cv2

    scale = size / max(ink.shape)
    if scale >= 1:
        return ink
    out: Gray = cv2.resize(ink, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return out


def estimate_skew(gray: Gray) -> float:
    """The rotation (degrees, counter-clockwise positive as in OpenCV) that levels text lines and rules.

    Projection-profile search: quarter-degree steps on a small image, then twentieths around the
    best on a larger one, refined by a parabola through the three best scores."""
    ink = binarize(gray)
    if not ink.any():
        return 0.0
    small, large = _reduced(ink, 500), _reduced(ink, 800)
    steps = int(MAX_SKEW * 4)
    coarse = max((k * 0.25 for k in range(-steps, steps + 1)), key=lambda a: _profile_score(small, a))
    angles = [coarse + k * 0.05 for k in range(-5, 6)]
    scores = [_profile_score(large, a) for a in angles]
    i = max(range(len(scores)), key=scores.__getitem__)
    best = angles[i]
    if 0 < i < len(scores) - 1:
        left, mid, right = scores[i - 1], scores[i], scores[i + 1]
        curve = left - 2 * mid + right
        if curve < 0:
            best += 0.05 * 0.5 * (left - right) / curve
    return round(best, 2)


def rotate(gray: Gray, angle: float) -> Gray:
    """The image rotated by `angle` degrees about its centre, same size, white outside."""
    import cv2

    if abs(angle) < 0.01:
        return gray
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    out: Gray = cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    return out


def find_rules(gray: Gray, dpi: int) -> tuple[list[Segment], Gray]:
    """The page's ruling lines as segments, and the mask of their pixels (to paint them out).

    Long thin runs of ink (morphological opening), closed along their direction to bridge the
    breaks a scan leaves in a thin rule; short runs with ink packed along one side (the serifs of a
    bold word, a tall letter's stem) are text, not rules."""
    import cv2

    ink = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)
    h_len = max(10, int(dpi * 0.35))  # a rule is longer than any run of ink inside a glyph
    v_len = max(10, int(dpi * 0.16))
    gap = max(3, dpi // 20)
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (h_len, 1)))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, v_len)))
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 1)))
    vertical = cv2.morphologyEx(vertical, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, gap)))
    h_dotted, v_dotted = _dotted(ink, dpi, h_len, v_len, gap)
    if h_dotted is not None:
        horizontal = cv2.bitwise_or(horizontal, h_dotted)
    if v_dotted is not None:
        vertical = cv2.bitwise_or(vertical, v_dotted)
    h_segments, h_mask = _rules_of(horizontal, ink, "h", dpi)
    v_segments, v_mask = _rules_of(vertical, ink, "v", dpi)
    mask: Gray = cv2.bitwise_or(h_mask, v_mask)
    return h_segments + v_segments, mask


def _dotted(ink: Gray, dpi: int, h_len: int, v_len: int, gap: int) -> tuple[Gray | None, Gray | None]:
    """Dotted or dashed rules, horizontal and vertical: specks of dot size in a straight row, none farther than
    `gap` from the next, over a rule's length (text has dots too, `i`s, accents, full stops, never so many so
    close in a row). Each as a mask of its bridged line and its dots (painted out before OCR); None if none."""
    import cv2
    import numpy as np

    n, labels, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    thin, short = max(3, dpi // 50), max(4, dpi // 10)
    x, y, w, h = (stats[:, k] for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
    masks: list[Gray | None] = []
    for horizontal in (True, False):
        across, along, size = (h, w, x) if horizontal else (w, h, y)
        middle = centroids[:, 1] if horizontal else centroids[:, 0]
        specks = [i for i in np.flatnonzero((across <= thin) & (along <= short)).tolist() if i]
        lines: dict[int, list[int]] = {}  # by the pixel row of their middle
        for i in specks:
            lines.setdefault(round(float(middle[i])), []).append(i)
        # a rule's dots lie on one pixel row or astride two: each row with the next (a row alone is one of them);
        # dust, scattered over the page, never lines up so
        rows = [lines[r] + lines.get(r + 1, []) for r in sorted(lines)]
        chains: list[list[int]] = []  # along the line, specks no farther than `gap` apart
        for row in rows:
            row.sort(key=size.item)
            chains.append([row[0]])
            for i in row[1:]:
                last = chains[-1][-1]
                if size[i] - (size[last] + along[last]) <= gap:
                    chains[-1].append(i)
                else:
                    chains.append([i])
        length = h_len if horizontal else v_len
        rules = [c for c in chains if len(c) >= 3 and size[c[-1]] + along[c[-1]] - size[c[0]] >= length]
        if not rules:
            masks.append(None)
            continue
        keep = np.zeros(n, np.uint8)
        out: Gray = np.zeros_like(ink)
        for c in rules:
            keep[c] = 255
            at = round(float(np.mean(middle[c])))
            a, b = int(size[c[0]]), int(size[c[-1]] + along[c[-1]] - 1)
            cv2.line(out, (a, at) if horizontal else (at, a), (b, at) if horizontal else (at, b), 255, 1)
        masks.append(cv2.bitwise_or(out, keep[labels]))
    return masks[0], masks[1]


SURE_RULE = 1.0  # inches: a run this long is a rule whatever lies beside it
SIDE_INK = 0.3  # share of ink along a short run's side above which the run is part of text


def _side_ink(ink: Gray, x: int, y: int, w: int, h: int, orientation: str, dpi: int) -> float:
    """The larger share of ink in the two thin bands along a run's sides."""
    import numpy as np

    band, pad = max(2, dpi // 60), max(1, dpi // 100)
    if orientation == "h":
        sides = [
            ink[max(0, y - pad - band) : max(0, y - pad), x : x + w],
            ink[y + h + pad : y + h + pad + band, x : x + w],
        ]
    else:
        sides = [
            ink[y : y + h, max(0, x - pad - band) : max(0, x - pad)],
            ink[y : y + h, x + w + pad : x + w + pad + band],
        ]
    return max((float(np.count_nonzero(side)) / side.size if side.size else 0.0) for side in sides)


def _rules_of(mask: Gray, ink: Gray, orientation: str, dpi: int) -> tuple[list[Segment], Gray]:
    """Segments of the runs of one direction that are rules, and the mask without the text runs;
    a thick or ragged run is reduced to its centre line."""
    import cv2
    import numpy as np

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    max_thickness = 3 * max(3, dpi // 20)
    segments: list[Segment] = []
    drop = []
    for i in range(1, n):
        x, y, w, h, _area = (int(v) for v in stats[i])
        length, thickness = (w, h) if orientation == "h" else (h, w)
        if length < SURE_RULE * dpi and _side_ink(ink, x, y, w, h, orientation, dpi) > SIDE_INK:
            drop.append(i)
            continue
        if thickness > max_thickness:
            continue
        if orientation == "h":
            segments.append(Segment("h", float(x), y + h / 2, float(x + w), y + h / 2))
        else:
            segments.append(Segment("v", x + w / 2, float(y), x + w / 2, float(y + h)))
    if drop:
        mask = mask.copy()
        mask[np.isin(labels, drop)] = 0
    return segments, mask


def remove_lines(gray: Gray, rules: Gray) -> Gray:
    """The image with its rules painted white, so OCR reads no `|` or `_` out of them."""
    import cv2

    mask = cv2.dilate(rules, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    out = gray.copy()
    out[mask > 0] = 255
    return out


def ink_blobs(gray: Gray, text_height: float) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of ink clusters about the size of words: letters merged by a small
    dilation; specks, rule remnants and pictures too large to be text left out."""
    import cv2
    import numpy as np

    ink = binarize(gray)
    gap = max(2, round(text_height * 0.25))
    merged = cv2.dilate(ink, np.ones((max(1, gap // 3), gap), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(merged, connectivity=8)
    w_img = ink.shape[1]
    boxes = []
    for i in range(1, n):
        x, y, w, h, _area = (int(v) for v in stats[i])
        if h < 0.45 * text_height or h > 4 * text_height or w > 0.4 * w_img or w < 0.2 * text_height:
            continue
        if int(np.count_nonzero(ink[y : y + h, x : x + w])) < 0.15 * text_height * text_height:
            continue
        boxes.append((x, y, x + w, y + h))
    return boxes


def crop_for_ocr(
    gray: Gray, box: tuple[float, float, float, float], scale: float, margin: int = 40, binary: bool = False
) -> Gray:
    """The box cut out (two pixels of slack), its background brought to white (a shaded header
    cell would otherwise leave a frame Tesseract reads as ink), enlarged by `scale`, optionally
    binarised (Otsu), on a wide white margin: Tesseract reads a lone glyph badly without room around it."""
    import cv2
    import numpy as np

    h_img, w_img = gray.shape
    x0, y0 = max(0, int(box[0]) - 2), max(0, int(box[1]) - 2)
    x1, y1 = min(w_img, int(box[2] + 0.999) + 2), min(h_img, int(box[3] + 0.999) + 2)
    crop = gray[y0:y1, x0:x1]
    if crop.size:
        background = max(float(np.percentile(crop, 90)), 1.0)
        crop = np.clip(crop.astype(np.float32) * (255.0 / background), 0, 255).astype(np.uint8)
    if scale != 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if binary and crop.size:
        _, crop = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    out: Gray = cv2.copyMakeBorder(crop, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=255)
    return out


def flatten_background(gray: Gray, dpi: int) -> Gray:
    """Shaded cells and uneven paper brought to white, ink kept dark: each pixel divided by the
    local background (a max filter wider than any stroke, computed on a quarter-size image), so one
    global threshold fits the page."""
    import cv2

    h, w = gray.shape
    small = cv2.resize(gray, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    k = max(3, dpi // 48) | 1
    background = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    background = cv2.blur(background, (k, k))
    background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    background[background == 0] = 1
    out: Gray = cv2.divide(gray, background, scale=255)
    return out


DARK_BACKGROUND = 110  # grey level under which a pixel is dark ground, not paper (light text on a coloured band)


def _letter_holes(band: Any, dpi: int) -> Any:
    """What a band encloses that is letter-sized (a bold letter and its counters, wider than the closing
    reaches), to be inverted with it; a larger white box inside the band is left as it is."""
    import cv2
    import numpy as np

    n, labels, stats, _ = cv2.connectedComponentsWithStats((~band).astype(np.uint8), connectivity=4)
    rows, cols = band.shape
    small = np.zeros(n, dtype=bool)
    for k, (x, y, w, h, _) in enumerate(stats[1:n], 1):
        inside = x > 0 and y > 0 and x + w < cols and y + h < rows
        small[k] = inside and h <= dpi / 5 and w <= dpi / 2
    return small[labels]


def invert_dark_bands(gray: Gray, dpi: int) -> Gray:
    """Light text on a dark band (a header band, a dark cell) turned into dark text on white: Tesseract reads
    dark on light only. A band is a dark region at least a sixth of an inch tall and half an inch wide that fills
    most of its box (text strokes are thinner, a ruled grid's lines fill little of theirs)."""
    import cv2
    import numpy as np

    dark = (gray < DARK_BACKGROUND).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    out: Gray = gray
    close = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, dpi // 20) | 1,) * 2)  # the letters' holes
    ring = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, dpi // 40) | 1,) * 2)  # the band's blurred edge
    for i, (x, y, w, h, area) in enumerate(stats[1:n], 1):
        if not (h >= dpi / 6 and w >= dpi / 2 and area >= 0.5 * w * h):
            continue
        if out is gray:
            out = gray.copy()
        m = max(1, dpi // 40)
        y0, y1, x0, x1 = max(0, y - m), min(gray.shape[0], y + h + m), max(0, x - m), min(gray.shape[1], x + w + m)
        band = cv2.morphologyEx((labels[y0:y1, x0:x1] == i).astype(np.uint8), cv2.MORPH_CLOSE, close).astype(bool)
        band |= _letter_holes(band, dpi)
        edge = cv2.dilate(band.astype(np.uint8), ring).astype(bool) & ~band
        region = out[y0:y1, x0:x1]
        inverted = 255.0 - region[band]
        scale = 255.0 / max(float(np.median(inverted)), 1.0)  # the band's ground to white
        region[band] = np.clip(inverted * scale, 0, 255).astype(np.uint8)
        region[edge] = 255
    return out
