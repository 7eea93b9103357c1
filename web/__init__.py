"""The Flask web app: create_app() builds it; one blueprint per audience."""
from __future__ import annotations

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException


def create_app(test_config: dict | None = None) -> Flask:
    """The application factory: settings once, services per request, blueprints."""
    from indexer.settings import load_settings
    from web import chat

    app = Flask(__name__)
    app.config.from_mapping(KEFU_SETTINGS=None, RASA_TRANSPORT=None, MAX_CONTENT_LENGTH=64 * 1024)
    if test_config:
        app.config.update(test_config)
    if app.config["KEFU_SETTINGS"] is None:
        app.config["KEFU_SETTINGS"] = load_settings()
    app.register_blueprint(chat.bp)

    @app.errorhandler(HTTPException)
    def json_errors_for_the_api(exc: HTTPException):
        """API callers get JSON errors, never an HTML error page."""
        if request.path.startswith("/api/") or request.path == "/healthz":
            return jsonify(error=exc.description), exc.code
        return exc

    @app.teardown_appcontext
    def close_store(exc: BaseException | None) -> None:
        store = g.pop("store", None)
        if store is not None:
            store.close()

    return app
