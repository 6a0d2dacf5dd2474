"""``to_v1`` / ``from_v1``: any of our models with a v1 counterpart, both ways."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..types import (
    A2ABaseModel,
    AgentCapabilities,
    AgentCard,
    AgentCardSignature,
    AgentExtension,
    AgentProvider,
    AgentSkill,
    APIKeySecurityScheme,
    Artifact,
    DataPart,
    FilePart,
    HTTPAuthSecurityScheme,
    ListTasksParams,
    Message,
    MessageSendConfiguration,
    MessageSendParams,
    MutualTLSSecurityScheme,
    OAuth2SecurityScheme,
    OAuthFlows,
    OpenIdConnectSecurityScheme,
    ProtocolInterface,
    PushNotificationAuthenticationInfo,
    PushNotificationConfig,
    Task,
    TaskArtifactUpdateEvent,
    TaskPage,
    TaskPushNotificationConfig,
    TaskStatus,
    TaskStatusUpdateEvent,
    TextPart,
)
from . import card, content, push, replies, requests, security
from ._json import V1Object, fail

T = TypeVar("T", bound=A2ABaseModel)

_SCHEMES = (
    APIKeySecurityScheme,
    HTTPAuthSecurityScheme,
    OAuth2SecurityScheme,
    OpenIdConnectSecurityScheme,
    MutualTLSSecurityScheme,
)


# model -> (to v1, from v1). Every Part class decodes any v1 Part, then is checked.
_CONVERTERS: dict[
    type[A2ABaseModel], tuple[Callable[[Any], dict[str, Any]], Callable[[V1Object], Any]]
] = {
    TextPart: (content.part_to_v1, content.part_from_v1),
    FilePart: (content.part_to_v1, content.part_from_v1),
    DataPart: (content.part_to_v1, content.part_from_v1),
    Message: (content.message_to_v1, content.message_from_v1),
    Artifact: (content.artifact_to_v1, content.artifact_from_v1),
    TaskStatus: (content.status_to_v1, content.status_from_v1),
    Task: (content.task_to_v1, content.task_from_v1),
    TaskStatusUpdateEvent: (content.status_update_to_v1, content.status_update_from_v1),
    TaskArtifactUpdateEvent: (content.artifact_update_to_v1, content.artifact_update_from_v1),
    PushNotificationAuthenticationInfo: (push.auth_to_v1, push.auth_from_v1),
    PushNotificationConfig: (push.push_config_to_v1, push.push_config_from_v1),
    TaskPushNotificationConfig: (push.task_push_config_to_v1, push.task_push_config_from_v1),
    AgentCard: (card.card_to_v1, card.card_from_v1),
    AgentSkill: (card.skill_to_v1, card.skill_from_v1),
    AgentCapabilities: (card.capabilities_to_v1, card.capabilities_from_v1),
    AgentExtension: (card.extension_to_v1, card.extension_from_v1),
    AgentProvider: (card.provider_to_v1, card.provider_from_v1),
    AgentCardSignature: (card.signature_to_v1, card.signature_from_v1),
    ProtocolInterface: (card.interface_to_v1, card.interface_from_v1),
    OAuthFlows: (security.flows_to_v1, security.flows_from_v1),
    MessageSendConfiguration: (requests.configuration_to_v1, requests.configuration_from_v1),
    MessageSendParams: (requests.send_params_to_v1, requests.send_params_from_v1),
    ListTasksParams: (requests.list_params_to_v1, requests.list_params_from_v1),
    TaskPage: (replies.page_to_v1, replies.page_from_v1),
    **{scheme: (security.scheme_to_v1, security.scheme_from_v1) for scheme in _SCHEMES},
}


def to_v1(obj: A2ABaseModel) -> dict[str, Any]:
    """One of our models as the A2A v1.0 protobuf-JSON dict of its v1 counterpart.

    Messages, parts, artifacts, task status, tasks and their events, push configs (v1's
    flat ``TaskPushNotificationConfig``), the agent card and everything in it, send
    configuration and params, list params and pages. A security scheme becomes v1's
    ``SecurityScheme`` wrapper. Raises TypeError for a model without a v1 counterpart and
    ValueError for a value v1 cannot carry.
    """
    converters = _CONVERTERS.get(type(obj))
    if converters is None:
        raise TypeError(f"{type(obj).__name__} has no A2A v1.0 counterpart")
    return converters[0](obj)


def from_v1(model: type[T], data: Mapping[str, Any]) -> T:
    """Read the A2A v1.0 JSON of ``model``'s v1 counterpart as a ``model``.

    Accepts what protobuf JSON parsers accept (lowerCamelCase or proto field names, enum
    names or numbers, ``null`` as unset) and ignores unknown fields. Raises
    InvalidParamsError with a short message naming the field on bad input, and TypeError
    for a model without a v1 counterpart.
    """
    converters = _CONVERTERS.get(model)
    if converters is None:
        raise TypeError(f"{model.__name__} has no A2A v1.0 counterpart")
    result = converters[1](V1Object(data, model.__name__))
    if not isinstance(result, model):
        fail(model.__name__, f"is a v1 {type(result).__name__}, not a {model.__name__}")
    return result
