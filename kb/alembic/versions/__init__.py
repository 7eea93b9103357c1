"""Alembic revisions, one per schema change after version 15 (v15_baseline is the schema kb.migrations left)."""
