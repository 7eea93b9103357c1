"""Hostile input against every endpoint: the cases, and a world to try them in.

Shared by tests/test_hostile.py (which asserts each outcome) and bench/hostile_table.py (which prints
the table in docs/RELIABILITY.md). The world is the real app on real SQLite and FAISS with a small
knowledge base; only Rasa is replaced, by a stand-in that answers every message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import httpx

SQL = "'; DROP TABLE messages; --"
SCRIPT = '<script>alert(1)</script><img src=x onerror="alert(2)">'
TRAVERSAL = "../../../etc/passwd"
HUGE = "客" * (100 * 1024 // 3)  # 100 KB of UTF-8 text
# YAML's "billion laughs": nine levels of nine references, a few hundred bytes that expand to 9**9 strings
# once a value built from them is turned into text.
ALIAS_BOMB = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def _zip_bomb() -> bytes:
    """A .docx-shaped zip that says it unpacks to 2 GB (refused by its declared size, before reading)."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (4 << 20))
    data = bytearray(out.getvalue())
    central = data.rfind(b"PK\x01\x02")  # the central directory entry's uncompressed size, at offset 24
    data[central + 24 : central + 28] = (2**31).to_bytes(4, "little")
    return bytes(data)


ZIP_BOMB = _zip_bomb()
BAD_UTF8 = b'{"session": "s1", "text": "\xff\xfe\xfa"}'
MALFORMED = b'{"session": "s1", "text": '


@dataclass
class Case:
    """One hostile request and the statuses that count as handled."""

    group: str
    what: str
    who: str  # customer, anonymous (a fresh client), agent, curator, replay (a copied cookie after logout)
    method: str
    path: str
    kwargs: dict = field(default_factory=dict)
    ok: tuple[int, ...] = (400,)
    csrf: bool = True


def _json(body) -> dict:
    return {"data": json.dumps(body, ensure_ascii=False), "content_type": "application/json"}


def _raw(data: bytes, content_type: str = "application/json") -> dict:
    return {"data": data, "content_type": content_type}


