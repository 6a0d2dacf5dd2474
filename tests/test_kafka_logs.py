"""kafka-python's routine lines (a close that cancels a metadata refresh, a slow step of its
I/O loop) reach users' logs at DEBUG, not at ERROR or WARNING; everything else unchanged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import a2a_kafka_sync._kafka  # noqa: F401  (puts the filters on kafka-python's loggers)
from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp

CANCELLED = ("Metadata refresh: failed %s", "Cancelled")
SLOW_STEP = (
    "Task %r ran for %.3fs (>%.3fs threshold). It is blocking the event loop -- likely a "
    "tight sync loop inside a coroutine. Other pollers will time out.",
    "<Task x>",
    0.25,
    0.1,
)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def seen() -> Iterator[_Records]:
    """Every record that reaches a handler on the root logger (as a user's would)."""
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    levels = {
        name: logging.getLogger(name).level for name in ("kafka.cluster", "kafka.net.selector")
    }
    yield handler
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_a_cancelled_metadata_refresh_is_a_debug_line(seen: _Records) -> None:
    logger = logging.getLogger("kafka.cluster")
    logger.setLevel(logging.INFO)
    logger.error(*CANCELLED)
    assert seen.records == []

    logger.setLevel(logging.DEBUG)  # a user who asks for kafka-python's DEBUG lines
    logger.error(*CANCELLED)
    assert [(r.levelno, r.getMessage()) for r in seen.records] == [
        (logging.DEBUG, "Metadata refresh: failed Cancelled")
    ]


def test_a_slow_io_step_is_a_debug_line(seen: _Records) -> None:
    logger = logging.getLogger("kafka.net.selector")
    logger.setLevel(logging.INFO)
    logger.warning(*SLOW_STEP)
    assert seen.records == []
    logger.setLevel(logging.DEBUG)
    logger.warning(*SLOW_STEP)
    assert [r.levelname for r in seen.records] == ["DEBUG"]


def test_other_lines_of_those_loggers_keep_their_level(seen: _Records) -> None:
    logging.getLogger("kafka.cluster").setLevel(logging.INFO)
    logging.getLogger("kafka.cluster").error("Metadata refresh: failed %s", "NodeNotReadyError")
    logging.getLogger("kafka.net.selector").warning("Task %s left RUNNING after step", "t")
    assert [(r.name, r.levelno) for r in seen.records] == [
        ("kafka.cluster", logging.ERROR),
        ("kafka.net.selector", logging.WARNING),
    ]


@pytest.mark.slow
def test_opening_and_closing_clients_and_a_server_logs_none_of_them_above_debug(
    serve: Callable[..., KafkaServerApp],
    connect: Callable[..., KafkaClientTransport],
    seen: _Records,
    broker_settings: dict[str, Any],
) -> None:
    serve(lambda message: "ok")
    for _ in range(3):
        client = connect()
        assert client.send_text("x") == "ok"
        client.close()
    routine = [
        r
        for r in seen.records
        if r.levelno > logging.DEBUG
        and (
            "Metadata refresh: failed Cancelled" in r.getMessage()
            or "blocking the event loop" in r.getMessage()
        )
    ]
    assert routine == []
