"""The reply reader's record handling on its own: no record can stop it (no broker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from a2a_kafka_sync.client.correlation import CorrelationManager, Waiter
from a2a_kafka_sync.client.reader import ReplyReader
from a2a_kafka_sync.types import Message


@dataclass
class Record:
    value: bytes | None
    headers: list[tuple[str, Any]] = field(default_factory=list)
    topic: str = "replies"
    partition: int = 0
    offset: int = 0


def _reader(registry: CorrelationManager) -> ReplyReader:
    return ReplyReader(consumer=None, registry=registry)  # type: ignore[arg-type]


def test_a_null_header_value_is_skipped_and_the_reply_still_found() -> None:
    registry = CorrelationManager()
    waiter = registry.register("c-1")
    value = b'{"type":"message","data":' + Message.agent_text("hi").to_json() + b"}"

    _reader(registry)._handle(Record(value, [("trace_id", None), ("correlation_id", b"c-1")]))

    assert isinstance(waiter, Waiter) and waiter.wait(0).data.text == "hi"


def test_a_record_with_only_a_null_correlation_id_is_dropped() -> None:
    registry = CorrelationManager()
    registry.register("c-1")
    _reader(registry)._handle(Record(b"{}", [("correlation_id", None)]))
    assert len(registry) == 1
