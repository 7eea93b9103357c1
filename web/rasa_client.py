"""The web app's door to the bot: Rasa's REST channel and its HTTP API over httpx (transport injectable for
tests). The HTTP API wants the token Rasa was started with (indexer.servers.rasa_token); the REST channel not.

With several Rasa servers (the rasa_instances setting; they share the tracker store and the Redis lock store)
each conversation has its own order of them, from a stable hash of its id with each server's URL (rendezvous
hashing: the same on every web instance, whatever order it lists them in, and after a restart; a server taken
off the list moves only its own conversations): a message goes to the first, and to the next only when a server
refuses the connection, which means it never saw the message. A message that reached a server and got no answer
is not sent again (Rasa may have acted on it); the customer hears that the bot is unavailable, as with one server."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

import httpx

log = logging.getLogger(__name__)

T = TypeVar("T")


class BotUnavailable(RuntimeError):
    """Rasa (or its action server) did not answer properly."""


RESET_SLOTS = {"offered_human": False, "abstain_count": 0.0, "handoff_reason": None, "callback_step": None}
CONNECT_SECONDS = 2.0  # a server that does not take the connection in this time is passed over for the next


def server_identity(url: str) -> str:
    """A Rasa server's URL as every web instance spells it: scheme and host lower-case, the port always given
    (80/443 when the URL leaves it out), no trailing slash; 'HTTP://Rasa-A/' and 'http://rasa-a:80' are one."""
    parsed = httpx.URL(url)
    port = parsed.port or {"https": 443}.get(parsed.scheme, 80)
    return f"{parsed.scheme}://{parsed.host}:{port}{parsed.path.rstrip('/')}"


def instance_order(key: str, urls: Sequence[str]) -> list[int]:
    """The order in which a conversation (or any key) tries the servers at urls: their positions in urls, ranked
    by a hash of the key with each server's identity (rendezvous hashing), never with its place in the list, so
    web instances listing the servers in another order agree and a server taken off the list (first, middle or
    last) moves only its own conversations. sha256, not Python's per-process hash: every instance must agree."""

    def weight(index: int) -> bytes:
        return hashlib.sha256(f"{server_identity(urls[index])}|{key}".encode()).digest()

    return sorted(range(len(urls)), key=weight, reverse=True)


class RasaClient:
    """Sends customer messages to Rasa and returns its replies; pauses and resumes conversations. base_urls: one
    Rasa server's URL or several (a conversation keeps to one while it answers, see the module's note)."""

    def __init__(
        self,
        base_urls: str | Sequence[str],
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ):
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not urls:
            raise ValueError("RasaClient needs at least one Rasa URL")
        limits = httpx.Timeout(timeout, connect=min(timeout, CONNECT_SECONDS))
        self._servers = [httpx.Client(base_url=url, timeout=limits, transport=transport) for url in urls]
        self._urls = urls
        # Rasa reads the token from the query string only; customers' messages go without it.
        self._api = {"token": token} if token else {}

    def _first_reachable(self, key: str, call: Callable[[httpx.Client], T]) -> T:
        """call on the key's servers in its order until one takes the connection; the last ConnectError (an
        httpx.HTTPError) when none does. Other errors are raised at once: the server had the request."""
        refused: httpx.TransportError = httpx.ConnectError("no Rasa server")
        for index in instance_order(key, self._urls):
            try:
                return call(self._servers[index])
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if len(self._servers) > 1:
                    log.warning("Rasa at %s refused the connection: trying the next", self._servers[index].base_url)
                refused = exc
        raise refused

    def send(self, sender: str, message: str, metadata: dict | None = None) -> list[dict]:
        """Rasa's replies to one message (text or a '/intent{…}' payload); metadata, if any, reaches the actions
        as the message's metadata (the REST channel's own field)."""
        body: dict = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        try:
            response = self._first_reachable(sender, lambda http: http.post("/webhooks/rest/webhook", json=body))
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
            response = self._first_reachable(
                text, lambda http: http.post("/model/parse", json={"text": text}, params=self._api, timeout=5.0)
            )
            response.raise_for_status()
            intent = response.json().get("intent") or {}
            return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)
        except (httpx.HTTPError, ValueError, AttributeError, TypeError):
            return None

    def healthy(self) -> bool:
        """Whether a Rasa server answers its status endpoint (any of them: each can take any conversation). They
        are asked at once, so one blackholed server costs its 2 s timeout, not the others' too."""

        def answers(http: httpx.Client) -> bool:
            try:
                return http.get("/status", params=self._api, timeout=2.0).status_code == 200
            except httpx.HTTPError:
                return False

        pool = ThreadPoolExecutor(max_workers=len(self._servers), thread_name_prefix="kefu-rasa-status")
        try:
            return any(future.result() for future in as_completed(pool.submit(answers, h) for h in self._servers))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # the first that answers is enough

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
            path = f"/conversations/{sender}/tracker/events"
            self._first_reachable(
                sender, lambda http: http.post(path, json=events, params=self._api)
            ).raise_for_status()
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
