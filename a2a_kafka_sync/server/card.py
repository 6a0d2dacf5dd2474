"""A server's agent card on the card topic, for discovery: published at start, republished
while the server runs (a heartbeat), removed at a clean stop.

The card is published with a time to live (``card_ttl_ms`` header, three heartbeats), so
a reader hides the card of a server that crashed once no heartbeat renewed it; a server
that stops cleanly writes a tombstone, unless other members of its consumer group (other
instances of the same agent) still serve.

Thread: ``a2a-kafka-card-heartbeat``, one per app with a ``card_topic`` and a
``card_interval``; started by the app's ``start()``, stopped and joined by its ``stop()``.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from .._kafka import build_admin, describe_groups
from .._reach import check_reachable
from ..config import ServerConfig
from ..errors import A2AKafkaError
from ..types import AgentCard

if TYPE_CHECKING:
    from ..discovery import AgentDirectory

__all__ = ["TTL_HEARTBEATS", "CardPublisher", "ExtendedCard", "with_interface"]

# Logged under the app's name, as before card.py was split off from app.py:
# docs/observability.md names that logger for these lines, and operators filter on it.
logger = logging.getLogger("a2a_kafka_sync.server.app")

TTL_HEARTBEATS = 3
"""A card's time to live, in heartbeats: two may be missed before readers hide it."""


def with_interface(config: ServerConfig, given: AgentCard) -> AgentCard:
    """``given`` with this server's Kafka interface in both shapes (v0.3 ``url`` /
    ``preferredTransport`` / ``additionalInterfaces``, v1.0 ``supportedInterfaces``), as the
    server publishes and serves its cards; ``given`` itself when it is signed, no
    ``card_signer`` is set and adding the interface would break its signatures (WARNING)."""
    from ..interfaces import with_kafka_interface

    card = with_kafka_interface(given, config.bootstrap_servers, config.request_topic)
    if given.signatures and config.card_signer is None and card != given:
        logger.warning(
            "the card of %s is signed but lacks its Kafka interface: served as given, "
            "since adding it would break the signatures (sign the card after "
            "with_kafka_interface, or set card_signer)",
            given.name,
        )
        return given
    return card


class ExtendedCard:
    """The authenticated extended card as the server answers ``agent_card_get`` with it:
    with the Kafka interface of the published card (:func:`with_interface`), so a client
    that swaps it in for the public card, as A2A suggests, keeps the agent's address; and
    signed by ``card_signer`` when that is set. The last card a handler returned is
    remembered, so a handler that answers with the same card is not re-signed each time."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self._last: tuple[AgentCard, AgentCard] | None = None

    def served(self, given: AgentCard) -> AgentCard:
        """The card to answer with for the card a handler returned."""
        last = self._last
        if last is not None and last[0] is given:
            return last[1]
        card = with_interface(self._config, given)
        if self._config.card_signer is not None and card is not given:
            card = self._config.card_signer(card)
        self._last = (given, card)
        return card


class CardPublisher:
    """Publishes one app's card (with its Kafka interface) and keeps it fresh.

    Every failure is logged, never raised: discovery is a convenience, serving goes on.
    """

    def __init__(self, config: ServerConfig, card: AgentCard, topic: str) -> None:
        self._config = config
        self._topic = topic
        self._card = with_interface(config, card)
        self._directory: AgentDirectory | None = None
        self._published = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        interval = config.card_interval
        self._ttl = None if interval is None else interval * TTL_HEARTBEATS

    def _open(self) -> AgentDirectory:
        from ..discovery import AgentDirectory, AgentDirectoryConfig

        if self._directory is None:
            config = self._config
            directory_config = AgentDirectoryConfig(
                bootstrap_servers=config.bootstrap_servers,
                topic=self._topic,
                profile=config.profile,
                kafka=config.kafka,
                connect_timeout=config.connect_timeout,
                create_topics=config.create_topics,
                card_signer=config.card_signer,
            )
            self._directory = AgentDirectory(config=directory_config)
        return self._directory

    def _publish(self) -> bool:
        try:
            self._open().publish(self._card, ttl=self._ttl)
        except A2AKafkaError as exc:
            if self._stop.is_set():  # stopping meanwhile: the directory was closed under it
                return False
            logger.warning(
                "could not publish the card of %s on %s: %s", self._card.name, self._topic, exc
            )
            return False
        return True

    def start(self) -> None:
        """Publish the card (waiting for the broker's acknowledgement), then start the
        heartbeat when ``card_interval`` is set."""
        if self._publish():
            self._published = True
            logger.info("published the card of %s on %s", self._card.name, self._topic)
        interval = self._config.card_interval
        if interval is not None:
            self._thread = threading.Thread(
                target=self._beat, args=(interval,), name="a2a-kafka-card-heartbeat", daemon=True
            )
            self._thread.start()

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            if self._publish():
                self._published = True

    def stop(self) -> None:
        """Stop the heartbeat (join it for up to 2 s: a publish held by a broker that is down
        is left to end on its own), then remove the card when this app published it, a
        broker takes a connection, and no other member of its consumer group still serves;
        close the directory. Never raises; bounded by the directory's ``read_timeout``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        directory, self._directory = self._directory, None
        if directory is None:
            return
        try:
            check_reachable(self._config.bootstrap_servers)  # down: no 15 s connect attempts
            if self._published and not self._others_serve():
                directory.unpublish(self._card.name)
                logger.info("removed the card of %s from %s", self._card.name, self._topic)
        except A2AKafkaError as exc:
            logger.warning(
                "could not remove the card of %s from %s: %s", self._card.name, self._topic, exc
            )
        finally:
            directory.close(timeout=1.0)

    def _others_serve(self) -> bool:
        """True when the app's consumer group still has members (other instances of this
        agent) once this one left: they keep the card. False when the brokers cannot say."""
        config = self._config
        try:
            admin = build_admin(config)
        except A2AKafkaError:
            return False
        try:
            described = describe_groups(admin, [config.group_id])
        except A2AKafkaError as exc:
            logger.debug("could not describe group %s: %s", config.group_id, exc)
            return False
        finally:
            admin.close()
        members = (described.get(config.group_id) or {}).get("members") or []
        own = config.group_instance_id  # a static member may still be listed: not another
        return any(own is None or member.get("group_instance_id") != own for member in members)
