"""The client side: a blocking transport, its correlation registry and its reply reader."""

from .correlation import CorrelationManager
from .stream import ReplyStream
from .transport import USE_CLIENT_DEFAULT, KafkaClientTransport

__all__ = ["USE_CLIENT_DEFAULT", "CorrelationManager", "KafkaClientTransport", "ReplyStream"]
