"""Which A2A version a push notification config speaks, and what its pushes look like.

A config remembers the version of the request that set it (``context.a2a_version``), as
the extra field :data:`VERSION_FIELD` of the stored config: every task store keeps it
(their records are the config's JSON, extra fields included), and a config stored
without it (before versions were remembered, or by a store that drops extra fields)
speaks 0.3. The field is the server's own: answers leave it out (:func:`as_answered`).

What each version gets (``docs/push.md``):

- a webhook: 0.3 the Task's JSON (``Content-Type: application/json``); 1.0 a
  ``StreamResponse`` holding the Task, as A2A v1.0 section 4.3.3 defines the push payload
  (``Content-Type: application/a2a+json``): :func:`~a2a_kafka_sync.wire.push_payload`;
- a ``kafka://`` record: 0.3 ``{"type": "push_task", "data": <Task>}`` (``docs/wire.md``);
  1.0 ``{"type": "StreamResponse", "data": <StreamResponse>}``, a 1.0 record of
  ``docs/binding.md`` (:func:`~a2a_kafka_sync.server.push.encode_push`). A client's reply
  reader decodes either to the same Task.
"""

from __future__ import annotations

from ..types import PushNotificationConfig
from ..wire import SUPPORTED_VERSIONS, V0_3, V1_0

__all__ = ["CONTENT_TYPES", "VERSION_FIELD", "as_answered", "config_version", "remember_version"]

VERSION_FIELD = "a2aVersion"
"""The extra field of a stored push config that names the A2A version that set it."""

CONTENT_TYPES = {V0_3: "application/json", V1_0: "application/a2a+json"}
"""The ``Content-Type`` of a webhook's POST, by the version of its config."""


def remember_version(config: PushNotificationConfig, version: str) -> PushNotificationConfig:
    """A copy of ``config`` that remembers ``version`` (``"0.3"`` or ``"1.0"``)."""
    return config.model_copy(update={VERSION_FIELD: version}, deep=True)


def config_version(config: PushNotificationConfig) -> str:
    """The A2A version a stored config speaks: the one that set it; 0.3 when it does not say."""
    named = (config.model_extra or {}).get(VERSION_FIELD)
    return named if isinstance(named, str) and named in SUPPORTED_VERSIONS else V0_3


def as_answered(config: PushNotificationConfig) -> PushNotificationConfig:
    """``config`` as a caller gets it back: without the server's :data:`VERSION_FIELD`."""
    if VERSION_FIELD not in (config.model_extra or {}):
        return config
    wire = config.to_wire()
    wire.pop(VERSION_FIELD, None)
    return PushNotificationConfig.from_wire(wire)
