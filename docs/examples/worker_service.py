"""A long-running worker process that serves an agent until SIGTERM (systemd, supervisor).

``KafkaServerApp.run()`` serves in the foreground. On SIGTERM (or SIGINT, Ctrl-C) it
stops taking requests, lets those in flight finish and send their replies (up to
``drain_timeout`` seconds), commits their offsets, and returns; the process then
exits with code 0. Run several copies on one request topic and they share its
partitions through their consumer group.

Configured from the environment:

- ``A2A_KAFKA_BOOTSTRAP``: the Kafka brokers (default ``localhost:9092``);
- ``A2A_KAFKA_PROFILE``: a settings profile, ``low-latency`` for the embedded broker
  (default: none, right for Apache Kafka);
- ``A2A_KAFKA_REQUEST_TOPIC``: the agent's request topic (default ``worker-agent``).

Run it with ``python docs/examples/worker_service.py``.
"""

import logging
import os
import sys
import time

from a2a_kafka_sync import KafkaServerApp
from a2a_kafka_sync.errors import A2AKafkaError

logger = logging.getLogger("worker_service")


def settings_from_env():
    """The brokers, profile and request topic, from the environment."""
    return {
        "bootstrap_servers": os.environ.get("A2A_KAFKA_BOOTSTRAP", "localhost:9092"),
        "profile": os.environ.get("A2A_KAFKA_PROFILE") or None,
        "request_topic": os.environ.get("A2A_KAFKA_REQUEST_TOPIC", "worker-agent"),
    }


def handle(message, context):
    """The agent: a plain function that stands in for real work (a report, a lookup).

    The message's metadata may ask for ``work_seconds`` of work, to watch a slow
    request finish after SIGTERM.
    """
    seconds = float((message.metadata or {}).get("work_seconds", 0))
    logger.info("working on %s (%.1f s)", context.correlation_id, seconds)
    time.sleep(seconds)
    logger.info("finished %s", context.correlation_id)
    return f"done: {message.text}"


def main():
    """Serve until SIGTERM or SIGINT; returns the process's exit code."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)  # kafka-python's connection chatter
    settings = settings_from_env()
    logger.info("worker service %d starting on %s", os.getpid(), settings["request_topic"])
    try:
        # drain_timeout: how long a stop waits for the requests in flight. Keep the
        # supervisor's stop timeout (TimeoutStopSec, stopwaitsecs) well above it.
        app = KafkaServerApp(handle, drain_timeout=10, **settings)
        app.run()  # returns after SIGTERM or SIGINT, once stopped
    except A2AKafkaError as exc:  # no broker, a refused setting: exit 1, the supervisor restarts
        logger.error("worker service failed: %s", exc)
        return 1
    logger.info("worker service stopped cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
