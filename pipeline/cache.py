"""Per-document results cached under OUT/.cache, keyed by file hash, pipeline version and options."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from export.paths import atomic_write

CACHE_FORMAT = 1
# Sources whose code decides what a document yields; exports are rebuilt on every run and are not listed.
RESULT_SOURCES = ("models", "extract", "normalize", "reconcile", "pipeline/document.py", "pipeline/batch.py")


def _package_version() -> str:
    try:
        return metadata.version("lda-conventions")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@lru_cache(maxsize=1)
def pipeline_version() -> str:
    """The package version plus a digest of the result-producing sources (`0.1.0+3f2a9c1d0b7e`)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for name in RESULT_SOURCES:
        base = root / name
        files = sorted(base.rglob("*.py")) if base.is_dir() else [base]
        for f in files:
            if f.is_file():
                h.update(f.relative_to(root).as_posix().encode())
                h.update(b"\0")
                h.update(f.read_bytes())
                h.update(b"\0")
    return f"{_package_version()}+{h.hexdigest()[:12]}"


class ResultCache:
    """One JSON file per (sha256, pipeline version, options) under `root`; writes are atomic."""

    def __init__(self, root: Path, version: str, fingerprint: str) -> None:
        self.root = root
        self.version = version
        self.fingerprint = fingerprint

    def key(self, sha256: str) -> str:
        """The cache key of a file's content under this pipeline version and these options."""
        material = json.dumps([CACHE_FORMAT, sha256, self.version, self.fingerprint])
        return hashlib.sha256(material.encode()).hexdigest()

    def path(self, sha256: str) -> Path:
        key = self.key(sha256)
        return self.root / key[:2] / f"{key}.json"

    def get(self, sha256: str) -> str | None:
        """The cached payload of a file's result, or None."""
        try:
            return self.path(sha256).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def put(self, sha256: str, payload: str) -> None:
        """Store a result as soon as it is known, so that an interrupted run resumes from it."""
        atomic_write(self.path(sha256), payload)

    def discard(self, sha256: str) -> None:
        """Forget an entry that could not be read back."""
        self.path(sha256).unlink(missing_ok=True)
