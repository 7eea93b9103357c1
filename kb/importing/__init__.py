"""Reading the documents a service desk already keeps into Kefu's knowledge base: Word (and WPS, RTF,
OpenDocument), PDF (scanned pages too, by OCR), FAQ sheets (.xlsx, .csv), web pages, Markdown and plain
text in UTF-8, GB18030/GBK or UTF-16.

Each file becomes a ParsedFile (kb.importing.document): an article body in Markdown with its structure
kept (headings, numbered clauses and items, tables; text recognised in pictures marked as such) and
figures for a preview, or, for a sheet, Q&A rows and the rows it rejected. Nothing here writes to kb/:
indexer.importer turns parsed files into saved, indexed items.

- ``reader``: one entry point, read_file(name, data), choosing by file type;
- ``office`` (through LibreOffice), ``web`` (HTML to Markdown, a page's main content), ``pdf``, ``ocr``,
  ``text`` (encodings and numbering lines), ``sheets`` (FAQ sheets);
- ``ids``: readable, stable ids; ``guard``: limits and hostile files (zip bombs, path names).
"""

from collections.abc import Callable

Progress = Callable[[int, int], None]
"""progress(done, total): told as a file's pages (or pictures) are read, so a long import shows movement."""


class ImportFailed(ValueError):
    """A file cannot be imported. ``reason`` says why in Chinese, for the curator; str() names the file."""

    def __init__(self, name: str, reason: str):
        self.name, self.reason = name, reason
        super().__init__(f"{name}: {reason}")
