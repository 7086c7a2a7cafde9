"""OCR for pages without a usable text layer: decide per page, then image -> words and rulings.

The scan path ends where the born-digital one starts: each OCR'd page gets `Word`s (with the
engine's confidence) and `Ruling`s seen in the deskewed image, in PDF points, so the same table
engine reads both. Engines sit behind a small registry (`ENGINES`) so tests can swap in a fake."""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from extract.errors import InputError
from models import OcrDecision, Page, Ruling, Word

if TYPE_CHECKING:
    from extract.image import Gray, Segment

log = logging.getLogger(__name__)

MAX_RENDER_PIXELS = 60_000_000  # page images stay below this (A4 at 600 dpi: 35 Mpx); a huge page is rendered coarser
MIN_TEXT_CHARS = 25  # fewer letters and digits than this on a page: no real text layer
MIN_IMAGE_COVER = 0.5  # share of the page an image must cover for the page to count as scanned
MIN_OUTLINE_PATHS = 300  # vector paths on a page without text: its text was drawn as outlines
MIN_INVISIBLE = 0.8  # share of invisible text objects that marks a scanner's or OCR tool's text layer
MIN_READABLE = 0.6  # share of text-layer tokens that must read as words for the layer to be kept
_NOISE = re.compile(r"^[|¦_~=`´\[\]{}]+$")  # what remnants of rules read as
_SPECK = re.compile(r"^[.,:;'`\"!]{1,2}$")  # what a speck reads as, when read with low confidence (dashes kept)
SPECK_CONF = 50.0
_CID = re.compile(r"\(cid:\d+\)")
_TOKEN_OK = re.compile(
    r"^[(\[«\"'“]*(?:[A-Za-zÀ-ÿŒœ]+(?:['’\-][A-Za-zÀ-ÿŒœ]+)*|[\d.,  \u202f]+|\d+[a-zA-Zeè°]{0,3}|[-–—€%&/+:;.,!?])"
    r"[)\]»\"'”.,;:!?%€]*$"
)


# ---------------------------------------------------------------- settings and engines


