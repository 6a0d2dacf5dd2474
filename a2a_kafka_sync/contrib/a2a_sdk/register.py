"""The Kafka transport in a2a-sdk's ``ClientFactory``, for its 0.3 and its 1.x lines.

a2a-sdk picks a transport by the label of a card's interface and calls the
producer registered for it: ``producer(card, url, config, interceptors)`` on 0.3,
``producer(card, url, config)`` on 1.x. :func:`kafka_transport_producer` accepts
both; :func:`register` registers it under ``KAFKA`` (the label
:func:`~a2a_kafka_sync.discovery.with_kafka_interface` writes in cards).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

from ...discovery import KAFKA_TRANSPORT, kafka_url
from .client import KafkaBridge, client_for_url
from .convert import sdk_line

__all__ = ["client_factory", "kafka_interface", "kafka_transport_producer", "register"]

_JSONRPC = "JSONRPC"  # a2a-sdk's label of JSON-RPC in both lines


def kafka_transport_producer(**settings: Any) -> Callable[..., Any]:
    """An a2a-sdk transport producer for Kafka interfaces, for either a2a-sdk line.

    The producer builds, for the interface's ``kafka://`` URL, a (lazily opened)
    :class:`~a2a_kafka_sync.client.KafkaClientTransport` wrapped as the installed
    line's ``ClientTransport``; closing the a2a-sdk client closes it.
    ``settings`` are KafkaClientTransport settings (``timeout``, ``profile``,
    security settings ...) and win over the URL's address. Interceptors (0.3) are
    accepted and not applied: they edit HTTP requests, and there is none.
    """

    def produce(card: Any, url: str, config: Any, interceptors: Any = None) -> Any:
        bridge = KafkaBridge(client_for_url(url, **settings))
        if sdk_line() == 0:
            from .transport03 import KafkaTransport03

            return KafkaTransport03(bridge, card)
        from .transport1 import KafkaTransport1

        return KafkaTransport1(bridge, card)

    return produce


def register(factory: Any, **settings: Any) -> None:
    """Register the Kafka transport with an a2a-sdk ``ClientFactory`` under ``KAFKA``.

    The factory's ``ClientConfig`` must list ``"KAFKA"`` among its transports
    (``supported_transports`` on 0.3, ``supported_protocol_bindings`` on 1.x) for
    the factory to choose it; :func:`client_factory` does both. ``settings``: see
    :func:`kafka_transport_producer`.
    """
    factory.register(KAFKA_TRANSPORT, kafka_transport_producer(**settings))


def client_factory(config: Any = None, **settings: Any) -> Any:
    """An a2a-sdk ``ClientFactory`` that reaches agents over Kafka as well.

    ``config`` is an a2a-sdk ``ClientConfig`` (default: a new one); a copy of it
    gets ``"KAFKA"`` added to its transports (after the ones it lists; an empty
    list, which means JSON-RPC to a2a-sdk, becomes JSON-RPC and Kafka).
    ``settings``: see :func:`kafka_transport_producer`.
    """
    module = importlib.import_module("a2a.client")
    config = config if config is not None else module.ClientConfig()
    field = "supported_transports" if sdk_line() == 0 else "supported_protocol_bindings"
    supported = list(getattr(config, field)) or [_JSONRPC]
    if KAFKA_TRANSPORT not in supported:
        supported.append(KAFKA_TRANSPORT)
    factory = module.ClientFactory(dataclasses.replace(config, **{field: supported}))
    register(factory, **settings)
    return factory


def kafka_interface(bootstrap_servers: str | list[str], request_topic: str) -> Any:
    """a2a-sdk's ``AgentInterface`` for an agent served on Kafka, to list in an a2a-sdk card.

    0.3: ``AgentInterface(transport="KAFKA", url=...)``; 1.x:
    ``AgentInterface(protocol_binding="KAFKA", url=..., protocol_version="0.3")``
    (the A2A version this library's wire carries).
    """
    url = kafka_url(bootstrap_servers, request_topic)
    if sdk_line() == 0:
        types = importlib.import_module("a2a.types")
        return types.AgentInterface(transport=KAFKA_TRANSPORT, url=url)
    pb = importlib.import_module("a2a.types.a2a_pb2")
    return pb.AgentInterface(url=url, protocol_binding=KAFKA_TRANSPORT, protocol_version="0.3")
