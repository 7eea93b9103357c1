"""Secrets Kefu keeps in its data folder (the session-signing key, the contact key, the Rasa API token):
made once on first use, owner-only from the first byte, never half-written."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path


class SecretFileError(OSError):
    """A secret file exists but cannot be read (its path and the system's reason are in the message)."""


def owner_only_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    """The secret kept in `path` (stripped bytes), made with `make()` if the file does not exist yet.

    The file is created with mode 0600, so it is never readable by others, not even for a moment. It is
    written whole under a private name and then linked in place: another process starting at the same moment
    either links first (ours is dropped, both read its secret) or finds a complete file, never a half-written
    one. Where the file system has no hard links the file is created in place, still 0600 and once.
    Raises SecretFileError if the file cannot be read or is empty.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(make())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        except OSError:  # no hard links here
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(draft.read_bytes())
        finally:
            draft.unlink()
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise SecretFileError(f"cannot read {path}: {exc.strerror}") from exc
    if not secret:  # an empty token would leave Rasa's API open (it checks the token only when one is set)
        raise SecretFileError(f"{path} is empty: delete it, and a new secret is made on the next start")
    return secret


def keep_private(data_dir: Path) -> None:
    """Make every file this process creates from now on owner-only (umask 077), and take group and other
    permissions off what the data folder already holds (a folder made before this rule, or by a tool with a
    looser umask). For entry points only (the kefu command, the web server): it changes the whole process."""
    os.umask(0o077)
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return
    for path in [data_dir, *data_dir.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        if mode & 0o077:
            with contextlib.suppress(OSError):  # a file another user owns stays as it is; ours are the point
                path.chmod(mode & 0o7700)
