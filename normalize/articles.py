"""Amounts the articles declare (State support, ceilings, eligible cost, remainders)."""

from __future__ import annotations

from models import DeclaredAmount


def articles_to_declared(page_texts: list[str], fichier: str, sha: str) -> list[DeclaredAmount]:
    """Every amount the text of the articles declares, with its role, period and sentence."""
    return []