CASES = [
    # The customer's chat API
    Case("POST /api/chat", "empty body", "customer", "POST", "/api/chat", _raw(b"")),
    Case("POST /api/chat", "malformed JSON", "customer", "POST", "/api/chat", _raw(MALFORMED)),
    Case("POST /api/chat", "invalid UTF-8", "customer", "POST", "/api/chat", _raw(BAD_UTF8)),
    Case("POST /api/chat", "JSON array, not object", "customer", "POST", "/api/chat", _json(["hi"])),
    Case("POST /api/chat", "wrong types", "customer", "POST", "/api/chat", _json({"session": 5, "text": ["a"]})),
    Case("POST /api/chat", "empty text", "customer", "POST", "/api/chat", _json({"session": "s1", "text": "   "})),
    Case(
        "POST /api/chat",
        "100 KB of text",
        "customer",
        "POST",
        "/api/chat",
        _json({"session": "s1", "text": HUGE}),
        ok=(413,),
    ),
    Case(
        "POST /api/chat",
        "2,001 characters",
        "customer",
        "POST",
        "/api/chat",
        _json({"session": "s1", "text": "问" * 2001}),
    ),
    Case(
        "POST /api/chat", "5 MB body", "customer", "POST", "/api/chat", _raw(b"{" + b" " * 5_000_000 + b"}"), ok=(413,)
    ),
    Case(
        "POST /api/chat",
        "SQL injection text",
        "customer",
        "POST",
        "/api/chat",
        _json({"text": SQL}),
        ok=(200,),
    ),
    Case(
        "POST /api/chat",
        "script and HTML text",
        "customer",
        "POST",
        "/api/chat",
        _json({"text": SCRIPT}),
        ok=(200,),
    ),
    Case(
        "POST /api/chat",
        "binary-looking text",
        "customer",
        "POST",
        "/api/chat",
        _json({"text": "\x00\x01\x02\u202e\ufffd"}),
        ok=(200,),
    ),
    Case(
        "POST /api/chat",
        "path traversal as session",
        "customer",
        "POST",
        "/api/chat",
        _json({"session": TRAVERSAL, "text": "hi"}),
    ),
    Case("POST /api/chat", "SQL as session", "customer", "POST", "/api/chat", _json({"session": SQL, "text": "hi"})),
    Case(
        "POST /api/chat",
        "forged button payload",
        "customer",
        "POST",
        "/api/chat",
        _json({"session": "s1", "payload": "/restart; rm -rf /"}),
    ),
    Case(
        "POST /api/chat",
        "form-encoded body",
        "customer",
        "POST",
        "/api/chat",
        _raw(b"session=s1&text=hi", "application/x-www-form-urlencoded"),
    ),
    Case(
        "GET /api/chat/<session>/messages",
        "path traversal",
        "customer",
        "GET",
        "/api/chat/..%2F..%2Fetc%2Fpasswd/messages",
        ok=(404,),
    ),
    Case(
        "GET /api/chat/<session>/messages",
        "after= not a number",
        "customer",
        "GET",
        "/api/chat/s1/messages?after=1;DROP TABLE messages",
    ),
    Case(
        "GET /api/chat/<session>/messages", "unknown session", "customer", "GET", "/api/chat/nobody/messages", ok=(404,)
    ),
    Case("GET /api/chat/<session>", "unknown session", "customer", "GET", "/api/chat/nobody", ok=(404,)),
    Case("GET /api/chat/<session>", "path traversal", "customer", "GET", "/api/chat/..%2Fx", ok=(404,)),
    Case("POST /api/chat/<session>/leave", "not queued", "customer", "POST", "/api/chat/nobody/leave", ok=(404,)),
    Case("POST /api/chat/rating", "array", "customer", "POST", "/api/chat/rating", _json([1, 2])),
    Case(
        "POST /api/chat/rating",
        "huge ticket id",
        "customer",
        "POST",
        "/api/chat/rating",
        _json({"session": "s1", "ticket": 10**30, "score": 5}),
    ),
    Case(
        "POST /api/chat",
        "huge message id",
        "customer",
        "POST",
        "/api/chat",
        _json({"session": "s1", "text": "hi", "after": 10**30}),
    ),
    Case("staff pages", "customer reveals a number", "customer", "POST", "/api/agent/tickets/1/contact", ok=(400, 401)),
    Case("staff pages", "curator reveals a number", "curator", "POST", "/api/agent/tickets/1/contact", ok=(403,)),
    Case(
        "POST /api/agent/tickets/<id>/attempts",
        "year 9999",
        "agent",
        "POST",
        "/api/agent/tickets/1/attempts",
        _json({"outcome": "no_answer", "next_try": "9999-12-31T23:59"}),
    ),
    Case("GET /api/agent/history", "superscript page", "agent", "GET", "/api/agent/history?page=%C2%B2"),
    Case("GET /static/<path>", "path traversal", "customer", "GET", "/static/..%2F..%2Fvar%2Fkefu.db", ok=(404,)),
    # Sign-in
    Case(
        "POST /login",
        "no CSRF token",
        "anonymous",
        "POST",
        "/login",
        {"data": {"name": "agent1", "password": "agent-pass-1"}},
        csrf=False,
    ),
    Case(
        "POST /login",
        "SQL injection as name",
        "anonymous",
        "POST",
        "/login",
        {"data": {"name": "' OR '1'='1", "password": "' OR '1'='1"}},
        ok=(401,),
    ),
    Case(
        "POST /login",
        "open redirect in next",
        "anonymous",
        "POST",
        "/login?next=//evil.example/",
        {"data": {"name": "agent1", "password": "agent-pass-1"}},
        ok=(302,),
    ),
    # Roles and sessions
    Case("staff pages", "customer on the agent API", "customer", "GET", "/api/agent/queue", ok=(401,)),
    Case("staff pages", "customer on the curator panel", "customer", "GET", "/curator/", ok=(302,)),
    Case("staff pages", "agent on the curator API", "agent", "GET", "/api/curator/gaps", ok=(403,)),
    Case(
        "staff pages",
        "agent on the editor",
        "agent",
        "POST",
        "/curator/kb/faq/save",
        {"data": {"id": "faq-x", "question": "q", "answer": "a", "article": "hall-manual", "base": ""}},
        ok=(403,),
    ),
    Case("staff pages", "replayed cookie after logout", "replay", "GET", "/api/agent/queue", ok=(401,)),
    # The agent's API
    Case(
        "POST /api/agent/tickets/<id>/reply",
        "no CSRF token",
        "agent",
        "POST",
        "/api/agent/tickets/1/reply",
        _json({"text": "hi"}),
        csrf=False,
    ),
    Case(
        "POST /api/agent/tickets/<id>/reply",
        "malformed JSON",
        "agent",
        "POST",
        "/api/agent/tickets/1/reply",
        _raw(MALFORMED),
        ok=(400, 409),
    ),
    Case(
        "POST /api/agent/tickets/<id>/notes",
        "wrong types",
        "agent",
        "POST",
        "/api/agent/tickets/1/notes",
        _json({"text": {"a": 1}}),
    ),
    Case(
        "POST /api/agent/tickets/<id>/notes",
        "script note",
        "agent",
        "POST",
        "/api/agent/tickets/1/notes",
        _json({"text": SCRIPT}),
        ok=(200,),
    ),
    Case(
        "GET /api/agent/tickets/<id>", "SQL as ticket id", "agent", "GET", "/api/agent/tickets/1%20OR%201=1", ok=(404,)
    ),
    Case("GET /api/agent/lookup", "empty question", "agent", "GET", "/api/agent/lookup?q="),
    Case(
        "GET /api/agent/lookup",
        "30,000-character question (cut to 1,000)",
        "agent",
        "GET",
        "/api/agent/lookup?q=" + "客" * 30000,
        ok=(200,),
    ),
    Case(
        "GET /api/agent/lookup",
        "SQL and script question",
        "agent",
        "GET",
        "/api/agent/lookup?q=%27%3B%20DROP%20TABLE%20faqs%3B%20--%3Cscript%3E",
        ok=(200,),
    ),
    # The curator's side
    Case(
        "POST /api/curator/gaps/faq",
        "no CSRF token",
        "curator",
        "POST",
        "/api/curator/gaps/faq",
        _json({"gap_ids": [1]}),
        csrf=False,
    ),
    Case(
        "POST /api/curator/gaps/faq",
        "wrong types",
        "curator",
        "POST",
        "/api/curator/gaps/faq",
        _json({"gap_ids": "1,2", "question": 5}),
    ),
    Case(
        "POST /api/curator/gaps/dismiss",
        "invalid UTF-8",
        "curator",
        "POST",
        "/api/curator/gaps/dismiss",
        _raw(BAD_UTF8),
    ),
    Case(
        "POST /api/curator/gaps/attach",
        "path traversal as entry id",
        "curator",
        "POST",
        "/api/curator/gaps/attach",
        _json({"gap_ids": [1], "faq_id": TRAVERSAL}),
    ),
    Case(
        "GET /curator/kb/<kind>/<id>",
        "path traversal in article id",
        "curator",
        "GET",
        "/curator/kb/article/..%2F..%2Fetc%2Fpasswd",
        ok=(404,),
    ),
    Case("GET /curator/kb/<kind>/<id>", "unknown kind", "curator", "GET", "/curator/kb/recipe/x", ok=(404,)),
    Case(
        "POST /curator/kb/<kind>/save",
        "path traversal as new id",
        "curator",
        "POST",
        "/curator/kb/article/save",
        {"data": {"id": TRAVERSAL, "title": "t", "category": "c", "body": "正文", "base": ""}},
    ),
    Case(
        "POST /curator/kb/<kind>/save",
        "no CSRF token",
        "curator",
        "POST",
        "/curator/kb/faq/save",
        {"data": {"id": "faq-x", "question": "q", "answer": "a", "article": "hall-manual", "base": ""}},
        csrf=False,
    ),
    Case(
        "POST /curator/kb/<kind>/save",
        "SQL and script in an answer",
        "curator",
        "POST",
        "/curator/kb/faq/save",
        {
            "data": {
                "id": "faq-hostile",
                "question": "问题",
                "answer": SQL + SCRIPT,
                "article": "hall-manual",
                "base": "",
            }
        },
        ok=(302,),
    ),
    Case(
        "POST /curator/kb/<kind>/save",
        "5 MB body",
        "curator",
        "POST",
        "/curator/kb/article/save",
        {"data": {"id": "big", "body": "x" * 5_000_000}},
        ok=(413,),
    ),
    Case(
        "POST /curator/kb/article/import",
        "binary upload",
        "curator",
        "POST",
        "/curator/kb/article/import",
        {"data": {"file": (b"\x89PNG\r\n\x1a\n\x00\x00", "x.png")}, "content_type": "multipart/form-data"},
    ),
    Case(
        "POST /curator/kb/article/import",
        "path traversal file name",
        "curator",
        "POST",
        "/curator/kb/article/import",
        {"data": {"file": ("# 标题\n\n正文".encode(), "../../etc/passwd.md")}, "content_type": "multipart/form-data"},
        ok=(200,),
    ),
    Case(
        "POST /curator/kb/article/import",
        "3 MB upload",
        "curator",
        "POST",
        "/curator/kb/article/import",
        {"data": {"file": (b"a" * 3_000_000, "big.txt")}, "content_type": "multipart/form-data"},
        ok=(413,),
    ),
    Case(
        "POST /api/curator/import",
        "no files",
        "curator",
        "POST",
        "/api/curator/import",
        {"data": {}, "content_type": "multipart/form-data"},
    ),
    Case(
        "POST /api/curator/import",
        "a zip bomb named .docx (refused when read)",
        "curator",
        "POST",
        "/api/curator/import",
        {"data": {"files": (ZIP_BOMB, "report.docx")}, "content_type": "multipart/form-data"},
        ok=(202,),
    ),
    Case(
        "POST /api/curator/import",
        "YAML alias bomb in a Markdown file's front matter",
        "curator",
        "POST",
        "/api/curator/import",
        {
            "data": {"files": (f"---\n{ALIAS_BOMB}title: *i\n---\n正文。".encode(), "bomb.md")},
            "content_type": "multipart/form-data",
        },
        ok=(202,),
    ),
    Case(
        "POST /api/curator/import",
        "path traversal file name",
        "curator",
        "POST",
        "/api/curator/import",
        {"data": {"files": ("第一条 正文。".encode(), "../../etc/passwd.txt")}, "content_type": "multipart/form-data"},
        ok=(202,),
    ),
    Case(
        "POST /api/curator/import",
        "an agent",
        "agent",
        "POST",
        "/api/curator/import",
        {"data": {"files": (b"x", "a.txt")}, "content_type": "multipart/form-data"},
        ok=(403,),
    ),
    Case(
        "GET /api/curator/import/<job>",
        "path in the job id",
        "curator",
        "GET",
        "/api/curator/import/..%2F..%2Fetc",
        ok=(404,),
    ),
    Case(
        "POST /api/curator/import/<job>/save",
        "unknown job",
        "curator",
        "POST",
        "/api/curator/import/0123456789abcdef01234567/save",
        _json({}),
        ok=(404,),
    ),
    Case(
        "POST /curator/kb/revisions/<id>/restore",
        "unknown revision",
        "curator",
        "POST",
        "/curator/kb/revisions/999999/restore",
        {"data": {}},
        ok=(404,),
    ),
    Case(
        "GET /curator/hit-test",
        "script question",
        "curator",
        "GET",
        "/curator/hit-test?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        ok=(200,),
    ),
    Case("GET /curator/dashboard", "days= not a number", "curator", "GET", "/curator/dashboard?days=-1;x", ok=(200,)),
]


