"""Safe names for territory folders and atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from functools import cache
from pathlib import Path

from normalize.text import strip_accents


def slugify(name: str) -> str:
    """`Métropole Aix-Marseille-Provence` -> `metropole-aix-marseille-provence`; never a path."""
    s = strip_accents(name).lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return s[:80].strip("-") or "territoire-inconnu"


@cache
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside `path`, then rename it into place; a file already holding `data` is kept."""
    data = data.encode("utf-8") if isinstance(data, str) else data
    if _same(path, data):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are meant to be shared like any file
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class OutputMemo:
    """Skip rebuilding an output whose inputs are unchanged and whose file is as this run left it."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def _note(self, target: Path) -> Path | None:
        if self.root is None:
            return None
        return self.root / (hashlib.sha256(str(target.resolve()).encode()).hexdigest()[:32] + ".json")

    def _stamp(self, target: Path, digest: str) -> str:
        st = target.stat()
        return json.dumps([digest, st.st_size, st.st_mtime_ns])

    def fresh(self, target: Path, digest: str) -> bool:
        """True when `target` was built from `digest` and not touched since."""
        note = self._note(target)
        if note is None or not target.is_file() or not note.is_file():
            return False
        return note.read_text(encoding="utf-8") == self._stamp(target, digest)

    def built(self, target: Path, digest: str) -> None:
        """Record that `target` now holds what `digest` describes."""
        note = self._note(target)
        if note is not None:
            atomic_write(note, self._stamp(target, digest))


def digest_of(*parts: object) -> str:
    """A stable digest of JSON-able parts (Decimal and Path as text)."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
