"""The web app's door to the bot: Rasa's REST channel and its HTTP API over httpx (transport injectable for
tests). The HTTP API wants the token Rasa was started with (indexer.servers.rasa_token); the REST channel not."""

from __future__ import annotations

import logging

import httpx

log = logging.getLogger(__name__)


class BotUnavailable(RuntimeError):
    """Rasa (or its action server) did not answer properly."""


RESET_SLOTS = {"offered_human": False, "abstain_count": 0.0, "handoff_reason": None, "callback_step": None}


class RasaClient:
    """Sends customer messages to Rasa and returns its replies; pauses and resumes conversations."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        # Rasa reads the token from the query string only; customers' messages go without it.
        self._api = {"token": token} if token else {}

    def send(self, sender: str, message: str, metadata: dict | None = None) -> list[dict]:
        """Rasa's replies to one message (text or a '/intent{…}' payload); metadata, if any, reaches the actions
        as the message's metadata (the REST channel's own field)."""
        body: dict = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        try:
            response = self._http.post("/webhooks/rest/webhook", json=body)
            response.raise_for_status()
            replies = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(f"the bot did not answer: {exc}") from None
        if not isinstance(replies, list):
            raise BotUnavailable("the bot answered with something that is not a list of messages")
        return replies

    def intent(self, text: str) -> tuple[str, float] | None:
        """The intent Rasa's NLU gives a message and its confidence (0–1), through Rasa's /model/parse;
        None when Rasa cannot be asked. Reads only: no conversation is touched."""
        try:
            response = self._http.post("/model/parse", json={"text": text}, params=self._api, timeout=5.0)
            response.raise_for_status()
            intent = response.json().get("intent") or {}
            return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)
        except (httpx.HTTPError, ValueError, AttributeError, TypeError):
            return None

    def healthy(self) -> bool:
        """Whether Rasa answers its status endpoint."""
        try:
            return self._http.get("/status", params=self._api, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def resume(self, sender: str) -> None:
        """Un-pause a conversation after an agent closed it, as if the bot had just started listening:
        the handoff's slots cleared and an action_listen, so the rules match the customer's next message
        (without it the policies saw an unknown state and the fallback action ran in a loop)."""
        events = [
            {"event": "resume"},
            *({"event": "slot", "name": name, "value": value} for name, value in RESET_SLOTS.items()),
            {"event": "action", "name": "action_listen"},
        ]
        try:
            self._http.post(f"/conversations/{sender}/tracker/events", json=events, params=self._api).raise_for_status()
        except httpx.HTTPError as exc:
            raise BotUnavailable(f"could not resume the conversation: {exc}") from None

    def handed_back(self, sender: str) -> bool:
        """resume, for the desk's closes and leaves (kb.desk.service): whether the bot has the conversation
        again; False, with a warning in the log, if Rasa cannot be reached (the customer's next message then
        meets the desk's rules until it can)."""
        try:
            self.resume(sender)
            return True
        except BotUnavailable:
            log.warning("could not resume conversation %s in Rasa", sender)
            return False


def merge_replies(replies: list[dict]) -> list[dict]:
    """Rasa's REST channel sends a reply's text and its custom payload as two messages: join them."""
    merged: list[dict] = []
    for reply in replies:
        custom = reply.get("custom") or {}
        if "text" not in reply and custom and merged:
            merged[-1]["custom"] = {**merged[-1].get("custom", {}), **custom}
            continue
        merged.append({"text": reply.get("text", ""), "buttons": reply.get("buttons", []), "custom": custom})
    return merged
