"""Flask integration: the :class:`A2AKafka` extension, one A2A client per process.

The settings are ``app.config["A2A_KAFKA"]``, a dict of
:class:`~a2a_kafka_sync.client.KafkaClientTransport` keyword arguments, with the
extension's own keyword arguments over it. The client is built on first use and
shared by every request thread; a forked worker builds its own. ::

    app = Flask(__name__)
    app.config["A2A_KAFKA"] = {"bootstrap_servers": "kafka:9092", "request_topic": "my-agent"}
    a2a = A2AKafka(app)
    app.register_error_handler(A2AKafkaError, error_response)

    @app.post("/ask")
    def ask():
        return {"reply": a2a.client.send_text(request.get_data(as_text=True))}
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, has_app_context, jsonify

from ..client import KafkaClientTransport
from ..errors import ConfigurationError
from . import ProcessClient, client_factory, error_body, http_status

__all__ = ["CONFIG_KEY", "EXTENSION_KEY", "A2AKafka", "current_client", "error_response"]

CONFIG_KEY = "A2A_KAFKA"
"""The ``app.config`` key of the settings dict."""

EXTENSION_KEY = "a2a_kafka"
"""The ``app.extensions`` key the extension is stored under."""


class A2AKafka:
    """A Flask extension that gives an app one shared A2A client per process.

    Use ``A2AKafka(app)``, or ``a2a = A2AKafka()`` then ``a2a.init_app(app)`` in an
    application factory. One extension may serve several apps; each app gets its
    own client, from its own config.

    Args:
        app: the app to initialise now (optional).
        **settings: KafkaClientTransport keyword arguments that win over
            ``app.config["A2A_KAFKA"]`` (``request_topic``, ``timeout``,
            ``agent_card``, any ClientConfig field or kafka-python setting).
    """

    def __init__(self, app: Flask | None = None, **settings: Any) -> None:
        self._settings = settings
        self._app = app
        self._clients: weakref.WeakKeyDictionary[Flask, ProcessClient] = weakref.WeakKeyDictionary()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Check the app's settings and register the extension on ``app.extensions``.

        No connection is made: the client is built and opened on first use. Raises
        ConfigurationError for a refused setting, and RuntimeError when the app
        already has an A2AKafka extension.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(f"the app {app.name!r} already has an A2AKafka extension")
        configured = app.config.get(CONFIG_KEY, {})
        if not isinstance(configured, Mapping):
            raise ConfigurationError(
                f"app.config[{CONFIG_KEY!r}] must be a dict, not {type(configured).__name__}"
            )
        factory = client_factory({**configured, **self._settings})
        self._clients[app] = ProcessClient(factory)
        app.extensions[EXTENSION_KEY] = self

    def _holder(self, app: Flask | None) -> ProcessClient:
        if app is None:
            if has_app_context():
                app = current_app._get_current_object()  # type: ignore[attr-defined]
            elif self._app is not None:
                app = self._app
            else:
                raise RuntimeError(
                    "no Flask application context: use the client inside a request, "
                    "in 'with app.app_context():', or pass the app"
                )
        holder = self._clients.get(app)
        if holder is None:
            raise RuntimeError(f"A2AKafka was not initialised on the app {app.name!r}")
        return holder

    @property
    def client(self) -> KafkaClientTransport:
        """The current app's client in this process, built on first use (thread-safe).

        The current app is that of the application context, or the app given to
        the constructor outside one.
        """
        return self._holder(None).get()

    def get_client(self, app: Flask | None = None) -> KafkaClientTransport:
        """The client of ``app`` (default: the current app) in this process."""
        return self._holder(app).get()

    def close(self, timeout: float = 5.0) -> None:
        """Close the clients this extension built, for every app. Idempotent.

        Calls still waiting fail with ClientClosedError; the next use builds a new
        client. At interpreter exit an open client closes itself.
        """
        for holder in list(self._clients.values()):
            holder.close(timeout)

    def __repr__(self) -> str:
        return f"<A2AKafka apps={[app.name for app in list(self._clients.keys())]}>"


def current_client() -> KafkaClientTransport:
    """The A2A client of ``flask.current_app`` in this process (inside a request or app context).

    Raises RuntimeError outside an application context, or when the app has no
    A2AKafka extension.
    """
    extension = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(extension, A2AKafka):
        raise RuntimeError(
            f"the app {current_app.name!r} has no A2AKafka extension: call A2AKafka(app) "
            "or a2a.init_app(app)"
        )
    return extension.client


def error_response(error: Exception) -> tuple[Response, int]:
    """An error handler that answers a library error with a JSON body and its HTTP status.

    Register it with ``app.register_error_handler(A2AKafkaError, error_response)``;
    the status comes from :func:`~a2a_kafka_sync.contrib.http_status`, the body
    from :func:`~a2a_kafka_sync.contrib.error_body`. 5xx errors are logged with
    their traceback on the app's logger.
    """
    status = http_status(error)
    if status >= 500:
        current_app.logger.error("A2A call failed: %s", error, exc_info=error)
    return jsonify(error_body(error)), status
