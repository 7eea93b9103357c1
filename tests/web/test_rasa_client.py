"""The web app's client for Rasa: the HTTP API's token goes with every call to the API and nowhere else."""

from __future__ import annotations

import threading

import httpx
import pytest

from indexer.servers import rasa_token
from web import create_app
from web.rasa_client import BotUnavailable, RasaClient


class Recorder:
    """Rasa on the wire: what path each call asked for and with which token."""

    def __init__(self):
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.url.path, request.url.params.get("token")))
        if request.url.path == "/model/parse":
            return httpx.Response(200, json={"intent": {"name": "greet", "confidence": 0.9}})
        return httpx.Response(200, json=[] if request.url.path.startswith("/webhooks") else {})


def test_the_token_goes_with_the_http_api_calls_and_not_with_customers_messages():
    rasa = Recorder()
    client = RasaClient("http://rasa", token="t0ken", transport=httpx.MockTransport(rasa))
    client.send("s1", "你好")
    assert client.intent("你好") == ("greet", 0.9)
    client.resume("s1")
    assert client.healthy()
    assert rasa.calls == [
        ("/webhooks/rest/webhook", None),  # the REST channel needs none: the token stays off the busiest path
        ("/model/parse", "t0ken"),
        ("/conversations/s1/tracker/events", "t0ken"),
        ("/status", "t0ken"),
    ]


def test_the_web_app_uses_the_token_rasa_was_started_with(settings):
    rasa = Recorder()
    app = create_app({"KEFU_SETTINGS": settings, "RASA_TRANSPORT": httpx.MockTransport(rasa), "SECRET_KEY": "t"})
    with app.app_context():
        from web.db import rasa as rasa_client

        rasa_client().resume("s1")
    assert rasa.calls == [("/conversations/s1/tracker/events", rasa_token(settings.data_dir))]


