"""Staff helpers for the web tests: sign in through the form, read a page's CSRF token."""

from __future__ import annotations

import re


def csrf_of(page: str) -> str:
    """The CSRF token a page carries (a form field or the console's meta tag)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"|name="csrf-token" content="([^"]+)"', page)
    return (found.group(1) or found.group(2) or "") if found else ""


def sign_in(client, name, password):
    """Post the sign-in form with its CSRF token; the response."""
    token = re.search(r'value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def console_token(client) -> str:
    """The agent console's CSRF token for JSON calls."""
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/agent/").get_data(as_text=True)).group(1)
