"""Health checks run at once under one deadline, so /healthz answers in CHECK_SECONDS however many of Rasa, the
action servers and the database hang (a blackholed machine): a check that raises or has not answered by then
counts as not ok. The balancer checks /livez instead (web.chat), which asks nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait

CHECK_SECONDS = 3.0  # under HAProxy's 5 s check timeout, for monitors that point at /healthz all the same


def checked(checks: Mapping[str, Callable[[], bool]], seconds: float | None = None) -> dict[str, bool]:
    """Each check's answer by name, all run in threads of their own at once; False for one that raises or is
    still running after seconds (CHECK_SECONDS if None), which is left to finish on its own."""
    deadline = CHECK_SECONDS if seconds is None else seconds
    pool = ThreadPoolExecutor(max_workers=max(len(checks), 1), thread_name_prefix="kefu-health")
    futures = {name: pool.submit(check) for name, check in checks.items()}
    wait(futures.values(), timeout=deadline)
    pool.shutdown(wait=False, cancel_futures=True)  # a hanging check must not hold the request
    return {
        name: future.done() and future.exception() is None and bool(future.result()) for name, future in futures.items()
    }
