"""Django integration: ``settings.A2A_KAFKA`` and :func:`get_client`, one A2A client per process.

Add the app to ``INSTALLED_APPS`` so that the settings are checked at start-up::

    INSTALLED_APPS = [..., "a2a_kafka_sync.contrib.django"]
    A2A_KAFKA = {"bootstrap_servers": "kafka:9092", "request_topic": "my-agent", "timeout": 10}

then call ``get_client()`` in a view. The client is built on first use and shared
by every thread of the process; a forked worker builds its own.
:class:`~a2a_kafka_sync.contrib.django.middleware.A2AErrorMiddleware` answers the
library's errors with an HTTP status and a JSON body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]

from ...client import KafkaClientTransport
from ...errors import ConfigurationError
from .. import ProcessClient, client_factory

__all__ = ["SETTING", "check_settings", "close_client", "get_client"]

SETTING = "A2A_KAFKA"
"""The name of the Django setting: a dict of KafkaClientTransport keyword arguments."""


def _factory() -> Callable[[], KafkaClientTransport]:
    """The client factory of the settings in force; ImproperlyConfigured for a refused one."""
    value: Any = getattr(settings, SETTING, {})
    try:
        return client_factory(value)
    except ConfigurationError as exc:
        raise ImproperlyConfigured(f"settings.{SETTING}: {exc.message}") from exc


def check_settings() -> None:
    """Check ``settings.A2A_KAFKA`` without connecting; raise ImproperlyConfigured if refused.

    The app runs it at start-up (``AppConfig.ready``). A missing setting means
    the library's defaults (``localhost:9092``, request topic ``a2a-requests``).
    """
    _factory()


_process_client = ProcessClient(lambda: _factory()())


def get_client() -> KafkaClientTransport:
    """This process's A2A client, built from ``settings.A2A_KAFKA`` on first use.

    Every thread gets the same client; it connects on its first call. Raises
    ImproperlyConfigured when the settings are refused.
    """
    return _process_client.get()


def close_client(timeout: float = 5.0) -> None:
    """Close this process's client, if one was built; the next :func:`get_client` builds anew.

    Calls still waiting fail with ClientClosedError. Idempotent. At interpreter
    exit an open client closes itself, so this is for tests and explicit shutdown
    hooks.
    """
    _process_client.close(timeout)
