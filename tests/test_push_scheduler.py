"""PushScheduler without a broker: lanes per target, fairness, order, caps, a bounded close.

Jobs are plain callables that record what ran and block on events, so every assertion is
about the order of events, never about how long something took.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from helpers import wait_for

from a2a_kafka_sync.server.push_scheduler import DROP_REASONS, PushScheduler

NAME = "test-push-sched"


class Recorder:
    """Jobs that note when they start and end, and can be held until released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.ended: list[str] = []
        self.running: Counter[str] = Counter()
        self.most_running: Counter[str] = Counter()
        self.release = threading.Event()

    def job(self, label: str, target: str = "", *, hold: bool = False) -> Callable[[], None]:
        def run() -> None:
            with self.lock:
                self.started.append(label)
                self.running[target] += 1
                self.most_running[target] = max(self.most_running[target], self.running[target])
            if hold:
                self.release.wait(30)
            with self.lock:
                self.running[target] -= 1
                self.ended.append(label)

        return run


@pytest.fixture
def schedulers() -> Iterator[Callable[..., tuple[PushScheduler, Counter[str]]]]:
    made: list[PushScheduler] = []

    def make(**options: int) -> tuple[PushScheduler, Counter[str]]:
        drops: Counter[str] = Counter()
        settings = {
            "workers": 4,
            "per_target": 2,
            "max_queued": 1000,
            "max_queued_per_target": 1000,
            **options,
        }
        scheduler = PushScheduler(
            name=f"{NAME}-{len(made)}",
            on_drop=lambda reason: drops.update([reason]),
            **settings,  # type: ignore[arg-type]
        )
        made.append(scheduler)
        return scheduler, drops

    yield make
    for scheduler in made:
        scheduler.close(5)


def _threads(scheduler: PushScheduler) -> list[str]:
    """The names of the live threads of ``scheduler`` (each test's have a name of their own)."""
    return [t.name for t in threading.enumerate() if t in scheduler._threads]


def test_a_target_that_never_ends_holds_per_target_threads_and_others_still_run(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
) -> None:
    scheduler, _ = schedulers(workers=3, per_target=2)
    rec = Recorder()
    for i in range(24):  # the issue: 24 deliveries to a target that never answers
        scheduler.submit("https://dead:443", f"task-{i}", rec.job(f"dead-{i}", "dead", hold=True))
    fast_done = threading.Event()
    scheduler.submit("https://fast:443", "other", fast_done.set)
    assert fast_done.wait(10)  # it ran while every dead delivery was still held
    assert rec.ended == []
    assert rec.most_running["dead"] == 2  # per_target
    assert scheduler.threads <= 3
    rec.release.set()


def test_one_tasks_deliveries_to_one_target_run_in_order(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
) -> None:
    scheduler, _ = schedulers(workers=4, per_target=4)
    rec = Recorder()
    scheduler.submit("t", "task-a", rec.job("a0", "t", hold=True))
    for i in range(1, 6):
        scheduler.submit("t", "task-a", rec.job(f"a{i}", "t"))
    assert wait_for(lambda: rec.started == ["a0"])
    rec.release.set()
    assert wait_for(lambda: len(rec.ended) == 6)
    assert rec.started == [f"a{i}" for i in range(6)]
    assert rec.most_running["t"] == 1  # the later ones waited for the first: same lane


def test_a_target_never_runs_more_than_per_target_at_once_nor_the_pool_more_than_workers(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
) -> None:
    scheduler, _ = schedulers(workers=3, per_target=2)
    rec = Recorder()
    for i in range(40):
        scheduler.submit("t", f"task-{i}", rec.job(f"j{i}", "t", hold=i < 10))
    assert wait_for(lambda: rec.running["t"] == 2)
    rec.release.set()
    assert wait_for(lambda: len(rec.ended) == 40)
    assert rec.most_running["t"] == 2
    assert scheduler.threads <= 3


