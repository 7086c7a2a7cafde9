"""Orchestration: one document through the stages, a batch of documents, the CLI."""
