"""Handing the reply topic from one reply reader to the next (a repair) without skipping a
reply or handing one twice.

Each reader keeps :class:`Handled`: where it stands in each partition, and, when its
consumer moved back (the reply topic was made again below it: the broker lost it, and the
consumer reset its position, perhaps past records it never returned), where its last run
began. :func:`take_over` turns that into where the next reader starts: where the old one
stood; or, when the topic was made again, its beginning, skipping what the old reader
handled of it already.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kafka import TopicPartition

__all__ = ["Handled", "Start", "take_over"]


@dataclass
class Handled:
    """What one reader handled of each partition (written by its thread only).

    ``started``: where its consumer was positioned, by partition (as far as known);
    ``skip``: per partition, the offsets ``[low, high)`` its predecessor handled already.
    """

    started: dict[TopicPartition, int] = field(default_factory=dict)
    skip: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict)
    to: dict[TopicPartition, int] = field(default_factory=dict)
    """The offset after the last record handled, by partition."""
    run_from: dict[TopicPartition, int] = field(default_factory=dict)
    """Where the reader's last run began, for a partition whose consumer moved back."""

    def take(self, partition: TopicPartition, offset: int) -> bool:
        """Note the record at ``offset`` as handled; False (not to be handled) when the
        reader before this one handled it already."""
        skip = self.skip.get(partition)
        if skip is not None and skip[0] <= offset < skip[1]:
            return False
        at = self.to.get(partition, self.started.get(partition))
        if at is not None and offset < at:  # moved back: the topic was made again below
            self.run_from[partition] = offset
        self.to[partition] = offset + 1
        return True


@dataclass(frozen=True)
class Start:
    """Where a reader taking over starts: ``seek`` to an offset, or the ``beginning``, of
    each partition (the others stay at their end), skipping ``skip``."""

    seek: dict[TopicPartition, int]
    beginning: list[TopicPartition]
    skip: dict[TopicPartition, tuple[int, int]]
    started: dict[TopicPartition, int]
    """Where the consumer will stand, as far as known (not a beginning, resolved later)."""


def take_over(old: Handled, ends: Mapping[TopicPartition, int]) -> Start:
    """Where the reader after ``old`` starts, given each partition's ``ends`` now.

    Where the old one stood, when the partition still reaches there; its beginning when
    it ends below (made again: everything in it is newer than the old reader), or when
    the old reader's consumer moved back in it (records below where it went back to were
    never returned: read them, and skip those the old reader handled).
    """
    seek: dict[TopicPartition, int] = {}
    beginning: list[TopicPartition] = []
    skip: dict[TopicPartition, tuple[int, int]] = {}
    for partition, end in ends.items():
        at = old.to.get(partition, old.started.get(partition))
        if at is None:
            continue
        run_from = old.run_from.get(partition)
        if at > end:
            beginning.append(partition)
        elif run_from is not None:
            beginning.append(partition)
            skip[partition] = (run_from, at)
        else:
            seek[partition] = at
    started = {p: seek.get(p, end) for p, end in ends.items() if p not in beginning}
    return Start(seek, beginning, skip, started)
