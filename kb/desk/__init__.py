"""The service desk: what happens around the bot's answers, kept in the same database as the knowledge
base (kb.database, SQLite or PostgreSQL; its tables are declared in kb.schema, made by Alembic).

- ``tickets``: handoff tickets (queued, claimed, callback, closed) and agents' notes on them;
- ``gaps``: questions the bot could not serve, grouped for curators, and 👍/👎 feedback;
- ``conversations``: the web conversations' state and transcripts;
- ``accounts``: staff accounts and their signed-in sessions (disabled, deleted as a mark, re-roled, reset);
- ``audit``: the audit log of staff actions that touch customers or knowledge;
- ``rules``: the desk's rules in one place (service hours, who wants a human, which message is the question);
- ``canned``: canned replies curators keep for agents; ``candidates``: agents' answers offered to curators;
- ``history``: closed tickets searched;
- ``service``: the Desk, the workflows that span records (ask for a human, the problem and contact number,
  claim, close, take a callback, leave the queue, rate); ``contacts``: contact numbers found and sealed;
  ``callback``: reading a customer's messages while a callback is taken down;
- ``ratings``: customers' ratings of the chats agents closed;
- ``privacy``: masking personal numbers before anything is stored; ``retention``: deleting what is old;
- ``metrics``, ``staffing`` (Erlang C), ``supervision``, ``demand``: figures for the dashboards.

Customer-facing wording is not here: the bot's is in bot/domain.yml, the web app's in web/wording.py.
The desk imports only kb.database, kb.clock and kb.model from the rest of Kefu.
"""


class DeskError(ValueError):
    """A desk operation got a value it cannot store or a request it cannot do (the message says which)."""


class DeskNotFound(DeskError):
    """The record asked for does not exist (a ticket, a canned reply)."""