class OcrSettings(BaseModel):
    """How pages are OCR'd; validated at construction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: str = "tesseract"
    dpi: int | None = Field(default=None, ge=100, le=600)  # None: the scan's own resolution, within the bounds
    min_dpi: int = Field(default=150, ge=72, le=600)
    max_dpi: int = Field(default=300, ge=72, le=600)
    psm: int = Field(default=11, ge=0, le=13)
    jobs: int = Field(default=1, ge=1, le=64)  # pages OCR'd in parallel (processes, one Tesseract thread each)
    deskew: bool = True
    remove_rules: bool = True
    second_look: bool = True  # re-read, enlarged, the ink no word explains and the words read with low confidence
    recheck_below: float = Field(default=80.0, ge=0, le=100)  # confidence under which any word is re-read
    recheck_digits_below: float = Field(default=85.0, ge=0, le=100)  # same, for words holding digits
    accept_new: float = Field(default=60.0, ge=0, le=100)  # confidence a word found only on re-reading needs
    recheck_dpi: int = Field(default=340, ge=150, le=600)  # resolution crops are enlarged to
    recheck_psms: tuple[int, ...] = (7, 6)  # crops read as a line, then as a block: each fails where the other does
    recheck_sure: float = Field(default=85.0, ge=0, le=100)  # a re-reading this sure is not tried in the next mode


@dataclass(frozen=True)
class OcrWord:
    """One word as an engine reads it, in image pixels."""

    text: str
    left: float
    top: float
    right: float
    bottom: float
    conf: float


class OcrEngine(Protocol):
    """What the OCR path needs from an engine: words with pixel boxes and confidences (0-100)."""

    name: str

    def recognize(self, image: Gray, dpi: int, language: str, psm: int) -> list[OcrWord]: ...

    def recognize_many(self, images: list[Gray], dpi: int, language: str, psm: int) -> list[list[OcrWord]]: ...


class OcrEngineError(InputError):
    """The OCR engine is missing or failed on a page."""


@dataclass
class TesseractEngine:
    """Tesseract through its command line, TSV output, one thread (parallelism is across pages)."""

    binary: str = "tesseract"
    name: str = "tesseract"
    extra: tuple[str, ...] = field(default=())

    def version(self) -> str:
        """`tesseract 5.3.0`, or raises OcrEngineError when the binary is missing."""
        try:
            out = subprocess.run([self.binary, "--version"], capture_output=True, check=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as e:
            raise OcrEngineError(f"Tesseract introuvable ({e}) : installer tesseract-ocr et tesseract-ocr-fra") from e
        return (out.stdout or out.stderr).splitlines()[0].strip()

    def recognize(self, image: Gray, dpi: int, language: str, psm: int) -> list[OcrWord]:
        """Words of a grayscale page image (sent as PGM on stdin)."""
        import cv2

        ok, buf = cv2.imencode(".pgm", image)
        if not ok:
            raise OcrEngineError("image de page impossible à encoder pour Tesseract")
        cmd = [self.binary, "stdin", "stdout", "-l", language, "--psm", str(psm), "--dpi", str(dpi), *self.extra, "tsv"]
        return parse_tsv(self._run(cmd, buf.tobytes())).get(1, [])

    def recognize_many(self, images: list[Gray], dpi: int, language: str, psm: int) -> list[list[OcrWord]]:
        """Words of several small images in one Tesseract process (a list file: the model loads once)."""
        import tempfile

        import cv2

        if not images:
            return []
        with tempfile.TemporaryDirectory(prefix="lda-ocr-") as tmp:
            names = []
            for k, img in enumerate(images):
                name = Path(tmp) / f"{k:04d}.pgm"
                cv2.imwrite(str(name), img)
                names.append(str(name))
            listing = Path(tmp) / "images.txt"
            listing.write_text("\n".join(names) + "\n", encoding="utf-8")
            cmd = [
                self.binary,
                str(listing),
                "stdout",
                "-l",
                language,
                "--psm",
                str(psm),
                "--dpi",
                str(dpi),
                *self.extra,
            ]
            by_page = parse_tsv(self._run([*cmd, "tsv"], None))
        return [by_page.get(k + 1, []) for k in range(len(images))]

    def _run(self, cmd: list[str], stdin: bytes | None) -> str:
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        try:
            done = subprocess.run(cmd, input=stdin, capture_output=True, env=env, check=False, timeout=600)
        except (OSError, subprocess.SubprocessError) as e:
            raise OcrEngineError(f"Tesseract n'a pas pu être lancé : {e}") from e
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OcrEngineError(f"Tesseract a échoué ({done.returncode}) : {' '.join(message[-2:])}")
        return done.stdout.decode("utf-8", "replace")


def parse_tsv(tsv: str) -> dict[int, list[OcrWord]]:
    """Word rows (level 5) of Tesseract's TSV output, by page number (1-based, one page per image)."""
    pages: dict[int, list[OcrWord]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        left, top, width, height = (float(row[k]) for k in ("left", "top", "width", "height"))
        word = OcrWord(text, left, top, left + width, top + height, max(0.0, float(row["conf"])))
        pages.setdefault(int(row.get("page_num") or 1), []).append(word)
    return pages


EngineFactory = Callable[[], OcrEngine]
ENGINES: dict[str, EngineFactory] = {"tesseract": TesseractEngine}


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make an engine available under `name` (tests register a fake one)."""
    ENGINES[name] = factory


def get_engine(name: str) -> OcrEngine:
    """An engine instance by name; raises OcrEngineError for an unknown name."""
    try:
        return ENGINES[name]()
    except KeyError:
        raise OcrEngineError(f"moteur OCR inconnu : {name} (connus : {', '.join(sorted(ENGINES))})") from None


# ---------------------------------------------------------------- per-page decision


@dataclass(frozen=True)
class PageImageInfo:
    """What the PDF says about a page's drawing: share of the page images cover, the largest image's
    dpi, and how many vector paths it holds (text converted to outlines is only paths)."""

    cover: float
    dpi: float | None
    paths: int = 0
    texts: int = 0  # text objects
    invisible: int = 0  # text objects drawn invisible (render mode 3): an OCR layer laid over a scan


def page_image_info(path: Path, skip: frozenset[int] = frozenset()) -> list[PageImageInfo | None]:
    """Image cover, image resolution and path count of every page (pypdfium2 page objects); None for the pages
    in `skip` (numbers, 1-based: pages not read) and for a page pdfium cannot walk."""
    import pypdfium2 as pdfium

    infos: list[PageImageInfo | None] = []
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        log.debug("pdfium cannot open %s: %s", path, e)
        return infos
    try:
        for k in range(len(pdf)):
            info = None
            if k + 1 not in skip:
                try:
                    info = _image_info(pdf, k)
                except Exception as e:  # a damaged page: no information, the page is decided on its text
                    log.debug("pdfium cannot walk page %d of %s: %s: %s", k + 1, path, type(e).__name__, e)
            infos.append(info)
    finally:
        pdf.close()
    return infos


def _image_info(pdf: Any, index: int) -> PageImageInfo:
    import pypdfium2.raw as pdfium_c

    page = pdf[index]
    try:
        pw, ph = page.get_size()
        area = max(pw * ph, 1.0)
        cover, dpi, best, paths, texts, invisible = 0.0, None, 0.0, 0, 0, 0
        for obj in page.get_objects(max_depth=3):
            if obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
                paths += 1
            elif obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT:
                texts += 1
                mode = pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw)
                invisible += mode == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
            if obj.type != pdfium_c.FPDF_PAGEOBJ_IMAGE:
                continue
            x0, y0, x1, y1 = obj.get_bounds()
            a = max(0.0, min(x1, pw) - max(x0, 0.0)) * max(0.0, min(y1, ph) - max(y0, 0.0))
            cover += a / area
            if a > best:
                best = a
                px_w, px_h = obj.get_px_size()
                dpi = 72 * max(px_w / max(x1 - x0, 1e-6), px_h / max(y1 - y0, 1e-6))
        return PageImageInfo(min(cover, 1.0), dpi, paths, texts, invisible)
    finally:
        page.close()


def readable_share(words: list[Word]) -> float:
    """Share of text-layer tokens that read as words, numbers or punctuation (not `(cid:12)` or symbol soup)."""
    tokens = [w.text for w in words]
    if not tokens:
        return 0.0
    good = sum(bool(_TOKEN_OK.match(t)) and not _CID.search(t) and "\ufffd" not in t for t in tokens)
    return good / len(tokens)


def decide(page: Page, info: PageImageInfo | None) -> OcrDecision:
    """Whether a page needs OCR, and why (in French, for the analyst)."""
    chars = sum(sum(c.isalnum() for c in _CID.sub("", w.text)) for w in page.words)
    info = info or PageImageInfo(cover=0.0, dpi=None)
    if chars < MIN_TEXT_CHARS:
        if info.cover >= MIN_IMAGE_COVER:
            return OcrDecision(needed=True, reason="page image sans couche texte")
        if info.cover > 0:
            return OcrDecision(needed=True, reason="couche texte quasi vide, page avec images")
        if info.paths >= MIN_OUTLINE_PATHS:
            return OcrDecision(needed=True, reason="texte dessiné en tracés, sans couche texte")
        return OcrDecision(needed=False, reason="page sans texte" if not page.words else "couche texte présente")
    if info.cover >= MIN_IMAGE_COVER and info.texts and info.invisible >= MIN_INVISIBLE * info.texts:
        return OcrDecision(needed=True, reason="page scannée sous une couche texte d'OCR invisible : relue")
    share = readable_share(page.words)
    if share < MIN_READABLE:
        return OcrDecision(needed=True, reason=f"couche texte illisible ({share:.0%} de mots lisibles)")
    return OcrDecision(needed=False, reason="couche texte présente")


# ---------------------------------------------------------------- one page


@dataclass(frozen=True)
class PageJob:
    """Everything a worker needs to OCR one page (picklable)."""

    path: str
    index: int
    width: float
    height: float
    dpi: int
    language: str
    settings: OcrSettings


def choose_dpi(info: PageImageInfo | None, settings: OcrSettings) -> int:
    """The rendering resolution: the scan's own (rendering finer adds no detail), kept within [min_dpi, max_dpi]."""
    if settings.dpi:
        return settings.dpi
    native = info.dpi if info and info.dpi else settings.max_dpi
    return round(min(max(native, settings.min_dpi), settings.max_dpi))


def _segments_to_rulings(segments: list[Segment], sx: float, sy: float) -> list[Ruling]:
    out = []
    for s in segments:
        if s.orientation == "h":
            y = s.top * sy
            out.append(Ruling(orientation="h", x0=s.x0 * sx, x1=s.x1 * sx, top=y, bottom=y))
        else:
            x = s.x0 * sx
            out.append(Ruling(orientation="v", x0=x, x1=x, top=s.top * sy, bottom=s.bottom * sy))
    return out


def is_noise(w: OcrWord) -> bool:
    """A remnant of a rule (`|`, `_`) or a speck read as punctuation with low confidence."""
    text = w.text.strip()
    return not text or bool(_NOISE.match(text)) or (w.conf < SPECK_CONF and bool(_SPECK.match(text)))


def _to_words(found: list[OcrWord], sx: float, sy: float) -> list[Word]:
    """Engine words in PDF points; specks and remnants of rules (`|`, `_`) dropped, and so are
    unsure words far smaller than the page's text (a dot of dust read as `2,`)."""
    from statistics import median

    height = median(w.bottom - w.top for w in found) if found else 0.0
    out = []
    for w in found:
        dust = w.conf < SPECK_CONF and w.bottom - w.top < 0.4 * height and any(c.isalnum() for c in w.text)
        if is_noise(w) or dust:  # a dash is flat by nature: kept
            continue
        out.append(
            Word(
                text=w.text.strip(), x0=w.left * sx, top=w.top * sy, x1=w.right * sx, bottom=w.bottom * sy, conf=w.conf
            )
        )
    return out


def _uncovered(boxes: list[tuple[int, int, int, int]], words: list[OcrWord], shape: tuple[int, ...]) -> list[int]:
    """Indexes of the boxes that word boxes (two pixels of slack) cover for less than 30 % of their area."""
    import cv2
    import numpy as np

    mask = np.zeros(shape[:2], np.uint8)
    for w in words:
        mask[max(0, int(w.top) - 2) : int(w.bottom) + 3, max(0, int(w.left) - 2) : int(w.right) + 3] = 1
    integral = cv2.integral(mask)  # (h + 1) x (w + 1) running sums
    out = []
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        covered = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
        if covered < 0.3 * max((x1 - x0) * (y1 - y0), 1):
            out.append(k)
    return out


_CONFUSABLE = str.maketrans({"l": "1", "I": "1", "|": "1", "O": "0", "o": "0", "S": "5", "B": "8"})


@dataclass
class Recheck:
    """A region of a page to re-read: its enlarged crops (grayscale and binarised), where they sit
    on the page image, and the words it may replace (none when it is ink no word explained)."""

    crops: list[Gray]
    x: float
    y: float
    scale: float
    margin: int
    dpi: int
    replaces: tuple[int, ...] = ()


@dataclass
class PageOcr:
    """What the page pass made of one page, before the second look; boxes in image pixels."""

    found: list[OcrWord]
    rechecks: list[Recheck]
    segments: list[Segment]
    angle: float
    sx: float
    sy: float
    engine: str


Box = tuple[float, float, float, float]


def _clusters(words: list[OcrWord], indexes: list[int], gap: float) -> list[list[int]]:
    """Indexes of words grouped when their boxes overlap vertically and lie within `gap` side by side."""
    groups: list[list[int]] = []
    boxes: list[list[float]] = []
    for k in sorted(indexes, key=lambda i: words[i].left):
        w = words[k]
        for g, b in zip(groups, boxes, strict=True):
            if w.top < b[3] and w.bottom > b[1] and w.left - b[2] < gap:
                g.append(k)
                b[:] = [min(b[0], w.left), min(b[1], w.top), max(b[2], w.right), max(b[3], w.bottom)]
                break
        else:
            groups.append([k])
            boxes.append([w.left, w.top, w.right, w.bottom])
    return groups


def _inside(box: Box, words: list[OcrWord], share: float = 0.8) -> list[int]:
    """Indexes of the words lying for more than `share` of their area inside `box`."""
    x0, y0, x1, y1 = box
    out = []
    for k, w in enumerate(words):
        dx = min(x1, w.right) - max(x0, w.left)
        dy = min(y1, w.bottom) - max(y0, w.top)
        if dx > 0 and dy > 0 and dx * dy > share * max((w.right - w.left) * (w.bottom - w.top), 1.0):
            out.append(k)
    return out


def _merge_overlapping(regions: list[tuple[Box, tuple[int, ...]]]) -> list[tuple[Box, tuple[int, ...]]]:
    """Regions whose boxes overlap joined into one (their words replaced together)."""
    merged: list[tuple[Box, tuple[int, ...]]] = []
    for box, ks in regions:
        while True:
            hit = next(
                (m for m in merged if m[0][0] < box[2] and m[0][2] > box[0] and m[0][1] < box[3] and m[0][3] > box[1]),
                None,
            )
            if hit is None:
                break
            merged.remove(hit)
            b = hit[0]
            box = (min(b[0], box[0]), min(b[1], box[1]), max(b[2], box[2]), max(b[3], box[3]))
            ks = tuple(sorted(set(ks) | set(hit[1])))
        merged.append((box, ks))
    return merged


def rechecks_for(clean: Gray, dpi: int, found: list[OcrWord], settings: OcrSettings) -> list[Recheck]:
    """What deserves a second look: ink no word covers (a lone `5` in a number column) and words read
    with low confidence (a lower bar for words holding digits, where one misread changes an amount),
    neighbouring weak words together (garbage over a two-line header cell is re-read as one block)."""
    from statistics import median

    from extract import image

    height = median(w.bottom - w.top for w in found) if found else dpi * 0.12
    weak = [
        k
        for k, w in enumerate(found)
        if (
            w.conf < settings.recheck_below
            or (w.conf < settings.recheck_digits_below and any(c.isdigit() for c in w.text))
        )
        and not is_noise(w)
        and w.bottom - w.top < 6 * height
    ]
    blobs = image.ink_blobs(clean, height)
    missed = [blobs[k] for k in _uncovered(blobs, [w for w in found if not is_noise(w)], clean.shape)]
    regions: list[tuple[Box, tuple[int, ...]]] = []
    for group in _clusters(found, weak, 1.5 * height):
        x0, y0 = min(found[k].left for k in group), min(found[k].top for k in group)
        x1, y1 = max(found[k].right for k in group), max(found[k].bottom for k in group)
        for b in blobs:  # grown to the whole words the weak boxes cut into
            if b[0] < x1 and b[2] > x0 and b[1] < y1 and b[3] > y0:
                x0, y0, x1, y1 = min(x0, b[0]), min(y0, b[1]), max(x1, b[2]), max(y1, b[3])
        regions.append(((x0, y0, x1, y1), tuple(sorted(group))))
    regions = [(box, tuple(sorted(set(ks) | set(_inside(box, found))))) for box, ks in _merge_overlapping(regions)]
    regions += [((float(b[0]), float(b[1]), float(b[2]), float(b[3])), ()) for b in missed]
    scale = max(1.0, settings.recheck_dpi / dpi)
    margin = 40
    out = []
    for box, ks in regions:
        crops = [image.crop_for_ocr(clean, box, scale, margin, binary) for binary in (False, True)]
        x, y = max(0, int(box[0]) - 2), max(0, int(box[1]) - 2)
        out.append(Recheck(crops, x, y, scale, margin, round(dpi * scale), ks))
    return out


def _placed(r: Recheck, w: OcrWord) -> OcrWord:
    """A word read on a crop, back in page-image pixels."""
    return OcrWord(
        w.text,
        r.x + (w.left - r.margin) / r.scale,
        r.y + (w.top - r.margin) / r.scale,
        r.x + (w.right - r.margin) / r.scale,
        r.y + (w.bottom - r.margin) / r.scale,
        w.conf,
    )


def apply_rechecks(
    found: list[OcrWord], rechecks: list[Recheck], reread: list[list[OcrWord]], accept_new: float
) -> list[OcrWord]:
    """The page's words after the second look: a re-read replaces words only when it is surer, keeps
    every digit and is not just a swap of look-alike characters (`1er`/`ler`); new words need
    `accept_new` confidence and must not lie over a word already read."""
    replaced: dict[int, list[OcrWord]] = {}
    added: list[OcrWord] = []
    for r, new in zip(rechecks, reread, strict=True):
        good = [w for w in new if not is_noise(w)]
        if not r.replaces:
            added += [_placed(r, w) for w in good if w.conf >= accept_new]
            continue
        old = [found[k] for k in r.replaces]
        if not good or min(w.conf for w in good) <= min(w.conf for w in old):
            continue
        text, old_text = " ".join(w.text for w in good), " ".join(w.text for w in old)
        if _digits(text) < _digits(old_text):
            continue  # a re-read never drops digits (`42000` read again as `000 €` is not surer, only shorter)
        if text == old_text:
            conf = min(w.conf for w in good)
            new_words = [OcrWord(w.text, w.left, w.top, w.right, w.bottom, max(w.conf, conf)) for w in old]
        elif text.translate(_CONFUSABLE) != old_text.translate(_CONFUSABLE):
            new_words = [_placed(r, w) for w in good]
        else:
            continue
        replaced[r.replaces[0]] = new_words
        for k in r.replaces[1:]:
            replaced[k] = []
    kept = [w for k, w in enumerate(found) if k not in replaced]
    out: list[OcrWord] = []
    for k, w in enumerate(found):
        out.extend([w] if k not in replaced else [n for n in replaced[k] if not _repeats(n, kept)])
    return out + [w for w in added if not _overlaps(w, out)]


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _repeats(word: OcrWord, others: list[OcrWord]) -> bool:
    """Whether `word` repeats, over the same place, a word already there (`pai` over `parc`)."""

    def bare(t: str) -> str:
        return t.strip(".,;:()'\"«»").casefold()

    text = bare(word.text)
    for o in others:
        if not _overlaps(word, [o], 0.5):
            continue
        other = bare(o.text)
        n = min(2, len(text), len(other))
        if text in other or other in text or (n and text[:n] == other[:n]):
            return True
    return False


def _overlaps(word: OcrWord, others: list[OcrWord], share: float = 0.3) -> bool:
    """Whether `word` lies for more than `share` of its area over one of `others`."""
    area = max((word.right - word.left) * (word.bottom - word.top), 1.0)
    for o in others:
        dx = min(word.right, o.right) - max(word.left, o.left)
        dy = min(word.bottom, o.bottom) - max(word.top, o.top)
        if dx > 0 and dy > 0 and dx * dy > share * area:
            return True
    return False


def read_image(
    gray: Gray, dpi: int, width: float, height: float, language: str, settings: OcrSettings, engine: OcrEngine
) -> PageOcr:
    """The page pass: deskew, find the rules, paint them out, flatten shading, OCR; the second look is
    only prepared."""
    from extract import image

    angle = image.estimate_skew(gray) if settings.deskew else 0.0
    level = image.invert_dark_bands(image.rotate(gray, angle), dpi)
    segments, rules = image.find_rules(level, dpi)
    clean = image.remove_lines(level, rules) if settings.remove_rules else level
    clean = image.flatten_background(clean, dpi)
    found = engine.recognize(clean, dpi, language, settings.psm)
    rechecks = rechecks_for(clean, dpi, found, settings) if settings.second_look else []
    return PageOcr(found, rechecks, segments, angle, width / gray.shape[1], height / gray.shape[0], engine.name)


def _score(words: list[OcrWord], width: float) -> float:
    """How sure a reading of a crop is: its weakest word's confidence weighted by how much of the
    crop's width the words explain (`0000` read off `330000` explains two thirds)."""
    if not words:
        return -1.0
    explained = min(1.0, sum(w.right - w.left for w in words) / max(width, 1.0))
    return min(w.conf for w in words) * explained


def second_look(results: list[PageOcr], language: str, settings: OcrSettings, engine: OcrEngine) -> list[list[OcrWord]]:
    """Every page's words after its rechecks. All crops of the document are read in one engine call
    per resolution and mode (Tesseract loads its model once): first as a line, then, for the regions
    still unsure (`recheck_sure`), in the next modes; the surest reading of each region is kept."""
    keys = [(p, k) for p, res in enumerate(results) for k in range(len(res.rechecks))]
    best: dict[tuple[int, int], tuple[float, list[OcrWord]]] = {}
    for psm in settings.recheck_psms:
        todo = [key for key in keys if best.get(key, (-1.0, []))[0] < settings.recheck_sure]
        by_dpi: dict[int, list[tuple[int, int]]] = {}
        for p, k in todo:
            by_dpi.setdefault(results[p].rechecks[k].dpi, []).append((p, k))
        for dpi, group in by_dpi.items():
            crops = [c for p, k in group for c in results[p].rechecks[k].crops]
            words = iter(engine.recognize_many(crops, dpi, language, psm))
            for p, k in group:
                r = results[p].rechecks[k]
                width = r.crops[0].shape[1] - 2 * r.margin if r.crops else 1.0
                for _ in r.crops:
                    reading = next(words)
                    score = _score(reading, width)
                    if score > best.get((p, k), (-2.0, []))[0]:
                        best[(p, k)] = (score, reading)
    return [
        apply_rechecks(
            res.found,
            res.rechecks,
            [best.get((p, k), (0.0, []))[1] for k in range(len(res.rechecks))],
            settings.accept_new,
        )
        for p, res in enumerate(results)
    ]


def page_from_ocr(page: Page, res: PageOcr, words: list[OcrWord], decision: OcrDecision) -> Page:
    """The page with OCR words and image rulings in PDF points, and its decision completed."""
    converted = _to_words(words, res.sx, res.sy)
    confs = [w.conf for w in converted if w.conf is not None]
    decision = decision.model_copy(
        update={
            "engine": res.engine,
            "deskew_degrees": res.angle,
            "mean_confidence": round(mean(confs), 1) if confs else None,
        }
    )
    rulings = _segments_to_rulings(res.segments, res.sx, res.sy)
    return page.model_copy(update={"words": converted, "rulings": rulings, "ocr": decision})


def render_dpi(dpi: int, width: float, height: float) -> int:
    """`dpi`, lowered so that the page image stays within MAX_RENDER_PIXELS."""
    pixels = width * height * (dpi / 72) ** 2
    return dpi if pixels <= MAX_RENDER_PIXELS else max(1, int(dpi * (MAX_RENDER_PIXELS / pixels) ** 0.5))


def ocr_page(job: PageJob) -> PageOcr | None:
    """Render one page and run the page pass (in a worker process); None when the page cannot be rendered."""
    import cv2

    from extract.image import render_page

    cv2.setNumThreads(1)  # one thread per page: parallelism is across pages (processes), as for Tesseract
    try:
        gray = render_page(Path(job.path), job.index, job.dpi)
    except Exception as e:  # a damaged page: reported on that page, the other pages go on
        log.debug("page %d of %s cannot be rendered: %s: %s", job.index + 1, job.path, type(e).__name__, e)
        return None
    engine = get_engine(job.settings.engine)
    res = read_image(gray, job.dpi, job.width, job.height, job.language, job.settings, engine)
    res.engine = f"{engine.name} ({job.language}, psm {job.settings.psm}, {job.dpi} dpi)"
    return res


def _run_jobs(jobs: list[PageJob], workers: int) -> list[PageOcr | None]:
    """Jobs in order, on a process pool when more than one worker is allowed."""
    if workers <= 1 or len(jobs) <= 1:
        return [ocr_page(j) for j in jobs]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        return list(pool.map(ocr_page, jobs))


# ---------------------------------------------------------------- document


def ocr_pages_if_needed(
    path: Path,
    pages: list[Page],
    language: str,
    settings: OcrSettings | None = None,
    skip: frozenset[int] = frozenset(),
    drawings: Mapping[int, PageImageInfo] | None = None,
) -> list[Page]:
    """Pages with a usable text layer as they are; the others OCR'd, each with its decision recorded. Pages in `skip`
    (numbers: pages not read) are left alone; a page that cannot be rendered keeps its text and says so (`error`).
    `drawings`: each page's image figures when the reader gathered them (the file is then not walked again)."""
    settings = settings or OcrSettings()
    known = drawings or {}
    found = page_image_info(path, skip) if any(p.number not in skip | known.keys() for p in pages) else []
    infos = [known.get(p.number) or (found[p.number - 1] if p.number - 1 < len(found) else None) for p in pages]
    decisions = [p.ocr if p.number in skip else decide(p, info) for p, info in zip(pages, infos, strict=True)]
    todo = [i for i, d in enumerate(decisions) if d.needed and pages[i].number not in skip]
    out = [p.model_copy(update={"ocr": d}) for p, d in zip(pages, decisions, strict=True)]
    if not todo:
        return out
    jobs = []
    for i in todo:
        p = pages[i]
        dpi = render_dpi(choose_dpi(infos[i], settings), p.width, p.height)
        jobs.append(PageJob(str(path), p.number - 1, p.width, p.height, dpi, language, settings))
    results = _run_jobs(jobs, settings.jobs)
    done = [(i, res) for i, res in zip(todo, results, strict=True) if res is not None]
    words = second_look([res for _, res in done], language, settings, get_engine(settings.engine))
    for (i, res), ws in zip(done, words, strict=True):
        out[i] = page_from_ocr(pages[i], res, ws, decisions[i])
    for i, result in zip(todo, results, strict=True):
        if result is None:
            failed = decisions[i].model_copy(update={"error": "image de la page impossible à produire pour l'OCR"})
            out[i] = out[i].model_copy(update={"ocr": failed})
    return out
