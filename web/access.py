"""Who is signed in and what their role lets them open: used by every staff blueprint."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for

from kb.desk.audit import Actor
from kb.secret_files import owner_only_secret
from web.db import accounts, audit_log

View = TypeVar("View", bound=Callable[..., Any])


def secret_key(data_dir: Path) -> str:
    """The app's session-signing key, made once and kept beside the database (owner-only from the start)."""
    return owner_only_secret(Path(data_dir) / "secret_key", lambda: secrets.token_hex(32).encode()).decode()


def current_user() -> dict | None:
    """The signed-in staff member (the users row), or None."""
    if "user" not in g:
        g.user = accounts().session_user(session.get("token"))
    user: dict | None = g.user
    return user


def signed_in_user() -> dict:
    """The signed-in staff member, inside a view that role_required guards."""
    user = current_user()
    if user is None:
        abort(401, "sign in first")
    return user


def audit(
    action: str, target_kind: str = "", target_id: object = "", detail: str = "", actor: Actor | None = None
) -> None:
    """Record a staff action in the audit log (kb.desk.audit), by the signed-in staff member unless actor
    says who."""
    audit_log().record(actor or Actor.of(signed_in_user()), action, target_kind, target_id, detail)


def role_required(*roles: str) -> Callable[[View], View]:
    """Only signed-in staff with one of these roles (admins pass everywhere); others are sent to sign in
    (pages) or get 401 (API), and the wrong role gets 403."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if request.path.startswith("/api/"):
                    abort(401, "sign in first")
                return redirect(url_for("auth.login", next=request.path))
            if user["role"] not in roles and user["role"] != "admin":
                abort(403, "your role does not allow this")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
