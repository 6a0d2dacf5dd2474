"""The reply reader's record handling on its own: no record can stop it (no broker)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition

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


class _Log:
    """A consumer over one partition whose offsets ``hidden`` are not visible yet.

    Like Tansu under concurrent produce: a later batch can be fetched while an
    earlier one is still being stored.
    """

    def __init__(self, offsets: list[int], hidden: set[int]) -> None:
        self.offsets, self.hidden, self.pos, self.seeks = offsets, hidden, 0, []

    def assignment(self) -> set[TopicPartition]:
        return {_TP}

    def position(self, tp: TopicPartition) -> int:
        return self.pos

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append(offset)
        self.pos = offset

    def poll(self) -> dict[TopicPartition, list[Record]]:
        records = [
            Record(b"{}", offset=o) for o in self.offsets if o >= self.pos and o not in self.hidden
        ]
        if records:
            self.pos = records[-1].offset + 1
        return {_TP: records} if records else {}


_TP = TopicPartition("replies", 0)


def _read(reader: ReplyReader, log: _Log, polls: int, handled: list[int]) -> None:
    for _ in range(polls):
        for tp, records in log.poll().items():
            handled.extend(record.offset for record in reader._contiguous(tp, records))


def _gap_reader(log: _Log, grace: float) -> ReplyReader:
    reader = ReplyReader(consumer=log, registry=CorrelationManager(), gap_grace=grace)  # type: ignore[arg-type]
    reader._start_offsets()
    return reader


def test_a_hole_in_the_offsets_is_read_again_and_its_records_are_not_skipped() -> None:
    log = _Log(list(range(10)), hidden={3, 4})
    reader, handled = _gap_reader(log, 10.0), []
    _read(reader, log, 2, handled)
    assert handled == [0, 1, 2] and log.seeks[0] == 3  # 5.. wait while 3-4 are read again
    log.hidden.clear()  # the earlier batch is stored now
    _read(reader, log, 2, handled)
    assert handled == list(range(10))  # in order, none twice
    assert not reader._holes


def test_a_lasting_hole_is_read_past_after_the_grace_all_holes_at_once() -> None:
    log = _Log([0, 1, 2, 5, 6, 8, 9], hidden=set())  # 3-4 and 7: transaction markers, say
    reader, handled = _gap_reader(log, 0.02), []
    _read(reader, log, 2, handled)
    assert handled == [0, 1, 2]
    time.sleep(0.03)
    _read(reader, log, 1, handled)
    assert handled == [0, 1, 2, 5, 6, 8, 9]
    assert not reader._holes
