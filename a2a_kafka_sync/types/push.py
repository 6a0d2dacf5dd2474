"""Push notification settings: where and how an agent reports task updates."""

from __future__ import annotations

from ._base import A2ABaseModel


class PushNotificationAuthenticationInfo(A2ABaseModel):
    """How the agent authenticates to the notification endpoint (e.g. ``Bearer``)."""

    schemes: list[str]
    credentials: str | None = None


class PushNotificationConfig(A2ABaseModel):
    """A callback ``url`` for task updates, with an optional id, token and auth."""

    url: str
    id: str | None = None
    token: str | None = None
    authentication: PushNotificationAuthenticationInfo | None = None


class TaskPushNotificationConfig(A2ABaseModel):
    """A push notification config bound to one task."""

    task_id: str
    push_notification_config: PushNotificationConfig