class AnyRasa:
    """Rasa's REST channel, answering every message with one line."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/status":
            return httpx.Response(200, json={})
        return httpx.Response(200, json=[{"recipient_id": "x", "text": "好的。"}])


def make_world(settings, encoder):
    """The app on an indexed small knowledge base, with staff accounts and one waiting ticket."""
    from indexer.build import Indexer
    from kb.database import Database
    from kb.desk.accounts import Accounts
    from kb.desk.conversations import Conversations
    from kb.desk.tickets import Tickets
    from kb.loader import load_knowledge_base
    from kb.store import Store
    from web import create_app

    db = Database.open(settings.database)
    store = Store(db)
    Indexer(store, [encoder], settings).sync(*load_knowledge_base(settings.kb_dir))
    accounts = Accounts(db)
    accounts.add("agent1", "agent-pass-1", "agent")
    accounts.add("curator1", "curator-pass-1", "curator")
    Conversations(db).get_or_create("s1")
    Tickets(db).claim(Tickets(db).open("s1", "asked", "hi").id, "agent1")  # the agent's own: notes are its agent's
    app = create_app(
        {
            "KEFU_SETTINGS": settings.replace(
                chat_limit_session=0,
                chat_limit_client=0,
                chat_limit_reads=0,
                chat_limit_reads_client=0,
                chat_limit_malformed=0,
            ),
            "RASA_TRANSPORT": httpx.MockTransport(AnyRasa()),
            "SECRET_KEY": "t",
        }
    )
    return app, store


def signed_in(app, name: str, password: str):
    """A test client signed in as this staff member, and its CSRF token."""
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    page = client.get("/agent/" if name.startswith("agent") else "/curator/kb").get_data(as_text=True)
    return client, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def clients(app) -> dict:
    """One client per kind of caller."""
    customer = app.test_client()
    agent, agent_token = signed_in(app, "agent1", "agent-pass-1")
    curator, curator_token = signed_in(app, "curator1", "curator-pass-1")
    replay_source, token = signed_in(app, "agent1", "agent-pass-1")
    kept = replay_source.get_cookie("session").value
    replay_source.post("/logout", data={"csrf_token": token})
    replay = app.test_client()
    replay.set_cookie("session", kept)
    return {
        "app": app,
        "customer": (customer, ""),
        "agent": (agent, agent_token),
        "curator": (curator, curator_token),
        "replay": (replay, token),
    }


def send(case: Case, callers: dict):
    """Make the request; returns the response."""
    if case.who == "anonymous":
        client = callers["app"].test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    else:
        client, token = callers[case.who]
    kwargs = {k: (dict(v) if isinstance(v, dict) else v) for k, v in case.kwargs.items()}
    data = kwargs.get("data")
    if isinstance(data, dict):  # form posts carry the token as a field, files as (BytesIO, name)
        import io

        data = {k: ((io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v) for k, v in data.items()}
        if case.csrf:
            data["csrf_token"] = token
        kwargs["data"] = data
    headers = {"X-CSRFToken": token} if case.csrf and case.who not in ("customer", "anonymous") else {}
    return client.open(case.path, method=case.method, headers=headers, **kwargs)


def outcome(response) -> str:
    """What the caller got, in a few words."""
    if response.is_json:
        body = response.get_json(silent=True) or {}
        if "error" in body:
            return f"JSON error: {str(body['error'])[:70]}"
        return "JSON reply" + (f" ({len(body.get('messages', []))} messages)" if "messages" in body else "")
    if response.status_code in (301, 302, 303):
        return f"redirect to {response.headers.get('Location', '')[:40]}"
    text = response.get_data(as_text=True)
    found = re.search(r'role="alert">([^<]{1,70})', text) or re.search(r"<title>([^<]{1,60})</title>", text)
    return f"page: {found.group(1).strip()}" if found else f"{response.mimetype}"
