"""`--debug-dir`: each annex page rendered with the detected rows, cells and total rows drawn on it."""

from __future__ import annotations

from pathlib import Path

from export.paths import slugify
from extract.repair import M2_IN_PT2, Limits
from models import BBox, Convention

SCALE = 1.5
ROW, CELL, TOTAL = (30, 140, 60), (40, 90, 220), (220, 30, 30)


def _box(b: BBox) -> list[float]:
    return [b.x0 * SCALE, b.top * SCALE, b.x1 * SCALE, b.bottom * SCALE]


def write_debug_images(debug_dir: Path, source: Path, convention: Convention) -> list[Path]:
    """One PNG per page (a page with nothing detected shows that too): rows green, cells blue, totals red."""
    import pypdfium2 as pdfium
    from PIL import ImageDraw

    boxes: dict[int, list[tuple[BBox, tuple[int, int, int]]]] = {}
    for annex in convention.annexes:
        for line in annex.lines:
            for prov in line.cells.values():
                if prov.bbox is not None:
                    boxes.setdefault(prov.page, []).append((prov.bbox, CELL))
            if line.provenance.bbox is not None:
                boxes.setdefault(line.provenance.page, []).append((line.provenance.bbox, ROW))
        for total in annex.totals:
            if total.provenance.bbox is not None:
                boxes.setdefault(total.provenance.page, []).append((total.provenance.bbox, TOTAL))
    target = debug_dir / "__".join(slugify(part) for part in Path(convention.fichier).with_suffix("").parts)
    written: list[Path] = []
    try:
        pdf = pdfium.PdfDocument(source)
    except pdfium.PdfiumError:  # a damaged file read from its repaired copy: nothing to draw on
        return []
    try:
        for number in range(1, len(pdf) + 1):
            drawn = boxes.get(number, [])
            try:
                page = pdf[number - 1]
            except pdfium.PdfiumError:
                continue
            width, height = page.get_size()
            if width * height / M2_IN_PT2 > Limits().max_area_m2:  # a page too large to be read is not drawn
                page.close()
                continue
            image = page.render(scale=SCALE).to_pil().convert("RGB")
            page.close()
            draw = ImageDraw.Draw(image)
            for b, colour in drawn:
                draw.rectangle(_box(b), outline=colour, width=2)
            target.mkdir(parents=True, exist_ok=True)
            path = target / f"page-{number:03d}.png"
            image.save(path)
            written.append(path)
    finally:
        pdf.close()
    return written
