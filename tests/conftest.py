"""Shared fixtures: real PDFs with their expected values, the shared corpus when present."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from extract.pdf import read_pdf_pages
from models import Convention
from pipeline.document import pages_to_convention

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared"


def fixture_pdfs(style: str) -> list[Path]:
    """PDFs of a fixture folder that have a `.truth.json` beside them."""
    return sorted(p for p in (FIXTURES / style).glob("*.pdf") if p.with_suffix(".truth.json").exists())


def truth_of(pdf: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(pdf.with_suffix(".truth.json").read_text(encoding="utf-8"))
    return data


@cache
def convention_of(pdf: Path) -> Convention:
    """The born-digital pipeline's convention for a fixture (cached across tests)."""
    return pages_to_convention(read_pdf_pages(pdf), pdf.name, "0" * 64)


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    corpus = SHARED / "corpus"
    if not (corpus / "truth").is_dir():
        pytest.skip("../shared/corpus absent: whole-corpus checks skipped")
    return corpus
