"""A customer's widget as the web tests drive it: the first message opens a conversation, the server hands
back its public id and its key, and every later call carries the key in the X-Kefu-Key header."""

from __future__ import annotations

from typing import Any

KEY_HEADER = "X-Kefu-Key"


class Customer:
    """One widget (one browser tab) talking to the chat API through a Flask test client."""

    def __init__(self, client: Any):
        self.client = client
        self.session: str | None = None
        self.key: str | None = None

    def headers(self) -> dict[str, str]:
        """The key header, once the server has issued a key."""
        return {KEY_HEADER: self.key} if self.key else {}

    def post(self, **body: Any) -> Any:
        """POST /api/chat with this conversation's id and key (none yet: it opens one); the response."""
        if self.session:
            body = {"session": self.session, **body}
        response = self.client.post("/api/chat", json=body, headers=self.headers())
        answer = response.get_json(silent=True) or {}
        if response.status_code == 200 and answer.get("key"):
            self.session, self.key = answer["session"], answer["key"]
        return response

    def say(self, **body: Any) -> dict:
        """POST /api/chat; the answer's JSON."""
        return self.post(**body).get_json()

    def get(self, path: str = "", **params: Any) -> Any:
        """GET /api/chat/<session><path> with the key; the response."""
        return self.client.get(f"/api/chat/{self.session}{path}", query_string=params, headers=self.headers())

    def poll(self, after: int = 0) -> dict:
        """The widget's poll: messages after `after`, the state, the chat to rate."""
        return self.get("/messages", after=after).get_json()

    def leave(self) -> Any:
        """POST /api/chat/<session>/leave; the response."""
        return self.client.post(f"/api/chat/{self.session}/leave", headers=self.headers())

    def rate(self, ticket: int, score: int, comment: str = "") -> Any:
        """POST /api/chat/rating for a chat of this conversation; the response."""
        body = {"session": self.session, "ticket": ticket, "score": score, "comment": comment}
        return self.client.post("/api/chat/rating", json=body, headers=self.headers())


def age(settings: Any, session: str, minutes: float) -> None:
    """Make everything in a conversation `minutes` older, as if the visitor had been away."""
    import datetime as dt

    from kb.clock import parse, stamp
    from kb.database import Database

    db = Database.open(settings.database)
    shift = dt.timedelta(minutes=minutes)
    for table, key in (("messages", "id"), ("conversations", "id")):
        for row in db[table].rows_where("conversation_id = ?" if table == "messages" else "id = ?", [session]):
            changed = {c: stamp(parse(row[c]) - shift) for c in ("created_at", "updated_at") if c in row}
            db[table].update(row[key], changed)


def customer(client: Any, name: str) -> Customer:
    """The customer a test calls `name` on this client, made on first use: the name stands for the
    conversation id the server makes (customer(client, name).session)."""
    table: dict[str, Customer] = client.__dict__.setdefault("kefu_customers", {})
    return table.setdefault(name, Customer(client))
