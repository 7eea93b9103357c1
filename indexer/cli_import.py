"""``kefu import``: a desk's own documents into the knowledge base (indexer.importer over kb.importing)."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click

from indexer.settings import Settings


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--category", help="Category of the articles created [default: the existing one, else 导入文档].")
@click.option(
    "--columns",
    default="",
    metavar="ROLE=COLUMN,…",
    help="FAQ sheets: map question, similar, answer, article, clause to header names or column letters.",
)
@click.option("--dry-run", is_flag=True, help="Read and show what would be created; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def import_cmd(
    settings: Settings, paths: tuple[Path, ...], category: str | None, columns: str, dry_run: bool, as_json: bool
) -> None:
    """Import files or folders (recursively): .docx/.doc/.wps/.rtf/.odt, .pdf (scanned pages by OCR),
    .xlsx/.csv FAQ sheets, .html, .md, .txt; then index what changed. A file that fails saves nothing."""
    from tqdm import tqdm

    from indexer.importer import apply, collect, plan, read_all
    from kb.database import Database
    from kb.importing.sheets import parse_columns
    from kb.revisions import Revisions
    from kb.store import Store

    try:
        mapping = parse_columns(columns)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--columns") from None
    files = collect(paths)
    quiet = as_json or None
    with tqdm(total=len(files), desc="reading", unit="file", disable=quiet, file=sys.stderr) as bar:
        parsed, failed = read_all(
            ((key, path.read_bytes()) for key, path in files),
            settings.import_limits,
            mapping,
            lambda what, done, total: bar.update(done - bar.n),
        )
    store = Store(Database.open(settings.database))
    import_plan = plan(parsed, settings.kb_dir, Revisions(store.db), category)
    import_plan.failures = failed + import_plan.failures
    summary = import_plan.summary()
    results = []
    if not dry_run and import_plan.items:
        from indexer.build import Indexer
        from indexer.editor import editing
        from indexer.encoder import Encoder
        from indexer.stale_files import StaleKnowledgeFiles
        from kb.loader import load_knowledge_base

        encoders = Encoder.all_from_settings(settings)
        with tqdm(desc="encoding", unit="text", disable=quiet, file=sys.stderr) as bar:
            # The store and indexes first match kb/ as it is (as 'kefu index build' does; nothing to do when they
            # already do), so an import into a never-built index leaves a whole one behind.
            try:
                Indexer(store, encoders, settings, progress=bar.update).sync(*load_knowledge_base(settings.kb_dir))
            except StaleKnowledgeFiles as exc:  # kb/ here lacks another machine's saves
                raise click.ClickException(str(exc)) from None
            with editing(store, encoders, settings) as editor:  # one change at a time across instances
                results = apply(import_plan, editor, f"kefu import ({getpass.getuser()})", bar.update)
    summary["saved"] = {
        action: sum(r.action == action for r in results) for action in ("create", "update", "unchanged", "delete")
    }
    summary["encoded"] = max((r.encoded for r in results), default=0)
    summary["dry_run"] = dry_run
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        _print_summary(summary)
    if import_plan.failures:
        raise SystemExit(1)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _print_summary(summary: dict) -> None:
    for f in summary["files"]:
        if f["kind"] == "faq":
            what = _count(f["faqs"], "Q&A entry", "Q&A entries") + (
                f", {_count(len(f['rejected']), 'row')} rejected" if f["rejected"] else ""
            )
        else:
            what = (
                f"《{f['title']}》 {_count(len(f['sections']), 'section')}, {_count(f['clauses'], 'clause')}, "
                f"{_count(f['tables'], 'table')}"
                + (f", {_count(f['pages'], 'page')}" if f["pages"] else "")
                + (f", {f['ocr_pages']} read by OCR" if f["ocr_pages"] else "")
            )
        ids = ", ".join(f"{i['id']} ({i['action']})" for i in f["items"][:3]) + (" …" if len(f["items"]) > 3 else "")
        click.echo(f"ok    {f['name']}: {what} -> {ids}")
        for line in [r["reason"] for r in f["rejected"]] + f["warnings"]:
            click.echo(f"      {line}")
        for gone in f["removes"]:
            click.echo(f"      {'would remove' if summary['dry_run'] else 'removed'} {gone['id']}: {gone['question']}")
    for failure in summary["failed"]:
        click.echo(f"FAIL  {failure['name']}: {failure['reason']}")
    changes = summary["changes"]
    if summary["dry_run"]:
        click.echo(
            f"dry run: {_count(summary['articles'], 'article')} and "
            f"{_count(summary['faqs'], 'Q&A entry', 'Q&A entries')}: would create {changes['create']}, "
            f"update {changes['update']}, leave {changes['unchanged']} unchanged and remove {summary['removes']};"
            " nothing written"
        )
    else:
        saved = summary["saved"]
        click.echo(
            f"saved: {saved['create']} created, {saved['update']} updated, {saved['unchanged']} unchanged, "
            f"{saved['delete']} removed; {_count(summary['encoded'], 'text')} encoded"
        )
