"""The A2A protocol v0.3.0 data model, as pydantic v2 models.

Attributes are snake_case in Python and camelCase on the wire; ``to_wire()`` and
``to_json()`` give exactly what is sent. Unknown fields are accepted and kept, and
``null`` is read as an absent field. The official JSON Schema's ``definitions``
are the source of truth for every name here.
"""

from ._base import A2ABaseModel, new_id, utc_now_iso
from .agent_card import (
    AgentCapabilities,
    AgentCard,
    AgentCardSignature,
    AgentExtension,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    TransportProtocol,
)
from .messages import Message, Role
from .params import (
    DeleteTaskPushNotificationConfigParams,
    GetTaskPushNotificationConfigParams,
    ListTaskPushNotificationConfigParams,
    MessageSendConfiguration,
    MessageSendParams,
    TaskIdParams,
    TaskQueryParams,
)
from .parts import (
    PART_ADAPTER,
    DataPart,
    FilePart,
    FileWithBytes,
    FileWithUri,
    Part,
    TextPart,
)
from .push import (
    PushNotificationAuthenticationInfo,
    PushNotificationConfig,
    TaskPushNotificationConfig,
)
from .security import (
    SECURITY_SCHEME_ADAPTER,
    APIKeySecurityScheme,
    AuthorizationCodeOAuthFlow,
    ClientCredentialsOAuthFlow,
    HTTPAuthSecurityScheme,
    ImplicitOAuthFlow,
    MutualTLSSecurityScheme,
    OAuth2SecurityScheme,
    OAuthFlows,
    OpenIdConnectSecurityScheme,
    PasswordOAuthFlow,
    SecurityScheme,
)
from .tasks import (
    SEND_MESSAGE_RESULT_ADAPTER,
    STREAM_EVENT_ADAPTER,
    TERMINAL_TASK_STATES,
    Artifact,
    SendMessageResult,
    StreamEvent,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)

__all__ = [
    "PART_ADAPTER",
    "SECURITY_SCHEME_ADAPTER",
    "SEND_MESSAGE_RESULT_ADAPTER",
    "STREAM_EVENT_ADAPTER",
    "TERMINAL_TASK_STATES",
    "A2ABaseModel",
    "APIKeySecurityScheme",
    "AgentCapabilities",
    "AgentCard",
    "AgentCardSignature",
    "AgentExtension",
    "AgentInterface",
    "AgentProvider",
    "AgentSkill",
    "Artifact",
    "AuthorizationCodeOAuthFlow",
    "ClientCredentialsOAuthFlow",
    "DataPart",
    "DeleteTaskPushNotificationConfigParams",
    "FilePart",
    "FileWithBytes",
    "FileWithUri",
    "GetTaskPushNotificationConfigParams",
    "HTTPAuthSecurityScheme",
    "ImplicitOAuthFlow",
    "ListTaskPushNotificationConfigParams",
    "Message",
    "MessageSendConfiguration",
    "MessageSendParams",
    "MutualTLSSecurityScheme",
    "OAuth2SecurityScheme",
    "OAuthFlows",
    "OpenIdConnectSecurityScheme",
    "Part",
    "PasswordOAuthFlow",
    "PushNotificationAuthenticationInfo",
    "PushNotificationConfig",
    "Role",
    "SecurityScheme",
    "SendMessageResult",
    "StreamEvent",
    "Task",
    "TaskArtifactUpdateEvent",
    "TaskIdParams",
    "TaskPushNotificationConfig",
    "TaskQueryParams",
    "TaskState",
    "TaskStatus",
    "TaskStatusUpdateEvent",
    "TextPart",
    "TransportProtocol",
    "new_id",
    "utc_now_iso",
]
