"""The library's exceptions; the CLI turns them into exit codes."""

from __future__ import annotations


class LdaError(Exception):
    """Base of every error the pipeline raises on purpose."""


class InputError(LdaError):
    """The input file cannot be read as a PDF (damaged, encrypted, empty, not a PDF)."""


class DocumentTimeoutError(LdaError):
    """A document took longer than the allowed time."""
