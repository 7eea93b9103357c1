"""The ``kefu`` command: a thin click shell over the library; errors become messages and exit codes."""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from indexer.settings import DECLARED, SettingsError, load_settings


def _fail_cleanly(fn):
    """Turn the library's named errors into a one-line message and exit code 1."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from indexer.encoder import EncoderError
        from indexer.evaluate import EvalDataError
        from indexer.retriever import IndexStaleError, QueryError
        from indexer.vector_index import IndexError_
        from kb.loader import KnowledgeBaseError
        try:
            return fn(*args, **kwargs)
        except (SettingsError, KnowledgeBaseError, IndexError_, IndexStaleError, QueryError,
                EncoderError, EvalDataError) as exc:
            raise click.ClickException(str(exc)) from None
    return wrapper


def _parse_sets(values: tuple[str, ...]) -> dict:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--set")
        out[name.strip()] = value
    return out


@click.group()
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Override a setting for this run (see 'kefu settings').")
@click.pass_context
def main(ctx: click.Context, sets: tuple[str, ...]) -> None:
    """Kefu (客服): a Chinese customer-service knowledge-base assistant."""
    try:
        ctx.obj = load_settings(overrides=_parse_sets(sets))
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("settings")
@click.pass_obj
def settings_cmd(settings) -> None:
    """List every setting: name, value in force, default and meaning."""
    for s in DECLARED:
        click.echo(f"{s.name} = {getattr(settings, s.name)!s}  (default {s.default!s}; KEFU_{s.name.upper()})")
        click.echo(f"    {s.help}")


def _open(settings):
    from indexer.encoder import Encoder
    from kb.store import Store
    return Store.open(settings.db_path), Encoder.all_from_settings(settings)


def _retriever(settings):
    from indexer.retriever import Retriever
    store, encoders = _open(settings)
    return Retriever.load(store, encoders, settings)


@main.group()
def index() -> None:
    """Build and inspect the search index."""


@index.command("build")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
@_fail_cleanly
def index_build(settings, as_json: bool) -> None:
    """Load kb/, re-chunk and re-encode what changed, and save the indexes."""
    from tqdm import tqdm

    from indexer.build import Indexer
    from kb.loader import load_knowledge_base

    articles, faqs = load_knowledge_base(settings.kb_dir)
    store, encoders = _open(settings)
    with tqdm(desc="encoding", unit="text", disable=as_json or None, file=sys.stderr) as bar:
        report = Indexer(store, encoders, settings, progress=bar.update).sync(articles, faqs)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    click.echo(f"{len(articles)} articles ({len(report.added)} added, {len(report.changed)} changed, "
               f"{len(report.removed)} removed), {len(faqs)} Q&A entries; {report.passages} passages, "
               f"{report.phrasings} Q&A phrasings; {report.encoded} texts encoded in {report.seconds}s")


@main.command()
@click.argument("question")
@click.option("--k", default=None, type=click.IntRange(1, 50), help="How many hits.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
@_fail_cleanly
def search(settings, question: str, k: int | None, as_json: bool) -> None:
    """Search the knowledge base for QUESTION."""
    result = _retriever(settings).search(question, k=k)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    d = result.decision
    click.echo(f"{'ANSWER' if d.answer else 'ABSTAIN'} (confidence {d.confidence:.2f}: {d.reason})")
    for n, h in enumerate(result.hits, 1):
        where = " · ".join(x for x in (h.title, h.section, h.clause) if x)
        click.echo(f"{n}. [{h.score:.4f}] {where}" + (f"  (Q&A: {h.question})" if h.question else ""))
        click.echo(f"   {h.snippet_marked}")


def _metrics_out(metrics: dict, as_json: bool) -> None:
    if not as_json:
        for key, value in metrics.items():
            click.echo(f"{key:28} {value}")
    click.echo(json.dumps(metrics, ensure_ascii=False))


@main.command("eval")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON metrics object.")
@click.option("--details", type=click.Path(dir_okay=False, path_type=Path), help="Write per-question rows here.")
@click.pass_obj
@_fail_cleanly
def eval_cmd(settings, questions: Path, as_json: bool, details: Path | None) -> None:
    """Answer quality on a dev.jsonl-style file (metrics of shared/eval/README.md)."""
    from indexer.evaluate import evaluate_questions, load_questions

    metrics, rows = evaluate_questions(_retriever(settings), load_questions(questions))
    if details:
        details.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    _metrics_out(metrics, as_json)


@main.command("eval-faq")
@click.option("--pairs", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON metrics object.")
@click.pass_obj
@_fail_cleanly
def eval_faq_cmd(settings, pairs: Path, as_json: bool) -> None:
    """Question-to-question matching on a q1<TAB>q2<TAB>label file (BQ protocol)."""
    from indexer.decision import Calibration
    from indexer.evaluate import evaluate_faq, faq_protocol, load_pairs
    from indexer.lexical import Tokenizer
    from indexer.retriever import question_pool_retriever
    from kb.loader import user_dictionary

    pool, queries = faq_protocol(load_pairs(pairs))
    store, encoders = _open(settings)
    retriever = question_pool_retriever(encoders, pool, store, Tokenizer(user_dictionary(settings.kb_dir)),
                                        Calibration({}, 0.0), settings.weights, settings.fusion, settings.rrf_k,
                                        settings.faq_lexical_weight)

    def rank_pool(query: str, k: int):
        result = retriever.search(query, k=k)
        return [h.question for h in result.hits], result.ms

    _metrics_out(evaluate_faq(rank_pool, pool, queries), as_json)


@main.command()
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Labelled questions (dev.jsonl format).")
@click.option("--negatives", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Extra questions to abstain on, one per line [default: kb/calibration-negatives.txt].")
@click.pass_obj
@_fail_cleanly
def calibrate(settings, questions: Path, negatives: Path | None) -> None:
    """Fit the answer/abstain decision for the current model; saves kb/calibration.json."""
    from indexer.decision import Calibration, fit_calibration, load_negatives
    from indexer.evaluate import calibration_examples, leave_one_out, load_questions

    from indexer.retriever import Retriever

    store, encoders = _open(settings)
    model_key = ",".join(settings.models)
    retriever = Retriever.load(store, encoders, settings, Calibration({}, 0.0, model=model_key))
    negatives = negatives or settings.kb_dir / "calibration-negatives.txt"
    rows, labels = calibration_examples(retriever, load_questions(questions),
                                        load_negatives(negatives) if negatives.is_file() else [])
    fit = functools.partial(fit_calibration, model=model_key)
    cal = fit(rows, labels)
    held_out = leave_one_out(rows, labels, fit, cal.threshold)
    path = cal.save(settings.kb_dir, {"fitted_on": [str(questions), str(negatives)], "examples": len(rows),
                                      **held_out})
    click.echo(f"{len(rows)} examples ({sum(labels)} answerable); held out: {held_out}")
    click.echo(f"saved to {path}")


def _desk(settings):
    from kb.desk import Desk
    from kb.store import Store
    return Desk(Store.open(settings.db_path))


def _echo_rows(rows: list[dict], as_json: bool, line) -> None:
    """Print desk rows as JSON lines, or one human line each."""
    for r in rows:
        click.echo(json.dumps(r, ensure_ascii=False) if as_json else line(r))


def _gap_line(r: dict) -> str:
    top = r["hits"][0] if r["hits"] else {}
    best = f"  (best: {top.get('title')} {top.get('section') or ''}, {top.get('score')})" if top else ""
    return f"#{r['id']} {r['created_at']} [{r['reason']}] {r['question']}{best}"


def _handoff_line(r: dict) -> str:
    message = f"  (message: {r['contact']})" if r["contact"] else ""
    return f"#{r['id']} {r['created_at']} {r['status']} [{r['reason']}] {r['conversation_id']}: {r['question']}{message}"


@index.command("check")
@click.option("--repair", is_flag=True, help="Rebuild what is wrong from the database and the embedding cache.")
@click.pass_obj
def index_check(settings, repair: bool) -> None:
    """Check that the saved indexes load and match the database (run before the servers start)."""
    from indexer.build import check_index, repair_index
    from kb.store import Store

    store = Store.open(settings.db_path)
    problems = check_index(store, settings)
    for problem in problems:
        click.echo(f"kefu: index problem: {problem}", err=True)
    if problems and repair and store.passages():
        from indexer.encoder import Encoder
        repair_index(store, Encoder.all_from_settings(settings), settings)
        problems = check_index(store, settings)
        click.echo("kefu: " + ("repaired from the database and the embedding cache" if not problems
                               else "could not repair: " + "; ".join(problems)), err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"index ok ({', '.join(settings.models)})")


@main.command("purge")
@click.option("--days", type=click.IntRange(0), help="Override retention_days for this run.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
def purge_cmd(settings, days: int | None, as_json: bool) -> None:
    """Delete conversations and settled records older than retention_days (see kb/retention.py)."""
    import json

    from kb.retention import purge
    from kb.store import Store

    days = settings.retention_days if days is None else days
    counts = purge(Store.open(settings.db_path), days)
    if as_json:
        click.echo(json.dumps({"days": days, "deleted": counts}))
    elif not days:
        click.echo("retention_days is 0: nothing is deleted")
    else:
        click.echo(f"deleted records older than {days} days: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@main.command("demo-data")
@click.option("--days", type=click.IntRange(1, 365), default=28, show_default=True)
@click.option("--peak", type=click.FloatRange(0), default=30.0, show_default=True, help="Chats in a peak hour.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.pass_obj
def demo_data(settings, days: int, peak: float, seed: int) -> None:
    """Fill the database with synthetic chats, handoffs and agent shifts (conversation ids 'demo-…')."""
    from kb.demand import generate
    from kb.store import Store

    counts = generate(Store.open(settings.db_path), days=days, chats_per_peak_hour=peak,
                      timezone=settings.timezone, seed=seed)
    click.echo(f"added {counts['conversations']} chats, {counts['handoffs']} handoffs and "
               f"{counts['status_changes']} agent status changes over {days} days")


@main.group()
def gaps() -> None:
    """Questions the bot could not serve, for curators."""


@gaps.command("list")
@click.option("--status", default="open", show_default=True, help="open, dismissed, resolved or all.")
@click.option("--limit", default=50, type=click.IntRange(1, 10000), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def gaps_list(settings, status: str, limit: int, as_json: bool) -> None:
    """List logged gaps, newest first."""
    _echo_rows(_desk(settings).gaps(None if status == "all" else status, limit), as_json, _gap_line)


@main.group()
def handoffs() -> None:
    """Handoff tickets."""


@handoffs.command("list")
@click.option("--status", default="all", show_default=True, help="queued, claimed, callback, closed or all.")
@click.option("--limit", default=50, type=click.IntRange(1, 10000), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def handoffs_list(settings, status: str, limit: int, as_json: bool) -> None:
    """List handoff tickets, newest first."""
    _echo_rows(_desk(settings).handoffs(None if status == "all" else status, limit), as_json, _handoff_line)


@main.group()
def users() -> None:
    """Staff accounts for the agent console and the curator panel."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["agent", "curator", "supervisor", "admin"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@click.pass_obj
def users_add(settings, name: str, role: str, password_stdin: bool) -> None:
    """Create an account; the password comes from a prompt (or stdin), never the command line."""
    from kb.accounts import AccountError, Accounts
    from kb.store import Store

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user_id = Accounts(Store.open(settings.db_path)).add(name, password, role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {role} {name!r} (id {user_id})")


if __name__ == "__main__":
    main()
