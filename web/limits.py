"""Moving-window rate limits through the `limits` library: counted in the web process by default, or in Redis
(the `redis_url` setting) so that several web instances behind a load balancer count together.

If Redis cannot be reached, the limits fail open: the call is let through and one warning is logged (and one
note when Redis answers again); while it is down, Redis is not asked again for RETRY_SECONDS, so a chat
turn does not wait on a connection timeout for every limiter. The chat stays up; a flood is then limited
only by the load balancer and the servers' own capacity, which is the lesser harm for a service desk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from indexer.settings import redacted

log = logging.getLogger(__name__)
RETRY_SECONDS = 15.0
TIMEOUT_SECONDS = 0.5  # a Redis on the local network answers in a millisecond: waiting longer only slows the chat


class LimitCounts:
    """Where the limits count: in this process ('' or memory://) or in Redis (redis://…), one per app."""

    def __init__(self, url: str = "", clock: Callable[[], float] = time.monotonic):
        self.url = url or "memory://"
        options = (
            {}
            if self.url.startswith("memory")
            else {
                "socket_connect_timeout": TIMEOUT_SECONDS,
                "socket_timeout": TIMEOUT_SECONDS,
            }
        )
        self.storage = storage_from_string(self.url, wrap_exceptions=True, **options)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.clock = clock
        self._down_until: float | None = None  # set while Redis is failing: until then, calls pass unasked
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        """Whether every instance given the same url counts together (Redis), not each on its own."""
        return not self.url.startswith("memory")

    def ask(self, call: Callable[[], float], fail_open: float) -> float:
        """call(), or fail_open when the storage cannot be reached (see the module's note)."""
        with self._lock:
            if self._down_until is not None and self.clock() < self._down_until:
                return fail_open
        try:
            answer = call()
        except StorageError as exc:
            with self._lock:
                if self._down_until is None:
                    log.warning(
                        "kefu: rate limits are not enforced: %s cannot be reached (%s)", redacted(self.url), exc
                    )
                self._down_until = self.clock() + RETRY_SECONDS
            return fail_open
        with self._lock:
            if self._down_until is not None:
                log.warning("kefu: rate limits are enforced again: %s answers", redacted(self.url))
                self._down_until = None
        return answer


class RateLimiter:
    """At most `limit` events per key in any `window` seconds (a moving window); a limit of 0 means no limit.
    name keeps this limiter's counts apart from the others' in the same storage."""

    def __init__(self, limit: int, window: int, name: str, counts: LimitCounts | None = None):
        self.limit, self.window, self.name = limit, window, name
        self.counts = counts or LimitCounts()
        self._item = RateLimitItemPerSecond(max(limit, 1), max(int(window), 1))

    def retry_after(self, key: str) -> float:
        """Seconds until this key may act again; 0 if it may act now (or the counts cannot be reached)."""
        if self.limit <= 0:
            return 0.0
        return self.counts.ask(lambda: self._wait(key), 0.0)

    def _wait(self, key: str) -> float:
        stats = self.counts.strategy.get_window_stats(self._item, self.name, key)
        return 0.0 if stats.remaining > 0 else max(stats.reset_time - time.time(), 0.01)

    def record(self, key: str) -> None:
        """Count one event for this key (not counted when the key is at its limit already)."""
        if self.limit > 0:
            self.counts.ask(lambda: float(self.counts.strategy.hit(self._item, self.name, key)), 0.0)

    def hit(self, key: str) -> float:
        """Count an event unless the key is over its limit; returns the wait (0 when counted)."""
        if self.limit <= 0:
            return 0.0
        counted = self.counts.ask(lambda: float(self.counts.strategy.hit(self._item, self.name, key)), 1.0)
        return 0.0 if counted else self.retry_after(key) or 0.01
