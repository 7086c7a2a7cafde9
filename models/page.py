"""What the extract stage reads off each page: words with boxes and ruling lines."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from models.provenance import BBox


class Word(BaseModel):
    """One word and its box; `conf` is the OCR confidence (0-100), None for a text layer.

    `chars` holds each character's horizontal extent (x0, x1), one per character of `text`, when the
    reader knows them (a text layer); empty otherwise (OCR). A cell owns characters, not words."""

    model_config = ConfigDict(frozen=True)

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    conf: float | None = None
    bold: bool = False
    chars: tuple[tuple[float, float], ...] = ()

    @property
    def xc(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def yc(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def bbox(self) -> BBox:
        return BBox(x0=self.x0, top=self.top, x1=self.x1, bottom=self.bottom)


class Ruling(BaseModel):
    """A horizontal or vertical line segment drawn on the page (or seen on a scan).

    `source` is `line` for a stroked line, a stroked rectangle's side or a hairline filled bar
    (spreadsheet gridlines), and `fill` for a side of a filled, unstroked background: weaker evidence."""

    model_config = ConfigDict(frozen=True)

    orientation: Literal["h", "v"]
    x0: float
    top: float
    x1: float
    bottom: float
    source: Literal["line", "fill"] = "line"


class OcrDecision(BaseModel):
    """Whether a page was OCR'd, and why."""

    needed: bool
    reason: str
    engine: str = ""
    deskew_degrees: float = 0.0
    mean_confidence: float | None = None
    error: str = ""  # why the page could not be OCR'd (French), when it could not


class Page(BaseModel):
    """One page as the table and text stages see it."""

    number: int
    width: float
    height: float
    words: list[Word]
    rulings: list[Ruling] = []
    fills: list[BBox] = []  # filled, unstroked rectangles larger than a rule: backgrounds, bands
    ocr: OcrDecision = OcrDecision(needed=False, reason="couche texte présente")


class SourceDocument(BaseModel):
    """An input PDF read into pages."""

    path: str
    fichier: str
    sha256: str
    pages: list[Page]

    @property
    def ocr(self) -> bool:
        return any(p.ocr.needed for p in self.pages)
