"""Where a card's agent listens on Kafka, in both shapes of the card, and in which A2A version.

An A2A v0.3 card names its Kafka interface with the transport label ``KAFKA``: as
its ``url`` (preferred transport ``KAFKA``) or as one of its
``additionalInterfaces``. An A2A v1.0 card lists ``supportedInterfaces``, each a
``url``, a ``protocolBinding`` (for Kafka, the URI :data:`KAFKA_BINDING`) and the
``protocolVersion`` spoken there. The url is ``kafka://host:port[,host2:port2]/request-topic``
in both. Cards made here declare both shapes (``docs/binding.md``).
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ConfigurationError
from .types import AgentCard, AgentInterface, ProtocolInterface
from .wire import SUPPORTED_VERSIONS, V0_3, V1_0

__all__ = [
    "KAFKA_BINDING",
    "KAFKA_TRANSPORT",
    "kafka_endpoint",
    "kafka_url",
    "parse_kafka_url",
    "protocol_version_for",
    "with_kafka_interface",
]

KAFKA_TRANSPORT = "KAFKA"
"""The transport label of the Kafka interface in v0.3 cards (as the asyncio implementation)."""

KAFKA_BINDING = "urn:a2a-kafka-sync:binding:kafka:v1"
"""The ``protocolBinding`` URI of this Kafka binding in v1.0 cards (``docs/binding.md``).

A breaking change of the binding gets a new URI (``...:v2``), as A2A v1.0 section
5.8 asks. Readers also take the label ``KAFKA`` as this binding.
"""

_SCHEME = "kafka://"
_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
_SERVER = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+)(:\d{1,5})?")


def _is_kafka(transport: str) -> bool:
    return transport.upper() == KAFKA_TRANSPORT


def _is_kafka_binding(binding: str) -> bool:
    return binding == KAFKA_BINDING or _is_kafka(binding)


def _kafka_url_first(card: AgentCard) -> bool:
    return _is_kafka(card.preferred_transport) or card.url.lower().startswith(_SCHEME)


def _kafka_interfaces(card: AgentCard) -> list[ProtocolInterface]:
    """The card's v1.0 Kafka interfaces, in the card's order."""
    return [i for i in card.supported_interfaces or [] if _is_kafka_binding(i.protocol_binding)]


def kafka_url(bootstrap_servers: str | list[str], request_topic: str) -> str:
    """The ``kafka://host:port[,host2:port2]/request-topic`` URL of an agent's request topic."""
    servers = (
        bootstrap_servers.split(",") if isinstance(bootstrap_servers, str) else bootstrap_servers
    )
    url = f"{_SCHEME}{','.join(s.strip() for s in servers)}/{request_topic}"
    parse_kafka_url(url)  # refuse what could not be read back
    return url


def parse_kafka_url(url: str) -> tuple[list[str], str]:
    """The bootstrap servers and request topic of a ``kafka://`` URL.

    Raises ConfigurationError for another scheme, an empty or malformed host, or
    a missing or invalid topic name.
    """
    if url[: len(_SCHEME)].lower() != _SCHEME:
        raise ConfigurationError(f"not a kafka:// URL: {url!r}")
    hosts, slash, topic = url[len(_SCHEME) :].partition("/")
    servers = [part.strip() for part in hosts.split(",")]
    if not all(_SERVER.fullmatch(server) for server in servers):
        raise ConfigurationError(f"kafka:// URL with an empty or malformed host: {url!r}")
    if not slash or not _TOPIC.fullmatch(topic):
        raise ConfigurationError(f"kafka:// URL without a valid request topic: {url!r}")
    return servers, topic


def kafka_endpoint(card: AgentCard) -> tuple[list[str], str]:
    """Where to reach the card's agent over Kafka: (bootstrap servers, request topic).

    The card's ``url`` when its preferred transport is KAFKA or the url is
    ``kafka://``; else the first additional interface whose transport is KAFKA;
    else (a v1.0-only card) the first supported interface with the Kafka binding.
    Raises ConfigurationError, naming the card, when there is none or it is malformed.
    """
    others = (i.url for i in card.additional_interfaces or [] if _is_kafka(i.transport))
    url = card.url if _kafka_url_first(card) else next(others, None)
    if url is None:
        url = next((i.url for i in _kafka_interfaces(card)), None)
    if url is None:
        raise ConfigurationError(f"agent card {card.name!r} declares no Kafka interface")
    try:
        return parse_kafka_url(url)
    except ConfigurationError as exc:
        raise ConfigurationError(f"agent card {card.name!r}: {exc}") from exc


def protocol_version_for(card: AgentCard) -> str:
    """The A2A version a client speaks to the card's agent over Kafka.

    The first of the card's Kafka ``supportedInterfaces`` (the agent's order of
    preference) whose ``protocolVersion`` this library speaks; without one, 0.3,
    which every Kafka peer speaks (the asyncio implementation included).
    """
    for interface in _kafka_interfaces(card):
        version = ".".join(interface.protocol_version.split(".")[:2])
        if version in SUPPORTED_VERSIONS:
            return version
    return V0_3


def with_kafka_interface(
    card: AgentCard,
    bootstrap_servers: str | list[str],
    request_topic: str,
    versions: tuple[str, ...] = (V1_0, V0_3),
) -> AgentCard:
    """A copy of ``card`` that declares its Kafka interface at this address, in both shapes.

    v0.3: a card with no url, or whose url or preferred transport is already
    Kafka, gets the ``kafka://`` url as its ``url`` and ``KAFKA`` as preferred
    transport. Otherwise url and preferred transport stay, and the Kafka
    interface is put in ``additional_interfaces`` (once), ahead of any other Kafka
    interface there, so :func:`kafka_endpoint` of the copy gives this address.

    v1.0: one ``supportedInterfaces`` entry per version in ``versions`` (the
    server's order of preference), with the binding :data:`KAFKA_BINDING`, ahead
    of the card's other entries; earlier Kafka entries for this url are replaced.
    """
    url = kafka_url(bootstrap_servers, request_topic)
    ours = [
        ProtocolInterface(url=url, protocol_binding=KAFKA_BINDING, protocol_version=version)
        for version in versions
    ]
    supported = ours + [
        i.model_copy()
        for i in card.supported_interfaces or []
        if not (_is_kafka_binding(i.protocol_binding) and i.url == url)
    ]
    update: dict[str, Any] = {"supported_interfaces": supported}
    if not card.url or _kafka_url_first(card):
        update.update(url=url, preferred_transport=KAFKA_TRANSPORT)
        return card.model_copy(update=update, deep=True)
    interfaces = [
        i.model_copy()
        for i in card.additional_interfaces or []
        if not (_is_kafka(i.transport) and i.url == url)
    ]
    first_kafka = next((n for n, i in enumerate(interfaces) if _is_kafka(i.transport)), None)
    interfaces.insert(
        len(interfaces) if first_kafka is None else first_kafka,
        AgentInterface(url=url, transport=KAFKA_TRANSPORT),
    )
    update["additional_interfaces"] = interfaces
    return card.model_copy(update=update, deep=True)
