"""The registry of checks (filled as checks land)."""

from __future__ import annotations

from collections.abc import Callable

from models import Convention, Flag

Check = Callable[[Convention], list[Flag]]
CHECKS: list[Check] = []
