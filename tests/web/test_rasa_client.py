"""The web app's client for Rasa: the HTTP API's token goes with every call to the API and nowhere else."""

from __future__ import annotations

import httpx

from indexer.servers import rasa_token
from web import create_app
from web.rasa_client import RasaClient


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
