"""The one place that decides which settings are secrets, and hides their values.

Config reprs, the client's and server's log lines and kafka-python's own log of
its admin client's settings all go through :func:`redact`, so a password, a
token provider or a credential never reaches a log, a repr or an exception
message. A setting is a secret when its name is in :data:`SECRET_SETTINGS` or
contains one of the words of :data:`SECRET_WORDS` (so a future ``credentials``
or ``api_token`` setting is hidden without a change here).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = [
    "REDACTED",
    "SECRET_SETTINGS",
    "SECRET_WORDS",
    "RedactSettingsFilter",
    "is_secret",
    "redact",
]

_K = TypeVar("_K")

REDACTED = "***"
"""What a secret's value is shown as."""

SECRET_SETTINGS = frozenset(
    {
        "sasl_plain_password",
        "sasl_oauth_token_provider",
        "ssl_password",
        "ssl_context",
        "authorization",
        "credentials",
        "card_signer",
    }
)
"""Settings (kafka-python's and the library's) whose values are never shown.

``ssl_context`` and ``card_signer`` are listed because each can hold a private key;
``ssl_keyfile`` is a path, shown (the library never reads the key itself).
"""

SECRET_WORDS = ("password", "secret", "token", "credential", "authorization", "private_key")
"""A setting whose name contains one of these words is a secret too."""


def is_secret(name: str) -> bool:
    """True when the setting ``name`` holds a secret whose value must not be shown."""
    lowered = name.lower()
    return lowered in SECRET_SETTINGS or any(word in lowered for word in SECRET_WORDS)


def redact(settings: Mapping[_K, Any]) -> dict[_K, Any]:
    """A copy of ``settings`` with each secret's value replaced by ``'***'``.

    Nested mappings (e.g. a config's ``kafka`` dict) are redacted too. A secret
    that is None stays None, so a reader still sees whether it was set.
    """
    shown: dict[_K, Any] = {}
    for key, value in settings.items():
        if is_secret(str(key)) and value is not None:
            shown[key] = REDACTED
        elif isinstance(value, Mapping):
            shown[key] = redact(value)
        else:
            shown[key] = value
    return shown


class RedactSettingsFilter(logging.Filter):
    """A logging filter that redacts every settings dict among a record's arguments.

    kafka-python's admin client logs its whole configuration at DEBUG
    (``Starting KafkaAdminClient with configuration: {...}``, kafka-python
    3.0.12), passwords included; the library puts this filter on that logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's mapping arguments by their redacted copies; keep the record."""
        if isinstance(record.args, Mapping):
            record.args = redact(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(
                redact(arg) if isinstance(arg, Mapping) else arg for arg in record.args
            )
        return True
