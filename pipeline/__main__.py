"""`python -m pipeline run …`: the CLI without the console script (e.g. from a git worktree)."""

from pipeline.cli import main

main()
