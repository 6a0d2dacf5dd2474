"""The a2a-sdk plugin: a2a-sdk clients over Kafka, and a2a-sdk agents served from Kafka.

For a2a-sdk 0.3 and 1.x (:func:`~.convert.sdk_line` tells which is installed):

- **client**: :func:`client_factory` (or :func:`register` on a factory of yours)
  makes a2a-sdk's ``ClientFactory`` build, for a card that lists a ``KAFKA``
  interface (``kafka://host:port/request-topic``), an a2a-sdk ``Client`` whose
  transport is this library's blocking client run in worker threads;
- **server**: :class:`A2ASdkHandler` serves an a2a-sdk request handler (or, with
  :meth:`A2ASdkHandler.for_executor`, an ``AgentExecutor``) from a
  :class:`~a2a_kafka_sync.server.KafkaServerApp`, its coroutines run on an event
  loop the handler owns (the ``a2a-kafka-sdk-loop`` thread).

Needs a2a-sdk (``pip install "a2a-kafka-sync[a2a-sdk]"``); importing this
package without it raises ImportError.
"""

from .convert import from_sdk_card, sdk_line, to_sdk_card
from .register import client_factory, kafka_interface, kafka_transport_producer, register
from .server import CONTEXT_KEY, A2ASdkHandler

sdk_line()  # fail at import, clearly, without a2a-sdk or with an unsupported line

__all__ = [
    "CONTEXT_KEY",
    "A2ASdkHandler",
    "client_factory",
    "from_sdk_card",
    "kafka_interface",
    "kafka_transport_producer",
    "register",
    "sdk_line",
    "to_sdk_card",
]
