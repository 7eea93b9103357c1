"""The knowledge base: articles and curated Q&A entries, their files under kb/, and the database they are
stored in.

- ``kb.model``: the records (Article, FaqEntry, Passage, HitRecord);
- ``kb.loader``: reading, validating and writing the files, and turning an upload into an article;
- ``kb.database`` (with ``kb.tables``, ``kb.schema``, ``kb.upgrade``, ``kb.locks``, ``kb/alembic/``): the one
  database everything is kept in, a SQLite file or PostgreSQL, its schema and its migrations; ``kb.migrations``:
  how SQLite files from before Alembic reached version 15;
- ``kb.store``: the knowledge content in it (articles, Q&A entries, passages, embeddings, index state);
- ``kb.revisions``: every saved version of an article or Q&A entry;
- ``kb.clock``: the time stamps every record carries;
- ``kb.desk``: the service desk (tickets, gaps, conversations, accounts, staffing), in the same file.

Nothing here imports ``indexer``, ``actions`` or ``web``; the knowledge modules do not import ``kb.desk``.
"""
