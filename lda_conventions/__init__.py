"""The pipeline from a notebook: `lda.run(input_dir, out=...)` and `lda.read(out)` give typed pandas DataFrames.

Importing this package loads pandas and pyarrow only; the extraction stack loads when `run` needs it.
"""

from lda_conventions.frames import AMOUNT, Results, read
from lda_conventions.runner import run

__all__ = ["AMOUNT", "Results", "read", "run"]
