"""Publishing a server's agent card on the card topic, for discovery."""

from __future__ import annotations

import logging

from ..config import ServerConfig
from ..errors import A2AKafkaError
from ..types import AgentCard

__all__ = ["publish_card"]

# Logged under the app's name, as before card.py was split off from app.py:
# docs/observability.md names that logger for these lines, and operators filter on it.
logger = logging.getLogger("a2a_kafka_sync.server.app")


def publish_card(config: ServerConfig, given: AgentCard, topic: str) -> None:
    """Publish this agent's card, with its Kafka interface, for discovery."""
    from ..discovery import AgentDirectory, AgentDirectoryConfig
    from ..interfaces import with_kafka_interface

    directory_config = AgentDirectoryConfig(
        bootstrap_servers=config.bootstrap_servers,
        topic=topic,
        profile=config.profile,
        kafka=config.kafka,
        connect_timeout=config.connect_timeout,
        create_topics=config.create_topics,
        card_signer=config.card_signer,
    )
    card = with_kafka_interface(given, config.bootstrap_servers, config.request_topic)
    if given.signatures and config.card_signer is None and card != given:
        logger.warning(
            "the card of %s is signed but lacks its Kafka interface: published as given, "
            "since adding it would break the signatures (sign the card after "
            "with_kafka_interface, or set card_signer)",
            given.name,
        )
        card = given
    try:
        with AgentDirectory(config=directory_config) as directory:
            directory.publish(card)
    except A2AKafkaError as exc:  # discovery is a convenience: serving goes on
        logger.warning("could not publish the card of %s on %s: %s", card.name, topic, exc)
    # published: AgentDirectory.publish logs it
