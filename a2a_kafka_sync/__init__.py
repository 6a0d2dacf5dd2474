"""a2a-kafka-sync: the A2A protocol over Apache Kafka, for code that is not async.

Call an agent with :class:`KafkaClientTransport` (also named :class:`A2AKafkaClient`;
blocking calls, streams as iterators, one client shared by every thread), and serve one with
:class:`KafkaServerApp` (plain-function handlers on a thread pool). The data
model lives in :mod:`a2a_kafka_sync.types`, the errors in
:mod:`a2a_kafka_sync.errors`, a broker for tests in :mod:`a2a_kafka_sync.testing`.
"""

import logging

from .auth import Principal
from .client import (
    USE_CLIENT_DEFAULT,
    A2AKafkaClient,
    CorrelationManager,
    KafkaClientTransport,
    PendingCall,
    ReplyStream,
)
from .config import LOW_LATENCY, PROFILES, ClientConfig, ServerConfig
from .discovery import AgentDirectory, client_for
from .errors import (
    A2AError,
    A2AKafkaError,
    BrokerUnavailableError,
    CardSignatureError,
    ClientClosedError,
    ConfigurationError,
    ForbiddenError,
    KafkaAuthenticationError,
    KafkaAuthorizationError,
    KafkaOperationError,
    NoAgentError,
    PendingLimitError,
    ProtocolError,
    RequestTimeoutError,
    RequestTooLargeError,
    StreamGapError,
    UnauthenticatedError,
)
from .server import (
    DefaultRequestHandler,
    FunctionHandler,
    InMemoryTaskStore,
    KafkaServerApp,
    RequestContext,
    RequestHandler,
    TaskStore,
    TaskUpdater,
)
from .server.tasks import InMemoryTaskEventLog, TaskEventLog
from .types import (
    AgentCard,
    Message,
    MessageSendParams,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
    TextPart,
)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "LOW_LATENCY",
    "PROFILES",
    "USE_CLIENT_DEFAULT",
    "A2AError",
    "A2AKafkaClient",
    "A2AKafkaError",
    "AgentCard",
    "AgentDirectory",
    "BrokerUnavailableError",
    "CardSignatureError",
    "ClientClosedError",
    "ClientConfig",
    "ConfigurationError",
    "CorrelationManager",
    "DefaultRequestHandler",
    "ForbiddenError",
    "FunctionHandler",
    "InMemoryTaskEventLog",
    "InMemoryTaskStore",
    "KafkaAuthenticationError",
    "KafkaAuthorizationError",
    "KafkaClientTransport",
    "KafkaOperationError",
    "KafkaServerApp",
    "Message",
    "MessageSendParams",
    "NoAgentError",
    "PendingCall",
    "PendingLimitError",
    "Principal",
    "ProtocolError",
    "ReplyStream",
    "RequestContext",
    "RequestHandler",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "ServerConfig",
    "StreamGapError",
    "Task",
    "TaskArtifactUpdateEvent",
    "TaskEventLog",
    "TaskState",
    "TaskStatus",
    "TaskStatusUpdateEvent",
    "TaskStore",
    "TaskUpdater",
    "TextPart",
    "UnauthenticatedError",
    "__version__",
    "client_for",
]
