"""`rasa run` with its HTTP API's token read from a file, the first argument: Rasa takes the token only on its
command line (--auth-token), where every user of the machine could read it in `ps`; set here, inside the
process, it is not. Run by .venv-rasa's Python; indexer/servers.py builds the command (`kefu serve rasa`)."""

import sys
from pathlib import Path

from rasa.__main__ import main

if __name__ == "__main__":
    token_file, *arguments = sys.argv[1:]
    token = Path(token_file).read_text(encoding="utf-8").strip()
    if not token:  # Rasa checks a token only when one is set: never start its API open
        sys.exit(f"kefu: {token_file} is empty: delete it, and `kefu serve rasa` makes a new one")
    sys.argv = ["rasa", *arguments, "--auth-token", token]
    main()
