"""The ``kefu`` command: a thin click shell over the library; errors become messages and exit codes.

This module has the knowledge-base and retrieval commands; indexer/cli_desk.py the service desk's.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from indexer import cli_desk, cli_import
from indexer.settings import DECLARED, Settings, SettingsError, load_settings, redacted
from kb.secret_files import keep_private

if TYPE_CHECKING:
    from indexer.encoder import Encoder
    from indexer.retriever import Retriever
    from kb.store import Store

Command = TypeVar("Command", bound=Callable[..., Any])


def _fail_cleanly(fn: Command) -> Command:
    """Turn the library's named errors into a one-line message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from indexer.encoder import EncoderError
        from indexer.evaluate import EvalDataError
        from indexer.hits import QueryError
        from indexer.retriever import IndexStaleError
        from indexer.stale_files import StaleKnowledgeFiles
        from indexer.vector_index import IndexError_
        from kb.loader import KnowledgeBaseError

        try:
            return fn(*args, **kwargs)
        except (
            SettingsError,
            KnowledgeBaseError,
            IndexError_,
            IndexStaleError,
            StaleKnowledgeFiles,
            QueryError,
            EncoderError,
            EvalDataError,
        ) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def _parse_sets(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--set")
        out[name.strip()] = value
    return out


@click.group()
@click.option(
    "--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a setting for this run (see 'kefu settings')."
)
@click.pass_context
def main(ctx: click.Context, sets: tuple[str, ...]) -> None:
    """Kefu (客服): a Chinese customer-service knowledge-base assistant."""
    try:
        ctx.obj = load_settings(overrides=_parse_sets(sets))
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    keep_private(ctx.obj.data_dir)  # the database, indexes and keys it writes are the owner's alone


@main.command("settings")
@click.option(
    "--export",
    "export",
    is_flag=True,
    help="Print 'export KEFU_NAME=value' shell lines of the values in force (scripts/run-servers).",
)
@click.pass_obj
def settings_cmd(settings: Settings, export: bool) -> None:
    """List every setting: name, value in force, default and meaning."""
    if export:
        click.echo(settings.shell_exports())
        return
    for s in DECLARED:  # passwords in the URLs are masked: listings end up in tickets and screenshots
        value = redacted(str(getattr(settings, s.name)))
        click.echo(f"{s.name} = {value}  (default {s.default!s}; KEFU_{s.name.upper()})")
        click.echo(f"    {s.help}")


def _open(settings: Settings) -> tuple[Store, list[Encoder]]:
    from indexer.encoder import Encoder
    from kb.database import Database
    from kb.store import Store

    return Store(Database.open(settings.database)), Encoder.all_from_settings(settings)


def _retriever(settings: Settings) -> Retriever:
    from indexer.retriever import Retriever

    store, encoders = _open(settings)
    return Retriever.load(store, encoders, settings)


@main.group()
def index() -> None:
    """Build and inspect the search index."""


@index.command("build")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--force",
    is_flag=True,
    help="Take this machine's kb/ files even where they are older than curators' saves taken on another machine.",
)
@click.pass_obj
@_fail_cleanly
def index_build(settings: Settings, as_json: bool, force: bool) -> None:
    """Load kb/, re-chunk and re-encode what changed, and save the indexes; refused when kb/ here lacks
    curators' saves taken on another machine (unless --force)."""
    from tqdm import tqdm

    from indexer.build import Indexer
    from kb.loader import load_knowledge_base

    articles, faqs = load_knowledge_base(settings.kb_dir)
    store, encoders = _open(settings)
    with tqdm(desc="encoding", unit="text", disable=as_json or None, file=sys.stderr) as bar:
        report = Indexer(store, encoders, settings, progress=bar.update).sync(articles, faqs, force=force)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    click.echo(
        f"{len(articles)} articles ({len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed), {len(faqs)} Q&A entries; {report.passages} passages, "
        f"{report.phrasings} Q&A phrasings; {report.encoded} texts encoded in {report.seconds}s"
        + ("; every article chunked again (the chunking rules changed)" if report.rechunked else "")
    )


