"""Hostile input on every endpoint (the table in docs/RELIABILITY.md) and a property-based fuzz of the JSON API."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from kb.loader import load_knowledge_base

from hostile import CASES, clients, make_world, send


@pytest.fixture
def world(settings, encoder):
    app, store = make_world(settings, encoder)
    return app, store, clients(app)


def test_every_hostile_request_gets_a_clear_answer_and_nothing_is_lost(world, settings):
    app, store, callers = world
    articles_before, faqs_before = load_knowledge_base(settings.kb_dir)
    failures = []
    for case in CASES:
        response = send(case, callers)
        body = response.get_data(as_text=True)
        problems = []
        if response.status_code not in case.ok:
            problems.append(f"status {response.status_code}, wanted {case.ok}")
        if "Traceback" in body or "Werkzeug Debugger" in body:
            problems.append("a stack trace")
        if case.path.startswith("/api/") and response.status_code != 302 and not response.is_json:
            problems.append(f"API answered {response.mimetype}, not JSON")
        if response.mimetype == "text/html" and "<script>alert(1)</script>" in body:
            problems.append("unescaped script in the reply")
        if problems:
            failures.append(f"{case.group} / {case.what}: {'; '.join(problems)}")
    assert failures == [], "\n".join(failures)
    # Nothing was lost or written where it should not be: tables, transcripts, the knowledge base.
    assert {"messages", "conversations", "faqs", "gaps", "handoffs"} <= set(store.db.table_names())
    customer_said = [row[0] for row in store.db.execute("SELECT text FROM messages WHERE sender = 'customer'")]
    assert "'; DROP TABLE messages; --" in customer_said
    articles, faqs = load_knowledge_base(settings.kb_dir)
    assert [a.id for a in articles] == [a.id for a in articles_before]
    assert {e.id for e in faqs} == {e.id for e in faqs_before} | {"faq-hostile"}
    assert not list(settings.kb_dir.parent.glob("**/passwd*"))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
CHAT_BODIES = JSON | st.fixed_dictionaries(
    {},
    optional={
        "session": JSON | st.from_regex(r"[A-Za-z0-9_-]{1,70}", fullmatch=True),
        "text": JSON | st.text(max_size=2100),
        "payload": JSON | st.text(max_size=60),
    },
)
FUZZ = hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=CHAT_BODIES)
def test_fuzz_chat_api_always_answers_json_and_never_fails(world, body):
    _, _, callers = world
    customer, _ = callers["customer"]
    response = customer.post("/api/chat", json=body)
    assert response.status_code in (200, 400, 404, 413) and response.is_json  # 404: a session without its key
    data = response.get_json()
    assert ("error" in data) if response.status_code != 200 else {"session", "state", "messages"} <= set(data)


@FUZZ
@given(session=st.text(max_size=80), after=st.text(max_size=20))
def test_fuzz_polling_never_fails(world, session, after):
    _, _, callers = world
    customer, _ = callers["customer"]
    from urllib.parse import quote

    response = customer.get(f"/api/chat/{quote(session, safe='')}/messages", query_string={"after": after})
    assert response.status_code in (200, 308, 400, 404, 405) and "Traceback" not in response.get_data(as_text=True)


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/api/agent/tickets/1/reply",
            "/api/agent/tickets/1/notes",
            "/api/agent/tickets/1/transfer",
            "/api/agent/tickets/1/attempts",
            "/api/agent/tickets/1/take",
            "/api/curator/gaps/faq",
            "/api/curator/gaps/dismiss",
            "/api/curator/gaps/attach",
        ]
    ),
    body=JSON,
)
def test_fuzz_staff_json_api_never_fails(world, path, body):
    _, _, callers = world
    client, token = callers["curator" if "curator" in path else "agent"]
    response = client.post(path, json=body, headers={"X-CSRFToken": token})
    assert response.status_code in (200, 400, 404, 409) and response.is_json
