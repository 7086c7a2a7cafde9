"""Imported once by the forkserver: the models the stages load lazily, shared by every worker it forks."""

from __future__ import annotations

import contextlib
import gc

from pipeline.batch import warm_up

# only a head start: should it fail, each worker's first real document meets the same error and reports it
with contextlib.suppress(Exception):
    warm_up()
# the models' objects to the permanent generation: the forked workers' collections never walk them, nor write
# to their pages (no copy-on-write of the shared models), as `gc.freeze` is documented for
gc.freeze()
