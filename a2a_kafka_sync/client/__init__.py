"""The client side: a blocking transport, its correlation registry and its reply reader."""

from .correlation import CorrelationManager
from .pending import PendingCall
from .raw import RawReplyStream
from .sdk_view import A2ASdkClient
from .stream import ReplyStream
from .tasks import push_config
from .timeouts import USE_CLIENT_DEFAULT
from .transport import A2AKafkaClient, KafkaClientTransport

__all__ = [
    "USE_CLIENT_DEFAULT",
    "A2AKafkaClient",
    "A2ASdkClient",
    "CorrelationManager",
    "KafkaClientTransport",
    "PendingCall",
    "RawReplyStream",
    "ReplyStream",
    "push_config",
]
