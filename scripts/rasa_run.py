"""`rasa run` with its HTTP API's token read from a file, the first argument: Rasa takes the token only on its
command line (--auth-token), where every user of the machine could read it in `ps`; set here, inside the
process, it is not. Run by .venv-rasa's Python; indexer/servers.py builds the command (`kefu serve rasa`)."""

import sys
from pathlib import Path


def rasa_argv(token: str, arguments: list[str]) -> list[str]:
    """Rasa's command line (sys.argv) for these arguments and this token. The token is joined to its option
    (--auth-token=…): a URL-safe token may begin with "-", which argparse would take for the next option and
    exit with "expected one argument" (1 token in 64)."""
    return ["rasa", *arguments, f"--auth-token={token}"]


if __name__ == "__main__":
    from rasa.__main__ import main

    token_file, *arguments = sys.argv[1:]
    token = Path(token_file).read_text(encoding="utf-8").strip()
    if not token:  # Rasa checks a token only when one is set: never start its API open
        sys.exit(f"kefu: {token_file} is empty: delete it, and `kefu serve rasa` makes a new one")
    sys.argv = rasa_argv(token, arguments)
    main()
