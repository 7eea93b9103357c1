"""The Flask web app: create_app() builds it; one blueprint per audience (chat, auth, agent, curator,
canned, kb_editor, supervisor), each reaching Kefu's services through web.db and checking roles through
web.access; the web app's own wording is in web.wording."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import Conflict, HTTPException, ServiceUnavailable, default_exceptions
from werkzeug.middleware.proxy_fix import ProxyFix

PAGE_ERRORS = {
    400: "请求有误，请返回重试。",
    403: "你的账号没有权限打开这个页面。",
    404: "找不到这个页面。",
    405: "不支持这种访问方式。",
    413: "提交的内容太大。",
    409: "这条记录已经存在，或刚被别人改过，请返回刷新后再试。",
    429: "操作太频繁，请稍后再试。",
    503: "服务暂时不可用，请稍后再试。",
}
INDEX_NOT_READY = "知识库索引尚未就绪，请管理员运行 'kefu index build' 重建索引。"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The application factory: settings once (KEFU_SETTINGS, else read from kefu.toml and the
    environment), services per request (web.db), blueprints."""
    from flask_wtf.csrf import CSRFProtect

    from indexer.build import IndexStaleError
    from indexer.settings import load_settings
    from kb.clock import local
    from kb.database import DatabaseUnavailable, DuplicateKey
    from kb.desk import DeskError, DeskNotFound
    from kb.desk.service import NotYourTicket, TicketStateError
    from web import admin, agent, auth, canned, chat, curator, db, kb_editor, kb_import, security, supervisor, wording
    from web.access import secret_key
    from web.chat_access import chat_limiters
    from web.limits import LimitCounts

    app = Flask(__name__)
    app.config.from_mapping(
        KEFU_SETTINGS=None,
        RASA_TRANSPORT=None,
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
    )
    if test_config:
        app.config.update(test_config)
    if app.config["KEFU_SETTINGS"] is None:
        app.config["KEFU_SETTINGS"] = load_settings()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(app.config["KEFU_SETTINGS"].data_dir)
    security.init_app(app)  # cookies, headers, which sites may call the widget's API, JSON bodies
    app.before_request(kb_import.upload_limit)  # before CSRF protection, which reads the form under the limit
    csrf = CSRFProtect(app)
    csrf.exempt(chat.bp)  # customers' API: no cookies, so nothing to forge
    settings = app.config["KEFU_SETTINGS"]
    if settings.trusted_proxies:  # the client's address is the one the nearest trusted proxy saw
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    counts = LimitCounts(settings.redis_url)  # in this process, or in Redis shared by every web instance
    app.extensions["kefu_login_limiter"] = auth.LoginLimits(counts)
    app.extensions["kefu_chat_limiters"] = chat_limiters(settings, counts)
    db.init_app(app)
    for blueprint in (
        chat.bp,
        auth.bp,
        agent.bp,
        curator.bp,
        canned.bp,
        kb_editor.bp,
        kb_import.bp,
        supervisor.bp,
        admin.bp,
    ):
        app.register_blueprint(blueprint)

    @app.errorhandler(DeskError)
    def desk_errors(exc: DeskError) -> Any:
        """The desk's named errors as HTTP: no such record (a ticket, a canned reply) 404, a ticket in the
        wrong state or a refused transfer 409, another agent's ticket 403, else 400."""
        code = 404 if isinstance(exc, DeskNotFound) else 409 if isinstance(exc, TicketStateError) else 400
        code = 403 if isinstance(exc, NotYourTicket) else code
        return errors(default_exceptions[code](str(exc)))

    @app.errorhandler(IndexStaleError)
    def index_stale(exc: IndexStaleError) -> Any:
        """The index does not match the database here (never built, or a vector missing from the embedding
        cache): 503, telling staff to run 'kefu index build'; JSON for the API, a page in Chinese otherwise."""
        app.logger.warning("kefu: %s", exc)
        if request.path.startswith("/api/"):
            return jsonify(error=f"the index is not ready: {exc}"), 503
        return render_template("error.html", code=503, message=INDEX_NOT_READY), 503

    @app.errorhandler(DatabaseUnavailable)
    def database_down(exc: DatabaseUnavailable) -> Any:
        """The database cannot be reached: 503, try again later (why goes to the log, never to the caller)."""
        app.logger.warning("%s %s: %s", request.method, request.path, exc)
        return errors(ServiceUnavailable(wording.SERVICE_DOWN))

    @app.errorhandler(DuplicateKey)
    def duplicate(exc: DuplicateKey) -> Any:
        """Two requests made the same record at once (a name taken meanwhile): 409, as for a changed ticket."""
        return errors(Conflict("这条记录已经存在，请刷新后再试。"))

    @app.errorhandler(HTTPException)
    def errors(exc: HTTPException) -> Any:
        """API callers get JSON errors; people get a page in Chinese with a way back."""
        if request.path.startswith("/api/") or request.path == "/healthz":
            return jsonify(error=exc.description), exc.code
        if exc.code in PAGE_ERRORS:
            return render_template("error.html", code=exc.code, message=PAGE_ERRORS[exc.code]), exc.code
        return exc

    @app.template_filter("localtime")
    def localtime(stamp: str | None) -> str:
        """A stored UTC stamp as local time (setting timezone), to the minute."""
        return local(stamp, app.config["KEFU_SETTINGS"].timezone)

    return app
