"""Where a value came from: file, page, box on the page, raw text, extractor."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class BBox(BaseModel):
    """A box in PDF points, origin at the top-left of the page."""

    model_config = ConfigDict(frozen=True)

    x0: float
    top: float
    x1: float
    bottom: float

    @classmethod
    def union(cls, boxes: list[BBox]) -> BBox | None:
        """The smallest box holding every box given, or None when there is none."""
        if not boxes:
            return None
        return cls(
            x0=min(b.x0 for b in boxes),
            top=min(b.top for b in boxes),
            x1=max(b.x1 for b in boxes),
            bottom=max(b.bottom for b in boxes),
        )


class Provenance(BaseModel):
    """The trace of an extracted value back to its page."""

    model_config = ConfigDict(frozen=True)

    file: str
    sha256: str
    page: int
    bbox: BBox | None = None
    raw: str = ""
    extractor: str = ""