@main.command()
@click.argument("question")
@click.option("--k", default=None, type=click.IntRange(1, 50), help="How many hits.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
@_fail_cleanly
def search(settings: Settings, question: str, k: int | None, as_json: bool) -> None:
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
@click.option(
    "--questions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help='dev.jsonl-style file; repeat to pool several (each row\'s domain: its "doc" field, else the file).',
)
@click.option(
    "--conversations",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Conversations file (follow-up questions, shared/eval/README.md), played turn by turn as the bot "
    "plays them; repeat to pool several. Instead of --questions.",
)
@click.option(
    "--each-turn-alone",
    is_flag=True,
    help="With --conversations: read every turn alone, without the conversation's topic (for comparison).",
)
@click.option(
    "--leave-one-domain-out",
    "lodo",
    is_flag=True,
    help="Judge each domain with a decision fitted on the others and the negatives (adds by_domain).",
)
@click.option(
    "--negatives",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --leave-one-domain-out: questions to abstain on [default: kb/calibration-negatives.txt].",
)
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON metrics object.")
@click.option("--details", type=click.Path(dir_okay=False, path_type=Path), help="Write per-question rows here.")
@click.pass_obj
@_fail_cleanly
def eval_cmd(
    settings: Settings,
    questions: tuple[Path, ...],
    conversations: tuple[Path, ...],
    each_turn_alone: bool,
    lodo: bool,
    negatives: Path | None,
    as_json: bool,
    details: Path | None,
) -> None:
    """Answer quality on dev.jsonl-style files, or on conversations with follow-up questions (metrics of
    shared/eval/README.md)."""
    from indexer.decision import fit_calibration
    from indexer.evaluate import (
        evaluate_conversations,
        evaluate_questions,
        leave_one_domain_out,
        load_conversations,
        load_questions,
    )
    from kb.desk.rules import route

    if bool(questions) == bool(conversations):
        raise click.UsageError("give --questions or --conversations (one of them)")
    if (negatives or lodo) and conversations:
        raise click.UsageError("--leave-one-domain-out and --negatives are for --questions")
    if negatives and not lodo:
        raise click.UsageError("--negatives is for --leave-one-domain-out")
    if each_turn_alone and not conversations:
        raise click.UsageError("--each-turn-alone is for --conversations")
    items = [q for path in questions for q in load_questions(path)]
    plays = [c for path in conversations for c in load_conversations(path)]
    retriever = _retriever(settings)
    if plays:
        metrics, rows = evaluate_conversations(retriever, plays, route, carry=not each_turn_alone)
    elif lodo:
        fit = functools.partial(fit_calibration, model=retriever.calibration.model)
        negs = _negatives(settings, negatives)
        metrics, by_domain, rows = leave_one_domain_out(retriever, items, negs, fit, route)
        metrics = {**metrics, "by_domain": by_domain}
    else:
        metrics, rows = evaluate_questions(retriever, items, route)
    if details:
        details.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    _metrics_out(metrics, as_json)


def _negatives(settings: Settings, path: Path | None) -> list[str]:
    from indexer.decision import load_negatives

    path = path or settings.kb_dir / "calibration-negatives.txt"
    return load_negatives(path) if path.is_file() else []


@main.command("eval-faq")
@click.option("--pairs", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON metrics object.")
@click.pass_obj
@_fail_cleanly
def eval_faq_cmd(settings: Settings, pairs: Path, as_json: bool) -> None:
    """Question-to-question matching on a q1<TAB>q2<TAB>label file (BQ protocol)."""
    from indexer.decision import Calibration
    from indexer.evaluate import evaluate_faq, faq_protocol, load_pairs
    from indexer.lexical import Tokenizer
    from indexer.retriever import RetrieverConfig, question_pool_retriever
    from kb.loader import user_dictionary

    pool, queries = faq_protocol(load_pairs(pairs))
    store, encoders = _open(settings)
    config = RetrieverConfig(
        weights=settings.weights,
        fusion=settings.fusion,
        rrf_k=settings.rrf_k,
        faq_lexical_weight=settings.faq_lexical_weight,
    )
    retriever = question_pool_retriever(
        encoders, pool, store, Tokenizer(user_dictionary(settings.kb_dir)), Calibration({}, 0.0), config
    )

    def rank_pool(query: str, k: int) -> tuple[list[str | None], float]:
        result = retriever.search(query, k=k)
        return [h.question for h in result.hits], result.ms

    _metrics_out(evaluate_faq(rank_pool, pool, queries), as_json)


@main.command()
@click.option(
    "--questions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    multiple=True,
    help="Labelled questions (dev.jsonl format); repeat to fit on several files.",
)
@click.option(
    "--negatives",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Extra questions to abstain on, one per line [default: kb/calibration-negatives.txt].",
)
@click.pass_obj
@_fail_cleanly
def calibrate(settings: Settings, questions: tuple[Path, ...], negatives: Path | None) -> None:
    """Fit the answer/abstain decision for the current model; saves kb/calibration.json."""
    from indexer.decision import Calibration, fit_calibration
    from indexer.evaluate import calibration_examples, leave_one_out, load_questions
    from indexer.retriever import Retriever

    store, encoders = _open(settings)
    model_key = ",".join(settings.models)
    retriever = Retriever.load(store, encoders, settings, Calibration({}, 0.0, model=model_key))
    items = [q for path in questions for q in load_questions(path)]
    rows, labels = calibration_examples(retriever, items, _negatives(settings, negatives))
    fit = functools.partial(fit_calibration, model=model_key)
    cal = fit(rows, labels)
    held_out = leave_one_out(rows, labels, fit, cal.threshold)
    fitted_on = [*map(str, questions), str(negatives or settings.kb_dir / "calibration-negatives.txt")]
    path = cal.save(settings.kb_dir, {"fitted_on": fitted_on, "examples": len(rows), **held_out})
    click.echo(f"{len(rows)} examples ({sum(labels)} answerable); held out: {held_out}")
    click.echo(f"saved to {path}")


@index.command("check")
@click.option("--repair", is_flag=True, help="Rebuild what is wrong from the database and the embedding cache.")
@click.pass_obj
def index_check(settings: Settings, repair: bool) -> None:
    """Check that the saved indexes load and match the database (run before the servers start)."""
    from indexer.build import check_index, repair_index
    from kb.database import Database
    from kb.store import Store

    store = Store(Database.open(settings.database))
    problems = check_index(store, settings)
    for problem in problems:
        click.echo(f"kefu: index problem: {problem}", err=True)
    if problems and repair and store.passages():
        from indexer.encoder import Encoder

        repair_index(store, Encoder.all_from_settings(settings), settings)
        problems = check_index(store, settings)
        click.echo(
            "kefu: "
            + (
                "repaired from the database and the embedding cache"
                if not problems
                else "could not repair: " + "; ".join(problems)
            ),
            err=True,
        )
    if problems:
        raise SystemExit(1)
    click.echo(f"index ok ({', '.join(settings.models)})")


@main.command()
@click.argument("server", type=click.Choice(["actions", "rasa", "web"]))
@click.pass_obj
def serve(settings: Settings, server: str) -> None:
    """Run one of Kefu's servers on its host and port from the settings (scripts/run-servers runs all three)."""
    from indexer.servers import ServerError
    from indexer.servers import serve as become

    try:
        become(settings, server)
    except ServerError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where PostgreSQL, Redis, HAProxy's configuration and the logs go (default: data_dir/topology).",
)
@click.option("--instances", default=2, show_default=True, type=click.IntRange(1, 8), help="Instances of each kind.")
@click.pass_obj
def topology(settings: Settings, folder: Path | None, instances: int) -> None:
    """Start, on this machine, PostgreSQL, Redis, action servers, Rasa and web instances and HAProxy in front on
    web_host:web_port (docs/DEPLOY.md); Ctrl-C or SIGTERM stops them all."""
    import signal

    from indexer.topology import Topology, TopologyError

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM stops everything as Ctrl-C does; SIGCHLD wakes signal.pause when an instance stops
    handlers = {signal.SIGTERM: interrupted, signal.SIGCHLD: lambda *_: None}
    previous = {number: signal.signal(number, handler) for number, handler in handlers.items()}
    reported: set[str] = set()
    try:
        steps = functools.partial(click.echo, err=True)
        with Topology(settings, folder or settings.data_dir / "topology", instances, progress=steps) as running:
            click.echo("\n".join(["Kefu topology (Ctrl-C stops everything):", *running.describe()]))
            while True:
                signal.pause()
                for name in sorted(set(running.stopped()) - reported):
                    log = running.instances[name].log
                    click.echo(f"kefu: {name} stopped (its log: {log}); the others carry on", err=True)
                    reported.add(name)
    except TopologyError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("kefu: topology stopped")
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


main.add_command(cli_import.import_cmd)
# The service desk's operator commands, on the same group.
for _command in (
    cli_desk.gaps,
    cli_desk.handoffs,
    cli_desk.users,
    cli_desk.purge_cmd,
    cli_desk.demo_data,
    cli_desk.audit_cmd,
):
    main.add_command(_command)


if __name__ == "__main__":
    main()
