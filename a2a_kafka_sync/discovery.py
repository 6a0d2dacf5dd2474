"""Agent discovery over Kafka: ``kafka://`` addresses in agent cards, and a directory of cards.

A card reaches its agent over Kafka through a ``kafka://host:port[,host2:port2]/request-topic``
URL, as its ``url`` (preferred transport ``KAFKA``) or as one of its
``additional_interfaces``. :class:`AgentDirectory` keeps cards on a compacted
topic keyed by agent name; readers keep the latest value per key and honour
tombstones themselves, so the directory is right whether or not the broker compacts.
A card published with a time to live (a running server's, republished well within it)
is hidden once it is older than that: its agent stopped without removing it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pydantic import Field, ValidationError

from ._kafka import (
    build_consumer,
    build_producer,
    close_producer,
    ensure_topics,
    translate_kafka_errors,
)
from .config import TopicName, _CommonConfig, config_from
from .errors import (
    A2AKafkaError,
    CardSignatureError,
    ClientClosedError,
    KafkaOperationError,
)
from .interfaces import KAFKA_BINDING as KAFKA_BINDING  # also importable from here
from .interfaces import KAFKA_TRANSPORT as KAFKA_TRANSPORT
from .interfaces import kafka_endpoint as kafka_endpoint
from .interfaces import kafka_url as kafka_url
from .interfaces import parse_kafka_url as parse_kafka_url
from .interfaces import protocol_version_for as protocol_version_for
from .interfaces import with_kafka_interface as with_kafka_interface
from .signing import TrustedKeys, check_keys, verify_card
from .types import AgentCard

if TYPE_CHECKING:  # imported when called: the server may import this module, never the client
    from .client import KafkaClientTransport

__all__ = [
    "CARD_TTL_HEADER",
    "AgentDirectory",
    "AgentDirectoryConfig",
    "AgentNotFoundError",
    "client_for",
]

logger = logging.getLogger(__name__)

CARD_TTL_HEADER = "card_ttl_ms"
"""Header of a card record: milliseconds after the record's timestamp during which the card
stands (its publisher republishes it before then while it runs). A card without it never
goes stale."""


def client_for(card: AgentCard, **settings: Any) -> KafkaClientTransport:
    """A (not yet opened) client for the card's agent, at :func:`kafka_endpoint` of the card.

    ``settings`` are KafkaClientTransport settings; they win over the card's
    address, e.g. ``bootstrap_servers`` when the card names an address only
    valid inside a cluster.
    """
    from .client import KafkaClientTransport

    servers, topic = kafka_endpoint(card)
    options: dict[str, Any] = {"bootstrap_servers": servers, "request_topic": topic, **settings}
    return KafkaClientTransport(agent_card=card, **options)


class AgentNotFoundError(A2AKafkaError, LookupError):
    """No card for the agent on the directory topic (``agent_name``, ``topic``), or only a
    stale one (``stale_for``: seconds past its time to live; None when there is no card)."""

    def __init__(self, agent_name: str, topic: str, *, stale_for: float | None = None) -> None:
        stale = (
            ""
            if stale_for is None
            else (
                f" (its card is stale: not republished for {stale_for:.0f}s past its time to "
                "live; the agent is likely gone)"
            )
        )
        super().__init__(f"no agent named {agent_name!r} in the directory{stale}", topic=topic)
        self.agent_name = agent_name
        self.stale_for = stale_for

    def __reduce__(self) -> tuple[object, ...]:
        return _rebuild_not_found, (self.agent_name, self.topic or "", self.stale_for)


def _rebuild_not_found(name: str, topic: str, stale_for: float | None) -> AgentNotFoundError:
    return AgentNotFoundError(name, topic, stale_for=stale_for)


@dataclass(frozen=True)
class _Entry:
    """The latest record of one agent name: its value, timestamp and time to live."""

    value: bytes
    published_ms: int
    ttl_ms: int | None

    def stale_for(self, now_ms: int) -> float | None:
        """Seconds past the time to live (None while it stands, or without one)."""
        if self.ttl_ms is None or now_ms <= self.published_ms + self.ttl_ms:
            return None
        return (now_ms - self.published_ms - self.ttl_ms) / 1000


def _ttl_ms(headers: list[tuple[str, bytes]] | None) -> int | None:
    for key, value in headers or ():
        if key == CARD_TTL_HEADER:
            try:
                return max(0, int(value.decode()))
            except (UnicodeDecodeError, ValueError):
                return None
    return None


class AgentDirectoryConfig(_CommonConfig):
    """Settings of an :class:`AgentDirectory`."""

    topic: TopicName = Field(
        default="a2a-agent-cards",
        description="Compacted topic holding the agent cards, keyed by agent name.",
    )
    read_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds any one directory operation (a publish's acknowledgement, a "
        "read of the whole topic) may wait before KafkaOperationError is raised.",
    )
    trusted_keys: TrustedKeys | None = Field(
        default=None,
        description="Public keys that sign agent cards: {kid: PEM, JWK dict or key object}, or "
        "a callable kid -> key (None when unknown). When set, resolve() and list() verify "
        "every card's signatures (docs/signed_cards.md); needs the signing extra.",
    )
    allow_unsigned: bool = Field(
        default=False,
        description="With trusted_keys, accept cards that carry no signature at all (a "
        "signed card must still verify); for a migration, not a protection.",
    )
    card_signer: Callable[[AgentCard], AgentCard] | None = Field(
        default=None,
        description="Signs each card publish() writes, as published (e.g. "
        "a2a_kafka_sync.signing.card_signer(key, key_id=...)); None publishes cards as given.",
    )


class AgentDirectory:
    """The agent cards published on a compacted topic, keyed by agent name.

    :meth:`publish` and :meth:`unpublish` write (and wait for the broker's
    acknowledgement); :meth:`list` and :meth:`resolve` read a snapshot of the
    whole topic with a consumer of their own, closed before they return. The
    topic is created (``cleanup.policy=compact``, one partition) when missing
    and ``create_topics`` is on. Safe to share between threads.

    Built like the client: ``bootstrap_servers``, ``topic`` and any other
    :class:`AgentDirectoryConfig` field as keywords (other keys are kafka-python
    settings), or one complete ``config``.
    """

    def __init__(
        self,
        bootstrap_servers: str | list[str] | None = None,
        topic: str | None = None,
        *,
        config: AgentDirectoryConfig | None = None,
        **settings: Any,
    ) -> None:
        explicit = {"bootstrap_servers": bootstrap_servers, "topic": topic}
        self.config: AgentDirectoryConfig = config_from(
            AgentDirectoryConfig, config, explicit, settings
        )
        self.topic = self.config.topic
        if self.config.trusted_keys is not None:
            check_keys(self.config.trusted_keys)
        self._lock = threading.Lock()
        self._producer: KafkaProducer | None = None
        self._closed = False

    def _open(self) -> KafkaProducer:
        """The producer, built (and the topic created) on first use."""
        with self._lock:
            if self._closed:
                raise ClientClosedError("the agent directory is closed", topic=self.topic)
            if self._producer is None:
                config = self.config
                block_ms = int(config.read_timeout * 1000)
                overrides = {} if "max_block_ms" in config.kafka else {"max_block_ms": block_ms}
                producer = build_producer(config, **overrides)
                try:
                    if config.create_topics:
                        ensure_topics(config, {self.topic: (1, {"cleanup.policy": "compact"})})
                except BaseException:
                    close_producer(producer, 1.0)
                    raise
                self._producer = producer
            return self._producer

    def _write(
        self,
        name: str,
        value: bytes | None,
        doing: str,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        producer = self._open()
        deadline = time.monotonic() + self.config.read_timeout
        with translate_kafka_errors(doing, topic=self.topic):
            future = producer.send(self.topic, key=name.encode(), value=value, headers=headers)
            future.get(timeout=max(0.0, deadline - time.monotonic()))

    def publish(self, card: AgentCard, *, ttl: float | None = None) -> None:
        """Publish (or replace) the card under ``card.name``; returns once the broker has it.

        The card is written as given, or as ``card_signer`` signs it when that is set.
        ``ttl``: seconds the card stands unless published again (the ``card_ttl_ms``
        header; readers hide it after that, :meth:`list`); None (default): for ever.
        """
        if self.config.card_signer is not None:
            card = self.config.card_signer(card)
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive or None")
        headers = None if ttl is None else [(CARD_TTL_HEADER, str(int(ttl * 1000)).encode())]
        self._write(card.name, card.to_json(), f"publishing the card of {card.name!r}", headers)
        logger.debug("published the card of %r on %s", card.name, self.topic)

    def unpublish(self, name: str) -> None:
        """Remove the agent's card (a tombstone); returns once the broker has it."""
        self._write(name, None, f"unpublishing the card of {name!r}")
        logger.info("unpublished the card of %r from %s", name, self.topic)

    def list(self, *, include_stale: bool = False) -> list[AgentCard]:
        """Every published card as of this call, sorted by name.

        A card older than the time to live it was published with (its agent stopped
        without removing it, or crashed) is left out, unless ``include_stale``. With
        ``trusted_keys``, a card that fails verification is left out, with a WARNING
        naming the agent and why.
        """
        cards = []
        found = self._snapshot()
        now_ms = int(time.time() * 1000)
        standing = [
            card
            for card, entry in found.values()
            if include_stale or entry.stale_for(now_ms) is None
        ]
        for card in sorted(standing, key=lambda card: card.name):
            try:
                self._verify(card)
            except CardSignatureError as exc:
                logger.warning("skipping the card of %r on %s: %s", card.name, self.topic, exc)
                continue
            cards.append(card)
        return cards

    def resolve(self, name: str, *, include_stale: bool = False) -> AgentCard:
        """The card published under ``name``; AgentNotFoundError when there is none, or
        when it is stale (as :meth:`list` says) unless ``include_stale``.

        With ``trusted_keys``, CardSignatureError when the card does not verify.
        """
        found = self._snapshot().get(name)
        if found is None:
            raise AgentNotFoundError(name, self.topic)
        card, entry = found
        stale_for = entry.stale_for(int(time.time() * 1000))
        if stale_for is not None and not include_stale:
            raise AgentNotFoundError(name, self.topic, stale_for=stale_for)
        self._verify(card)
        return card

    def _verify(self, card: AgentCard) -> None:
        """Check the card's signatures against ``trusted_keys`` (when set)."""
        keys = self.config.trusted_keys
        if keys is None or (self.config.allow_unsigned and not card.signatures):
            return
        kid = verify_card(card, keys, topic=self.topic)
        logger.debug("the card of %r on %s verified with key %r", card.name, self.topic, kid)

    def _snapshot(self) -> dict[str, tuple[AgentCard, _Entry]]:
        """Read the topic up to its end offsets at the start of the call: name -> card."""
        self._open()  # a producer that connected proves the brokers are there (see _kafka)
        consumer = build_consumer(
            self.config, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        try:
            with translate_kafka_errors("reading the agent directory", topic=self.topic):
                latest = self._read(consumer, time.monotonic() + self.config.read_timeout)
        finally:
            consumer.close(autocommit=False, timeout_ms=1000)
        return self._parse(latest)

    def _read(self, consumer: KafkaConsumer, deadline: float) -> dict[str, _Entry]:
        """The latest value of every key (tombstones remove), up to the end offsets of now."""

        def ms() -> int:
            return max(0, int((deadline - time.monotonic()) * 1000))

        ids = consumer.partitions_for_topic(self.topic)
        pending = {TopicPartition(self.topic, p) for p in ids}
        if not pending:
            return {}
        consumer.assign(sorted(pending))
        ends = consumer.end_offsets(sorted(pending), timeout_ms=ms())
        consumer.seek_to_beginning()
        latest: dict[str, _Entry] = {}
        while pending:
            if time.monotonic() >= deadline:
                raise KafkaOperationError(
                    f"reading the agent directory: timed out after {self.config.read_timeout}s",
                    topic=self.topic,
                )
            for partition, records in consumer.poll(timeout_ms=min(200, ms())).items():
                for record in records:
                    if record.offset >= ends[partition]:
                        continue
                    if record.key is None:
                        logger.warning("skipping a record without a key on %s", self.topic)
                    elif record.value is None:
                        latest.pop(record.key.decode(errors="replace"), None)
                    else:
                        entry = _Entry(record.value, record.timestamp, _ttl_ms(record.headers))
                        latest[record.key.decode(errors="replace")] = entry
            pending = {p for p in pending if (consumer.position(p, ms()) or 0) < ends[p]}
        return latest

    def _parse(self, latest: dict[str, _Entry]) -> dict[str, tuple[AgentCard, _Entry]]:
        cards: dict[str, tuple[AgentCard, _Entry]] = {}
        for name, entry in latest.items():
            try:
                card = AgentCard.from_json(entry.value)
            except ValidationError as exc:
                why = exc.errors(include_url=False, include_input=False)[0]["msg"]
                logger.warning("skipping %r on %s: not an agent card (%s)", name, self.topic, why)
                continue
            if card.name != name:
                logger.warning("skipping the card named %r under the key %r", card.name, name)
                continue
            cards[name] = (card, entry)
        return cards

    def close(self, timeout: float | None = None) -> None:
        """Close the producer, waiting at most ``timeout`` s (default ``read_timeout``) for
        what it holds. Idempotent; never raises for a broker that is down."""
        with self._lock:
            producer, self._producer, self._closed = self._producer, None, True
        if producer is not None:  # never raises, even with records it cannot deliver
            close_producer(producer, self.config.read_timeout if timeout is None else timeout)

    def __enter__(self) -> AgentDirectory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
