"""Imported once by the forkserver: the models the stages load lazily, shared by every worker it forks."""

from __future__ import annotations

import contextlib

from pipeline.batch import warm_up

# only a head start: should it fail, each worker's first real document meets the same error and reports it
with contextlib.suppress(Exception):
    warm_up()