def test_handing_a_conversation_back_says_whether_the_bot_has_it(caplog):
    up = RasaClient("http://rasa", token="t", transport=httpx.MockTransport(Recorder()))
    assert up.handed_back("s1") is True
    down = RasaClient("http://rasa", token="t", transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    assert down.handed_back("s1") is False  # never raises: the desk's close or leave has happened already
    assert "could not resume conversation s1" in caplog.text


class Instances:
    """Several Rasa servers on the wire: which server each call reached; the servers named down refuse the
    connection, as a killed process's port does."""

    def __init__(self, *down: str):
        self.down = set(down)
        self.reached: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.reached.append((request.url.host, request.url.path))
        return httpx.Response(
            200, json=[{"text": request.url.host}] if request.url.path.startswith("/webhooks") else {}
        )


SERVERS = ["http://rasa-a", "http://rasa-b", "http://rasa-c"]


def server_of(client: RasaClient, sender: str) -> str:
    [reply] = client.send(sender, "你好")
    return reply["text"]


def test_a_conversation_keeps_to_one_rasa_server_and_conversations_spread_over_all():
    wire = Instances()
    client = RasaClient(SERVERS, transport=httpx.MockTransport(wire))
    first = {sender: server_of(client, sender) for sender in (f"c{i}" for i in range(60))}
    assert {sender: server_of(client, sender) for sender in first} == first
    assert set(first.values()) == {"rasa-a", "rasa-b", "rasa-c"}


def test_every_web_instance_sends_a_conversation_to_the_same_server():
    # another process (another web instance, or this one restarted) must agree: the choice is not Python's hash
    one = RasaClient(SERVERS, transport=httpx.MockTransport(Instances()))
    other = RasaClient(list(SERVERS), transport=httpx.MockTransport(Instances()))
    assert [server_of(one, f"c{i}") for i in range(20)] == [server_of(other, f"c{i}") for i in range(20)]


def test_a_message_refused_by_its_server_goes_to_the_next_and_comes_back_when_it_returns():
    wire = Instances()
    client = RasaClient(SERVERS, transport=httpx.MockTransport(wire))
    home = server_of(client, "c1")
    wire.down.add(home)
    elsewhere = server_of(client, "c1")
    assert elsewhere != home and server_of(client, "c1") == elsewhere  # the same next one each time
    wire.down.clear()
    assert server_of(client, "c1") == home


def test_taking_a_server_off_the_list_moves_only_its_own_conversations():
    before = RasaClient(SERVERS, transport=httpx.MockTransport(Instances()))
    after = RasaClient(SERVERS[:2], transport=httpx.MockTransport(Instances()))
    for sender in (f"c{i}" for i in range(40)):
        if (home := server_of(before, sender)) != "rasa-c":
            assert server_of(after, sender) == home


def test_with_every_server_refusing_the_customer_hears_the_bot_is_unavailable():
    client = RasaClient(SERVERS, transport=httpx.MockTransport(Instances("rasa-a", "rasa-b", "rasa-c")))
    with pytest.raises(BotUnavailable):
        client.send("c1", "你好")
    assert not client.healthy()
    assert client.handed_back("c1") is False


def test_a_message_a_server_took_but_did_not_answer_is_not_sent_to_another():
    reached = []

    def slow_then_fine(request: httpx.Request) -> httpx.Response:
        reached.append(request.url.host)
        raise httpx.ReadTimeout("no answer", request=request)  # Rasa may have acted on it: never twice

    client = RasaClient(SERVERS, transport=httpx.MockTransport(slow_then_fine))
    with pytest.raises(BotUnavailable):
        client.send("c1", "你好")
    assert len(reached) == 1


def test_status_resume_and_parse_go_to_any_live_server():
    wire = Instances("rasa-a", "rasa-b")
    client = RasaClient(SERVERS, token="t", transport=httpx.MockTransport(wire))
    assert client.healthy()
    client.resume("c1")
    assert client.intent("你好") == ("", 0.0)
    assert wire.reached == [
        ("rasa-c", "/status"),
        ("rasa-c", "/conversations/c1/tracker/events"),
        ("rasa-c", "/model/parse"),
    ]


def test_the_web_app_spreads_over_the_configured_rasa_instances(settings):
    wire = Instances()
    spread = settings.replace(
        rasa_instances="rasa-a:5005, rasa-b:5006",
        tracker_store_url="postgresql://db/rasa",
        lock_store_url="redis://cache/1",
    )
    app = create_app({"KEFU_SETTINGS": spread, "RASA_TRANSPORT": httpx.MockTransport(wire), "SECRET_KEY": "t"})
    with app.app_context():
        from web.db import rasa as rasa_client

        hosts = {rasa_client().send(f"c{i}", "你好")[0]["text"] for i in range(20)}
    assert hosts == {"rasa-a", "rasa-b"}


def test_taking_a_middle_server_off_the_list_moves_only_its_own_conversations():
    # ranked by the server itself, not its place in the list: the servers after it keep their conversations
    before = RasaClient(SERVERS, transport=httpx.MockTransport(Instances()))
    after = RasaClient([SERVERS[0], SERVERS[2]], transport=httpx.MockTransport(Instances()))
    moved = 0
    for sender in (f"c{i}" for i in range(60)):
        home = server_of(before, sender)
        if home == "rasa-b":
            moved += 1
        else:
            assert server_of(after, sender) == home
    assert moved  # the removed server had conversations of its own


def test_web_instances_listing_the_servers_in_another_order_agree():
    one = RasaClient(SERVERS, transport=httpx.MockTransport(Instances()))
    other = RasaClient(list(reversed(SERVERS)), transport=httpx.MockTransport(Instances()))
    spelled = RasaClient(
        ["HTTP://RASA-C/", "http://rasa-a:80", "http://rasa-b"], transport=httpx.MockTransport(Instances())
    )
    senders = [f"c{i}" for i in range(40)]
    assert [server_of(one, s) for s in senders] == [server_of(other, s) for s in senders]
    assert [server_of(one, s) for s in senders] == [server_of(spelled, s) for s in senders]


def test_the_rasa_instances_are_checked_at_once_not_one_after_another():
    # each server's status answers only once all three have been asked: one after another, the first waits
    # on the others forever (a blackholed machine made /healthz slower than the balancer's check)
    all_asked = threading.Barrier(3, timeout=20)

    def status(request: httpx.Request) -> httpx.Response:
        all_asked.wait()
        return httpx.Response(200 if request.url.host == "rasa-c" else 503, json={})

    assert RasaClient(SERVERS, token="t", transport=httpx.MockTransport(status)).healthy()
