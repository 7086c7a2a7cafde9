"""OCR for image-only pages (placeholder until the scan path lands)."""

from __future__ import annotations

from pathlib import Path

from models import Page


def ocr_pages_if_needed(path: Path, pages: list[Page], language: str) -> list[Page]:
    """Pages with a text layer are returned as they are."""
    return pages
