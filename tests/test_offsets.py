"""The offset tracker on its own: what may be committed, and when (no broker)."""

from __future__ import annotations

import threading

from kafka import TopicPartition

from a2a_kafka_sync.server.offsets import OffsetTracker

P0 = TopicPartition("requests", 0)
P1 = TopicPartition("requests", 1)


def test_the_commit_point_stops_at_the_lowest_unfinished_offset() -> None:
    tracker = OffsetTracker()
    tickets = {offset: tracker.taken(P0, offset) for offset in (5, 6, 7)}

    tracker.finished(P0, 6, tickets[6])
    tracker.finished(P0, 7, tickets[7])
    assert tracker.to_commit() == {P0: 5}

    tracker.finished(P0, 5, tickets[5])
    assert tracker.to_commit() == {P0: 8}
    assert tracker.in_flight == 0


def test_only_moved_points_are_handed_out_again() -> None:
    tracker = OffsetTracker()
    tracker.finished(P0, 0, tracker.taken(P0, 0))
    assert tracker.to_commit() == {P0: 1}
    assert tracker.to_commit() == {}
    assert tracker.to_commit(changed_only=False) == {P0: 1}


def test_a_commit_limited_to_some_partitions_leaves_the_others_pending() -> None:
    tracker = OffsetTracker()
    tracker.finished(P0, 0, tracker.taken(P0, 0))
    tracker.finished(P1, 0, tracker.taken(P1, 0))

    assert tracker.to_commit(only={P0}) == {P0: 1}
    assert tracker.to_commit() == {P1: 1}


def test_a_ticket_from_before_a_rebalance_finishes_nothing() -> None:
    tracker = OffsetTracker()
    old = tracker.taken(P0, 3)
    tracker.forget([P0])
    new = tracker.taken(P0, 3)  # the partition came back and the record was read again

    tracker.finished(P0, 3, old)
    assert tracker.in_flight == 1
    assert tracker.to_commit() == {P0: 3}

    tracker.finished(P0, 3, new)
    assert tracker.to_commit() == {P0: 4}


def test_a_rewound_record_stays_unfinished_and_is_handed_out_once() -> None:
    tracker = OffsetTracker()
    tickets = {offset: tracker.taken(P0, offset) for offset in (0, 1, 2)}
    tracker.finished(P0, 0, tickets[0])
    tracker.rewind(P0, 2, tickets[2])
    tracker.rewind(P0, 1, tickets[1])
    tracker.finished(P0, 2, tickets[2])

    assert tracker.rewinds() == [(P0, 1)]
    assert tracker.rewinds() == []
    assert tracker.to_commit() == {P0: 1}  # offset 1 is read again, not skipped


def test_rewound_records_free_their_slots_until_they_are_read_again() -> None:
    """A broker restart once failed the replies of max_in_flight requests at once: counted
    in flight while they waited to be read again, they kept the consumer paused, and paused
    it never read them again (the server answered nothing for good)."""
    tracker = OffsetTracker()
    tickets = {offset: tracker.taken(P0, offset) for offset in range(4)}
    assert tracker.in_flight == 4
    for offset in range(4):
        tracker.rewind(P0, offset, tickets[offset], 3)
    assert tracker.in_flight == 0  # room to read them again
    assert tracker.wait_for_room(1, 0.0)
    assert tracker.to_commit() == {P0: 0}  # still not committed past them
    assert tracker.rewinds() == [(P0, 0)]
    again = {offset: tracker.taken(P0, offset) for offset in range(4)}  # read again
    assert tracker.in_flight == 4
    for offset in range(4):
        tracker.finished(P0, offset, again[offset])
    assert tracker.in_flight == 0 and tracker.to_commit() == {P0: 4}


def test_a_partition_taken_away_forgets_its_waiting_records() -> None:
    tracker = OffsetTracker()
    ticket = tracker.taken(P1, 7)
    tracker.taken(P0, 0)
    tracker.rewind(P1, 7, ticket, 3)
    tracker.forget([P1])
    assert tracker.in_flight == 1  # P0's record; P1's waiting one is not counted below zero


def test_a_rewind_from_before_a_rebalance_is_ignored() -> None:
    tracker = OffsetTracker()
    old = tracker.taken(P0, 5)
    tracker.forget([P0])
    tracker.rewind(P0, 5, old)
    assert tracker.rewinds() == []


def test_rewinds_are_counted_per_record_and_reset_when_it_finishes() -> None:
    tracker = OffsetTracker()
    ticket = tracker.taken(P0, 7)
    assert [tracker.rewind(P0, 7, ticket) for _ in range(3)] == [1, 2, 3]
    tracker.finished(P0, 7, ticket)
    ticket = tracker.taken(P0, 7)
    assert tracker.rewind(P0, 7, ticket) == 1


def test_a_record_rewound_past_the_limit_is_given_up_and_not_read_again() -> None:
    tracker = OffsetTracker()
    ticket = tracker.taken(P0, 4)
    for expected in (1, 2):
        assert tracker.rewind(P0, 4, ticket, limit=2) == expected
        assert tracker.rewinds() == [(P0, 4)]
    assert tracker.rewind(P0, 4, ticket, limit=2) == 3  # past the limit: the caller gives up
    tracker.finished(P0, 4, ticket)
    assert tracker.rewinds() == []  # so it is not read again (and again, forever)
    assert tracker.to_commit() == {P0: 5}


def test_wait_for_room_returns_at_once_below_the_limit() -> None:
    tracker = OffsetTracker()
    tracker.taken(P0, 0)
    assert tracker.wait_for_room(2, timeout=0) is True


def test_wait_for_room_times_out_while_full() -> None:
    tracker = OffsetTracker()
    tracker.taken(P0, 0)
    tracker.taken(P0, 1)
    assert tracker.wait_for_room(2, timeout=0.05) is False


def test_wait_for_room_wakes_when_a_record_finishes() -> None:
    tracker = OffsetTracker()
    tickets = [tracker.taken(P0, offset) for offset in (0, 1)]
    woke = []
    waiter = threading.Thread(target=lambda: woke.append(tracker.wait_for_room(2, timeout=30)))
    waiter.start()
    waiter.join(0.1)
    assert waiter.is_alive()  # still full: it waits

    tracker.finished(P0, 1, tickets[1])
    waiter.join(5)
    assert woke == [True]


def test_wait_for_room_wakes_when_a_partition_is_taken_away() -> None:
    tracker = OffsetTracker()
    tracker.taken(P0, 0)
    woke = []
    waiter = threading.Thread(target=lambda: woke.append(tracker.wait_for_room(1, timeout=30)))
    waiter.start()
    tracker.forget([P0])
    waiter.join(5)
    assert woke == [True]


def test_a_request_holding_the_commit_point_behind_finished_ones_is_reported() -> None:
    now = [100.0]
    tracker = OffsetTracker(clock=lambda: now[0])
    tp = TopicPartition("t", 0)
    tickets = {offset: tracker.taken(tp, offset) for offset in range(5)}
    now[0] += 10
    assert tracker.holds(5.0) == []  # nothing after offset 0 is finished yet
    for offset in (1, 2, 3):
        tracker.finished(tp, offset, tickets[offset])
    (hold,) = tracker.holds(5.0)
    assert (hold.partition, hold.offset, hold.seconds, hold.behind) == (tp, 0, 10.0, 3)
    assert tracker.holds(15.0) == []  # not held that long
    tracker.finished(tp, 0, tickets[0])  # the hold ends; offset 4 is the lowest, alone
    now[0] += 100
    assert tracker.holds(5.0) == []
    tracker.forget([tp])
    assert tracker.holds(0.0) == []