def test_ready_targets_are_served_in_turn(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
) -> None:
    scheduler, _ = schedulers(workers=1, per_target=1)
    rec = Recorder()
    scheduler.submit("gate", "g", rec.job("gate", "gate", hold=True))
    assert wait_for(lambda: rec.started == ["gate"])
    for i in range(3):
        scheduler.submit("a", "task-a", rec.job(f"a{i}", "a"))
    for i in range(3):
        scheduler.submit("b", "task-b", rec.job(f"b{i}", "b"))
    rec.release.set()
    assert wait_for(lambda: len(rec.ended) == 7)
    assert rec.started[1:] == ["a0", "b0", "a1", "b1", "a2", "b2"]  # not a0 a1 a2 b0 ...


def test_past_the_target_cap_the_targets_oldest_waiting_delivery_is_dropped(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    scheduler, drops = schedulers(workers=1, per_target=1, max_queued_per_target=3)
    rec = Recorder()
    scheduler.submit("t", "task", rec.job("s0", "t", hold=True))
    assert wait_for(lambda: rec.started == ["s0"])
    for i in range(1, 7):
        scheduler.submit("t", "task", rec.job(f"s{i}", "t"))
    assert scheduler.queued == 3
    assert drops == Counter({"target_full": 3})
    rec.release.set()
    assert wait_for(lambda: len(rec.ended) == 4)
    assert rec.started == ["s0", "s4", "s5", "s6"]  # the newest kept, still in order
    dropped = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 3 and all("task" in r.getMessage() for r in dropped)


def test_past_the_total_cap_the_fullest_target_gives_up_its_oldest(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
) -> None:
    scheduler, drops = schedulers(workers=1, per_target=1, max_queued=4)
    rec = Recorder()
    scheduler.submit("gate", "g", rec.job("gate", "gate", hold=True))
    assert wait_for(lambda: rec.started == ["gate"])
    for i in range(3):
        scheduler.submit("flood", "f", rec.job(f"f{i}", "flood"))
    scheduler.submit("quiet", "q", rec.job("q0", "quiet"))
    scheduler.submit("quiet", "q", rec.job("q1", "quiet"))  # the queue is full: f0 goes
    assert drops == Counter({"queue_full": 1})
    assert scheduler.queued == 4
    rec.release.set()
    assert wait_for(lambda: len(rec.ended) == 5)
    assert sorted(rec.started[1:]) == ["f1", "f2", "q0", "q1"]


def test_close_is_bounded_with_a_stuck_delivery_and_counts_what_it_drops(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    scheduler, drops = schedulers(workers=2, per_target=1)
    rec = Recorder()
    for i in range(5):
        scheduler.submit("dead", "task", rec.job(f"d{i}", "dead", hold=True))
    assert wait_for(lambda: rec.started == ["d0"])
    assert not scheduler.close(0.1)  # returned while d0 is still held
    assert rec.ended == [] and scheduler.abandoned.is_set()
    assert drops == Counter({"closed": 4})
    assert any("dropped 4 queued" in r.getMessage() for r in caplog.records)
    assert not scheduler.submit("dead", "task", rec.job("late"))  # refused after close
    assert drops == Counter({"closed": 5})
    rec.release.set()
    assert wait_for(lambda: not _threads(scheduler))
    assert rec.started == ["d0"]


def test_close_lets_queued_jobs_finish_and_ends_every_thread(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
) -> None:
    scheduler, drops = schedulers(workers=3, per_target=1)
    rec = Recorder()
    rec.release.set()
    for i in range(9):
        scheduler.submit(f"t{i % 3}", f"task-{i}", rec.job(f"j{i}", f"t{i % 3}"))
    assert scheduler.close(10)
    assert len(rec.ended) == 9 and not drops
    assert not _threads(scheduler)
    assert scheduler.close(1)  # idempotent


def test_threads_start_on_demand_and_carry_the_name(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
) -> None:
    scheduler, _ = schedulers(workers=8)
    assert scheduler.threads == 0
    done = threading.Event()
    scheduler.submit("t", "task", done.set)
    assert done.wait(10)
    assert scheduler.threads == 1 and _threads(scheduler) == [f"{NAME}-0-0"]


def test_a_job_that_raises_does_not_stop_its_thread(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
) -> None:
    scheduler, _ = schedulers(workers=1)

    def boom() -> None:
        raise RuntimeError("boom")

    done = threading.Event()
    scheduler.submit("t", "task", boom)
    scheduler.submit("t", "task", done.set)
    assert done.wait(10)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        PushScheduler(workers=0, per_target=1, max_queued=1, max_queued_per_target=1, name=NAME)
    with pytest.raises(ValueError):
        PushScheduler(
            workers=1, per_target=1, max_queued=1, max_queued_per_target=1, name=NAME, cool_down=0
        )
    assert DROP_REASONS == ("target_full", "queue_full", "target_down", "closed")


def test_more_dead_targets_than_threads_hold_threads_only_for_their_first_failures(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
) -> None:
    """Six dead targets and 4 threads: each failure takes a while (a receiver that never
    answers), so without the memory of failures every thread would be held by dead targets
    for as long as they have deliveries. After ``down_after`` failures a target is down and
    its deliveries are dropped at once; a live target's delivery runs among them."""
    scheduler, drops = schedulers(workers=4, per_target=1, down_after=2, cool_down=60.0)
    runs: Counter[str] = Counter()
    lock = threading.Lock()

    def dead(target: str) -> Callable[[], bool]:
        def run() -> bool:
            with lock:
                runs[target] += 1
            time.sleep(0.05)  # the attempt's timeout, shortened
            return False

        return run

    for i in range(20):
        for t in range(6):
            scheduler.submit(f"https://dead-{t}:443", f"task-{i}", dead(f"dead-{t}"))
    delivered = threading.Event()
    scheduler.submit("https://live:443", "task-live", lambda: delivered.set() or True)
    assert delivered.wait(10)
    assert wait_for(lambda: scheduler.queued == 0, 10)
    assert all(runs[f"dead-{t}"] == 2 for t in range(6)), runs  # down_after, then dropped
    assert drops["target_down"] == 6 * 18


def test_a_down_target_is_tried_again_after_its_cool_down(
    schedulers: Callable[..., tuple[PushScheduler, Counter[str]]],
) -> None:
    now = [1000.0]  # the scheduler's clock, moved by the test: no wall-clock timing
    scheduler, drops = schedulers(
        workers=2, per_target=1, down_after=1, cool_down=30.0, clock=lambda: now[0]
    )
    outcomes = iter([False, False, True])  # fails, fails its retry, then answers
    ran: list[str] = []

    def flaky() -> bool:
        ran.append("flaky")
        return next(outcomes)

    scheduler.submit("https://flaky:443", "t", flaky)  # fails: down for 30 s
    assert wait_for(lambda: len(ran) == 1, 5)
    scheduler.submit("https://flaky:443", "t", flaky)  # within the cool-down: dropped
    assert wait_for(lambda: drops["target_down"] == 1, 5)
    now[0] += 31
    scheduler.submit("https://flaky:443", "t", flaky)  # the retry: fails, down for 60 s
    assert wait_for(lambda: len(ran) == 2, 5)
    now[0] += 31
    scheduler.submit("https://flaky:443", "t", flaky)  # 31 s into 60 s: dropped
    assert wait_for(lambda: drops["target_down"] == 2, 5)
    now[0] += 31
    scheduler.submit("https://flaky:443", "t", flaky)  # the retry answers: back
    scheduler.submit("https://flaky:443", "t", lambda: ran.append("next") or True)
    assert wait_for(lambda: ran == ["flaky", "flaky", "flaky", "next"], 5)
    assert drops["target_down"] == 2
