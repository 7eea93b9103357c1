"""Kefu's Alembic scripts: env.py and the revisions under versions/, run from code by kb.upgrade."""
