"""`--debug-dir` for scanned pages: what the OCR path saw, drawn on the deskewed page image.

Rules found in the image are blue, words green, words read with low confidence red (with their
confidence), so an analyst can tell a misread from a missed rule at a glance."""

from __future__ import annotations

from pathlib import Path

from models import Page

SCALE = 1.5  # image pixels per PDF point
LOW = 80.0  # confidence under which a word is drawn red
_BLUE, _GREEN, _RED = (220, 90, 40), (40, 160, 40), (30, 30, 220)  # OpenCV colours are BGR


def debug_name(fichier: str) -> str:
    """The folder of a document's debug images: its path without extension, `/` as `__`."""
    return Path(fichier).with_suffix("").as_posix().replace("/", "__")


def write_ocr_debug(debug_dir: Path, source: Path, pages: list[Page], fichier: str) -> list[Path]:
    """One PNG per OCR'd page (`page-NNN-ocr.png`), in the same deskewed frame as the words and rules."""
    import cv2

    from extract.image import render_page, rotate

    written: list[Path] = []
    for page in pages:
        if not page.ocr.needed:
            continue
        gray = rotate(render_page(source, page.number - 1, round(72 * SCALE)), page.ocr.deskew_degrees)
        image = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        sx, sy = image.shape[1] / page.width, image.shape[0] / page.height
        for r in page.rulings:
            cv2.line(image, (round(r.x0 * sx), round(r.top * sy)), (round(r.x1 * sx), round(r.bottom * sy)), _BLUE, 2)
        for w in page.words:
            low = w.conf is not None and w.conf < LOW
            top_left, bottom_right = (round(w.x0 * sx), round(w.top * sy)), (round(w.x1 * sx), round(w.bottom * sy))
            cv2.rectangle(image, top_left, bottom_right, _RED if low else _GREEN, 1)
            if low:
                label = f"{w.conf:.0f}"
                cv2.putText(image, label, (top_left[0], top_left[1] - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.35, _RED, 1)
        target = debug_dir / debug_name(fichier)
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"page-{page.number:03d}-ocr.png"
        cv2.imwrite(str(path), image)
        written.append(path)
    return written
