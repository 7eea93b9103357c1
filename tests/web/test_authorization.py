"""Who may use which staff endpoint: every route of the app against every role and an anonymous caller.

ACCESS below is the one declared table. A route the app has and the table does not name fails
test_every_endpoint_is_declared, so a new endpoint cannot ship without someone deciding who may use it.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from kb.desk.accounts import Accounts

from staff import csrf_of, sign_in, small_indexed_app

PUBLIC = "public"  # the customers' chat API, sign-in, the health check, the demo page, static files
AGENT = ("agent", "admin")
CURATOR = ("curator", "admin")
SUPERVISOR = ("supervisor", "admin")
ADMIN = ("admin",)
ROLES = ("agent", "curator", "supervisor", "admin")
CALLERS = (None, *ROLES)  # None: nobody signed in

ACCESS: dict[str, str | tuple[str, ...]] = {
    # every signed-in staff member: their own password
    "GET /password": ROLES,
    "POST /password": ROLES,
    # admins only: staff accounts and the audit log
    "GET /admin/accounts": ADMIN,
    "POST /admin/accounts/<name>/<change>": ADMIN,
    "GET /admin/audit": ADMIN,
    "POST /supervisor/tickets/<int:ticket_id>/close": SUPERVISOR,
    # public
    "GET /": PUBLIC,
    "GET /favicon.ico": PUBLIC,
    "GET /healthz": PUBLIC,
    "GET /livez": PUBLIC,
    "GET /static/<path:filename>": PUBLIC,
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": PUBLIC,  # ends whatever session the cookie names; nothing to protect
    "POST /api/chat": PUBLIC,
    "POST /api/chat/rating": PUBLIC,
    "GET /api/chat/<session>": PUBLIC,
    "GET /api/chat/<session>/messages": PUBLIC,
    "POST /api/chat/<session>/leave": PUBLIC,
    # the agent console
    "GET /agent/": AGENT,
    "POST /api/agent/status": AGENT,
    "GET /api/agent/queue": AGENT,
    "GET /api/agent/callbacks": AGENT,
    "GET /api/agent/agents": AGENT,
    "GET /api/agent/canned": AGENT,
    "GET /api/agent/history": AGENT,
    "GET /api/agent/lookup": AGENT,
    "GET /api/agent/tickets/<int:ticket_id>": AGENT,
    "GET /api/agent/tickets/<int:ticket_id>/suggest": AGENT,
    "POST /api/agent/tickets/<int:ticket_id>/claim": AGENT,
    "POST /api/agent/tickets/<int:ticket_id>/reply": AGENT,
    # a supervisor may close any chat and note any ticket (the ticket keeps its agent)
    "POST /api/agent/tickets/<int:ticket_id>/notes": ("agent", "supervisor", "admin"),
    "POST /api/agent/tickets/<int:ticket_id>/close": ("agent", "supervisor", "admin"),
    "POST /api/agent/tickets/<int:ticket_id>/transfer": AGENT,
    "POST /api/agent/tickets/<int:ticket_id>/take": AGENT,
    "POST /api/agent/tickets/<int:ticket_id>/attempts": AGENT,
    "POST /api/agent/tickets/<int:ticket_id>/contact": ("agent", "supervisor", "admin"),
    # the curator's pages
    "GET /curator/": CURATOR,
    "GET /curator/dashboard": ("curator", "supervisor", "admin"),  # supervisors read the agents' ratings
    "GET /curator/hit-test": CURATOR,
    "GET /api/curator/gaps": CURATOR,
    "POST /api/curator/gaps/faq": CURATOR,
    "POST /api/curator/gaps/dismiss": CURATOR,
    "POST /api/curator/gaps/attach": CURATOR,
    "GET /api/curator/faqs": CURATOR,
    "GET /curator/lexicon": CURATOR,
    "POST /curator/lexicon": CURATOR,
    "POST /api/curator/lexicon": CURATOR,
    "GET /curator/canned": CURATOR,
    "POST /curator/canned": CURATOR,
    "POST /curator/canned/<int:reply_id>": CURATOR,
    "POST /curator/canned/<int:reply_id>/delete": CURATOR,
    "GET /curator/kb": CURATOR,
    "GET /curator/kb/<kind>/new": CURATOR,
    "GET /curator/kb/<kind>/<item_id>": CURATOR,
    "GET /curator/kb/<kind>/<item_id>/history": CURATOR,
    "POST /curator/kb/<kind>/save": CURATOR,
    "POST /curator/kb/<kind>/<item_id>/delete": CURATOR,
    "POST /curator/kb/article/import": CURATOR,
    "POST /curator/kb/revisions/<int:revision_id>/restore": CURATOR,
    "GET /curator/import": CURATOR,
    "POST /api/curator/import": CURATOR,
    "GET /api/curator/import/<job_id>": CURATOR,
    "POST /api/curator/import/<job_id>/save": CURATOR,
    # the supervisor's view
    "GET /supervisor/": SUPERVISOR,
}
STAFF = {key: roles for key, roles in ACCESS.items() if roles != PUBLIC}
MADE_UP = {"int": "999999", "default": "x", "path": "x"}  # a URL parameter's value, by converter
PASSWORD = "matrix-pass-1"


def routes(app) -> set[str]:
    """Every 'METHOD rule' the app answers (HEAD and OPTIONS are Flask's own)."""
    return {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    }


def url_of(rule: str) -> str:
    """The rule with made-up values of the right type in place of its parameters."""
    parts = rule.replace(">", "<").split("<")
    for i in range(1, len(parts), 2):
        converter = parts[i].split(":")[0] if ":" in parts[i] else "default"
        parts[i] = MADE_UP[converter]
    return "".join(parts)


@pytest.fixture(scope="module")
def app(tmp_path_factory, e5_backend):
    """The web app on a small indexed knowledge base, one account per role."""
    app, _, db = small_indexed_app(tmp_path_factory.mktemp("authz"), e5_backend)
    for role in ROLES:
        Accounts(db).add(f"matrix-{role}", PASSWORD, role)
    return app


@pytest.fixture(scope="module")
def callers(app):
    """A test client per caller (None: anonymous), each with its CSRF token."""
    clients = {}
    for role in CALLERS:
        client = app.test_client()
        if role:
            assert sign_in(client, f"matrix-{role}", PASSWORD).status_code == 302
        clients[role] = (client, csrf_of(client.get("/login").get_data(as_text=True)))
    return clients


def call(client, key: str, token: str | None):
    """Call the endpoint with made-up parameters and an empty body (the CSRF token as a header if given)."""
    method, rule = key.split(" ", 1)
    headers = {"X-CSRFToken": token} if token else {}
    return client.open(url_of(rule), method=method, headers=headers)


def test_every_endpoint_is_declared(app):
    undeclared = sorted(routes(app) - ACCESS.keys())
    assert not undeclared, "\n".join(
        f"new endpoint {key}: declare who may use it in ACCESS (tests/web/test_authorization.py)" for key in undeclared
    )
    gone = sorted(ACCESS.keys() - routes(app))
    assert not gone, f"ACCESS names endpoints the app no longer has, remove them: {gone}"


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c or "anonymous")
@pytest.mark.parametrize("key", sorted(STAFF))
def test_staff_endpoint_lets_in_only_its_roles(callers, key, caller):
    client, token = callers[caller]
    response = call(client, key, token)
    path = url_of(key.split(" ", 1)[1])
    if caller is None and path.startswith("/api/"):
        assert response.status_code == 401, f"{key}: anonymous callers must get 401, got {response.status_code}"
    elif caller is None:
        assert response.status_code == 302, f"{key}: anonymous callers must be sent to sign in"
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login" and parse_qs(location.query)["next"] == [path], response.headers["Location"]
    elif caller not in STAFF[key]:
        assert response.status_code == 403, f"{key}: a {caller} must get 403, got {response.status_code}"
    else:
        assert response.status_code not in (302, 401, 403), f"{key}: a {caller} was turned away"
        assert response.status_code < 500, f"{key}: a {caller} got {response.status_code}"


@pytest.mark.parametrize("key", sorted(k for k in STAFF if k.startswith("POST ")))
def test_staff_post_without_csrf_token_is_refused_before_the_view_runs(app, callers, key):
    endpoint = next(r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods and f"POST {r.rule}" == key)
    ran = []
    view = app.view_functions[endpoint]
    app.view_functions[endpoint] = lambda *a, **kw: ran.append(endpoint) or view(*a, **kw)
    try:
        client, _ = callers[STAFF[key][0]]  # a role allowed in, so only the missing token can stop it
        response = call(client, key, token=None)
    finally:
        app.view_functions[endpoint] = view
    assert response.status_code == 400 and not ran, f"{key} ran without a CSRF token ({response.status_code})"
