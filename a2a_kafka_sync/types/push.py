"""Push notification settings: where and how an agent reports task updates.

Their ``repr()`` and ``str()`` show ``'***'`` for the token and the credentials (and for
any extra field whose name says it is a secret), so a config that is logged or printed
does not give away what lets a receiver trust the sender.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._redact import redact
from ._base import A2ABaseModel
from ._wire import Identifier


class _RedactedRepr(A2ABaseModel):
    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The fields repr() and str() show, secrets replaced by ``'***'``."""
        yield from redact(dict(super().__repr_args__())).items()


class PushNotificationAuthenticationInfo(_RedactedRepr):
    """How the agent authenticates to the notification endpoint (e.g. ``Bearer``)."""

    schemes: list[str]
    credentials: str | None = None


class PushNotificationConfig(_RedactedRepr):
    """A callback ``url`` for task updates, with an optional id, token and auth."""

    url: str
    id: str | None = None
    token: str | None = None
    authentication: PushNotificationAuthenticationInfo | None = None


class TaskPushNotificationConfig(A2ABaseModel):
    """A push notification config bound to one task."""

    task_id: Identifier
    push_notification_config: PushNotificationConfig
