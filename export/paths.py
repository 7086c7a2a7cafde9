"""Safe names for territory folders and atomic writes."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from normalize.text import strip_accents


def slugify(name: str) -> str:
    """`Métropole Aix-Marseille-Provence` -> `metropole-aix-marseille-provence`; never a path."""
    s = strip_accents(name).lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return s[:80] or "territoire-inconnu"


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
