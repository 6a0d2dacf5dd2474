"""Push notification configs: v0.3 models <-> v1.0's flat ``TaskPushNotificationConfig``.

v0.3 nests the settings (``{taskId, pushNotificationConfig: {id, url, token,
authentication}}``); v1 has one flat message (``tenant, id, taskId, url, token,
authentication``), also used inside ``SendMessageConfiguration``. v0.3's list of
authentication ``schemes`` is v1's single ``scheme``.
"""

from __future__ import annotations

from typing import Any

from ..types import (
    PushNotificationAuthenticationInfo,
    PushNotificationConfig,
    TaskPushNotificationConfig,
)
from ._json import V1Object, extra, put


def auth_to_v1(auth: PushNotificationAuthenticationInfo) -> dict[str, Any]:
    """v0.3's list of ``schemes`` as v1's single ``scheme``: exactly one is representable."""
    if len(auth.schemes) != 1:
        raise ValueError(
            "v1 push authentication has exactly one scheme; this config has "
            f"{len(auth.schemes)} ({', '.join(auth.schemes) or 'none'})"
        )
    out: dict[str, Any] = {"scheme": auth.schemes[0]}
    put(out, "credentials", auth.credentials)
    return out


def auth_from_v1(obj: V1Object) -> PushNotificationAuthenticationInfo:
    """A v1 ``AuthenticationInfo``."""
    return PushNotificationAuthenticationInfo(
        schemes=[obj.req_text("scheme")], credentials=obj.text("credentials")
    )


def push_config_to_v1(config: PushNotificationConfig) -> dict[str, Any]:
    """A PushNotificationConfig as a v1 ``TaskPushNotificationConfig`` (the flat v1 shape)."""
    out: dict[str, Any] = {}
    for key in ("tenant", "taskId"):  # v1-only fields an earlier from_v1 kept as extras
        put(out, key, extra(config, key))
    put(out, "id", config.id)
    out["url"] = config.url
    put(out, "token", config.token)
    if config.authentication is not None:
        out["authentication"] = auth_to_v1(config.authentication)
    return out


def push_config_from_v1(obj: V1Object) -> PushNotificationConfig:
    """The push settings of a v1 ``TaskPushNotificationConfig``; ``tenant`` and ``taskId``
    are kept as extra fields."""
    auth = obj.obj("authentication")
    kept = {key: obj.text(key) for key in ("tenant", "taskId")}
    return PushNotificationConfig(
        url=obj.req_text("url"),
        id=obj.text("id"),
        token=obj.text("token"),
        authentication=auth_from_v1(auth) if auth else None,
        **{key: value for key, value in kept.items() if value is not None},
    )


def task_push_config_to_v1(config: TaskPushNotificationConfig) -> dict[str, Any]:
    """A TaskPushNotificationConfig (task id + config) as v1's flat one."""
    out = push_config_to_v1(config.push_notification_config)
    out["taskId"] = config.task_id
    put(out, "tenant", extra(config, "tenant"))
    return out


def task_push_config_from_v1(obj: V1Object) -> TaskPushNotificationConfig:
    """A v1 ``TaskPushNotificationConfig`` as ours; its ``taskId`` is required here."""
    inner = push_config_from_v1(obj)
    kept = {key: value for key, value in (inner.model_extra or {}).items() if key == "tenant"}
    config = PushNotificationConfig.model_validate(
        {k: v for k, v in inner.to_wire().items() if k not in ("tenant", "taskId")}
    )
    return TaskPushNotificationConfig(
        task_id=obj.req_text("taskId"), push_notification_config=config, **kept
    )
