"""kefu topology's plan: ports, HAProxy's configuration (checked by HAProxy itself), each instance's settings,
and a clear message when a program is missing. The whole set running is tests/test_multi_instance.py."""

from __future__ import annotations

import itertools
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from indexer.cli import main
from indexer.settings import load_settings
from indexer.topology import (
    SharedState,
    Topology,
    TopologyError,
    allocate,
    command_env,
    haproxy_config,
    instance_env,
    write_env_file,
)

SHARED = SharedState(
    "postgresql://postgres@127.0.0.1:5433/rasa", "redis://127.0.0.1:6380/1", "postgresql+psycopg://p", "redis://r/0"
)


def numbered(start: int = 20000):
    counter = itertools.count(start)
    return lambda: next(counter)


def test_every_instance_has_a_port_of_its_own():
    ports = allocate(8080, count=2, free=numbered())
    assert ports.names == ["actions-1", "actions-2", "rasa-1", "rasa-2", "web-1", "web-2"]
    every = [ports.of(name) for name in ports.names] + [ports.actions_balancer, ports.stats, ports.public]
    assert len(set(every)) == len(every)
    with pytest.raises(TopologyError, match="at least one"):
        allocate(8080, count=0)


def test_haproxy_accepts_the_configuration_and_it_balances_every_instance(tmp_path):
    ports = allocate(18080, count=3, free=numbered())
    config = haproxy_config(ports, "0.0.0.0")
    (tmp_path / "haproxy.cfg").write_text(config)
    haproxy = shutil.which("haproxy")
    assert haproxy, "HAProxy is not installed: make services"
    checked = subprocess.run([haproxy, "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "bind 0.0.0.0:18080" in config
    assert "option httpchk GET /livez" in config and "GET /healthz" not in config  # the cheap check, not the deep one
    for name in ports.names:
        if not name.startswith("rasa-"):  # Rasa instances are reached by the web app itself (rasa_instances)
            assert f"server {name} 127.0.0.1:{ports.of(name)} check" in config


def test_a_busy_web_instance_keeps_threads_for_its_health_check_and_requests_queue_in_haproxy():
    # Under 200 sessions on 2 cores every waitress thread waits for Rasa; without a per-server maxconn the
    # health check queued behind them, HAProxy marked the only web instance down and answered 503s.
    config = haproxy_config(allocate(18080, count=2, free=numbered()), "127.0.0.1", web_threads=16)
    web_servers = [line for line in config.splitlines() if line.strip().startswith("server web-")]
    assert len(web_servers) == 2 and all(line.endswith("maxconn 14") for line in web_servers)
    assert "timeout queue 60s" in config
    one_thread = haproxy_config(allocate(18080, count=1, free=numbered()), "127.0.0.1", web_threads=1)
    assert "maxconn 1" in one_thread


def test_each_instance_gets_its_own_port_and_the_shared_addresses(tmp_path):
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path / "var"})
    ports = allocate(8080, free=numbered())
    web = instance_env(settings, ports, SHARED, "web-2")
    rasa = instance_env(settings, ports, SHARED, "rasa-1")
    assert web["KEFU_WEB_PORT"] == str(ports.of("web-2")) and web["KEFU_WEB_HOST"] == "127.0.0.1"
    assert web["KEFU_RASA_INSTANCES"] == ",".join(f"127.0.0.1:{ports.of(n)}" for n in ("rasa-1", "rasa-2"))
    assert rasa["KEFU_RASA_PORT"] == str(ports.of("rasa-1"))
    assert rasa["KEFU_ACTIONS_PORT"] == web["KEFU_ACTIONS_PORT"] == str(ports.actions_balancer)
    assert instance_env(settings, ports, SHARED, "actions-2")["KEFU_ACTIONS_PORT"] == str(ports.of("actions-2"))
    assert rasa["KEFU_TRACKER_STORE_URL"].startswith("postgresql://")  # the dialect Rasa's psycopg2 wants
    assert rasa["KEFU_LOCK_STORE_URL"] == SHARED.lock_store_url
    assert rasa["KEFU_DATA_DIR"] == web["KEFU_DATA_DIR"] == str((tmp_path / "var").resolve())
    # what an instance is started with is what it reads back: no setting disagrees with another
    started = load_settings(environ={**web, "KEFU_CONFIG": str(tmp_path / "none.toml")})
    assert started.rasa_urls == [f"http://127.0.0.1:{ports.of(n)}" for n in ("rasa-1", "rasa-2")]
    assert started.lock_store_type == "redis" and started.trusted_proxies == 1


def test_a_missing_program_is_named_with_the_command_that_installs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no haproxy on it
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path / "var"})
    with pytest.raises(TopologyError, match="haproxy is missing; run make services"):
        Topology(settings, tmp_path / "topology").start()
    result = CliRunner().invoke(main, ["--set", f"data_dir={tmp_path / 'var'}", "topology"])
    assert result.exit_code == 1 and "make services" in result.output


def test_a_kefu_command_by_hand_reaches_the_sets_database_through_the_env_file(tmp_path):
    # A trial's operator ran 'kefu users add' as the README says and it wrote to var/kefu.db, which no instance
    # of the set reads: the set writes the shared addresses to a file a shell sources.
    settings = load_settings(environ={}, overrides={"data_dir": tmp_path / "var"})
    shared = SharedState(
        "postgresql://postgres:pw@127.0.0.1:5433/rasa",
        "redis://127.0.0.1:6380/1",
        "postgresql+psycopg://postgres:s3cr'et@127.0.0.1:5433/kefu",
        "redis://127.0.0.1:6380/0",
    )
    env = command_env(instance_env(settings, allocate(8080, free=numbered()), shared))
    assert "KEFU_WEB_PORT" not in env and "KEFU_RASA_PORT" not in env  # ports are the instances' own
    path = tmp_path / "kefu.env"
    write_env_file(path, env)
    write_env_file(path, env)  # every start makes it again
    assert path.stat().st_mode & 0o777 == 0o600
    shown = subprocess.run(
        ["bash", "-c", f'. {path}; printf \'%s\\n\' "$KEFU_DATABASE_URL" "$KEFU_DATA_DIR"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert shown == [shared.database_url, str((tmp_path / "var").resolve())]
    sourced = load_settings(environ=env, overrides={})
    assert sourced.database == shared.database_url and sourced.redis_url == shared.redis_url


def test_a_throwaway_set_leaves_no_postgresql_cluster_behind(tmp_path):
    # As root the cluster lives in /var/lib/postgresql/kefu-<hash>, outside the folder: every test or benchmark
    # run of the set used to leave one there (about 100 MB each).
    from indexer.local_services import cluster_home, start_postgres

    settings = load_settings(environ={}, overrides={"data_dir": tmp_path / "var"})
    running = Topology(settings, tmp_path / "run", throwaway=True)
    running.services.append(start_postgres(running.folder / "postgres"))
    home = cluster_home(running.folder / "postgres")
    assert (home / "pgdata" / "PG_VERSION").exists()
    running.stop()
    assert not (home / "pgdata").exists()
