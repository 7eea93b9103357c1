"""Sliding-window rate limits kept in the web process (waitress runs one process with threads)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most `limit` events per key in `window` seconds; a limit of 0 means no limit."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._events: dict[str, deque] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def _recent(self, key: str, now: float) -> deque:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def retry_after(self, key: str) -> float:
        """Seconds until this key may act again; 0 if it may act now."""
        if self.limit <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            events = self._recent(key, now)
            return 0.0 if len(events) < self.limit else max(events[0] + self.window - now, 0.01)

    def record(self, key: str) -> None:
        """Count one event for this key."""
        if self.limit <= 0:
            return
        with self._lock:
            now = self.clock()
            self._recent(key, now).append(now)
            self._calls += 1
            if self._calls % 1000 == 0:  # forget keys that have gone quiet, so memory stays bounded
                for stale in [k for k, q in self._events.items() if not q or q[-1] <= now - self.window]:
                    del self._events[stale]

    def hit(self, key: str) -> float:
        """Count an event unless the key is over its limit; returns the wait (0 when counted)."""
        wait = self.retry_after(key)
        if not wait:
            self.record(key)
        return wait

    def __len__(self) -> int:
        return len(self._events)
