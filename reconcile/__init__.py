"""Cross-checks of a convention: each check turns the model into flag records."""

from __future__ import annotations

from models import Convention, Flag


def convention_to_flags(convention: Convention) -> list[Flag]:
    """Every flag the checks raise for one convention."""
    from reconcile.checks import CHECKS

    flags: list[Flag] = []
    for check in CHECKS:
        flags.extend(check(convention))
    return flags
