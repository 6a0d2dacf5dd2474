"""The measurements: each scenario runs the library and its reference in one run, one broker.

Every function takes the broker's settings and returns :class:`~report.Row` objects.
"""

from __future__ import annotations

import collections
import functools
import gc
import multiprocessing
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from agents import STREAM_EVENTS, ServerProcess
from floor import EchoClient, create_topic, one_way_rate
from report import Row

from a2a_kafka_sync import KafkaClientTransport, Message, MessageSendParams
from a2a_kafka_sync.wire import RequestHeaders, encode_reply, encode_request

__all__ = [
    "memory",
    "one_way",
    "profiles",
    "request_reply",
    "scale_out",
    "startup",
    "streaming",
]

TEXT = "x" * 64
"""The text each request carries (the records are ~300 bytes, as the library encodes them)."""

THREAD_COUNTS = (1, 8, 32, 128)


def _topic(name: str) -> str:
    return f"bench-{name}-{uuid.uuid4().hex[:8]}"


def _same_bytes() -> tuple[bytes, bytes]:
    """The request and reply values the library puts on the wire, for the floor to carry."""
    headers = RequestHeaders(correlation_id="c", reply_topic="r")
    request, _ = encode_request(
        "message_send", MessageSendParams(message=Message.user_text(TEXT)), headers
    )
    reply = encode_reply(Message.agent_text(TEXT), method="message_send")
    return request, reply


def _latencies(call: Callable[[], Any], count: int) -> list[float]:
    for _ in range(max(20, count // 10)):  # warm-up: connections, metadata, caches
        call()
    measured = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        measured.append((time.perf_counter() - started) * 1000)
    return sorted(measured)


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(len(values) * fraction))]


def _throughput(call: Callable[[], Any], threads: int, seconds: float) -> float:
    """Calls/s completed by ``threads`` threads calling in a loop for ``seconds``."""
    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def caller(index: int) -> None:
        start.wait()
        while time.perf_counter() < stop_at[0]:
            call()
            counts[index] += 1

    workers = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    stop_at[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    start.wait()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


def one_way(settings: dict[str, Any], count: int = 20_000) -> float:
    """R: the raw one-way pipeline (best of two runs)."""
    return max(one_way_rate(settings, _topic("one-way"), count) for _ in range(2))


def request_reply(
    settings: dict[str, Any], r: float, *, sequential: int, seconds: float
) -> list[Row]:
    """(a) sequential latency and (b) throughput with 1-128 threads, library vs floor."""
    request, reply = _same_bytes()
    floor_topic, library_topic = _topic("floor"), _topic("library")
    create_topic(settings, floor_topic, partitions=4)
    results: dict[str, dict[str, Any]] = {}
    with ServerProcess(settings, floor_topic, floor_reply=reply):
        floor = EchoClient(settings, floor_topic, request)
        try:
            results["floor"] = _measure_calls(floor.call, sequential, seconds)
        finally:
            floor.close()
    with (
        ServerProcess(settings, library_topic, agent="echo"),
        KafkaClientTransport(request_topic=library_topic, **settings) as client,
    ):
        results["library"] = _measure_calls(lambda: client.send_text(TEXT), sequential, seconds)
    ours, base = results["library"], results["floor"]
    rows = [
        Row("sequential", "p50", "ms", ours["p50"], base["p50"], target=("<=", 1.15)),
        Row("sequential", "p99", "ms", ours["p99"], base["p99"]),
    ]
    for threads in THREAD_COUNTS:
        rows.append(Row("throughput", f"{threads} threads", "req/s", ours[threads], base[threads]))
        if threads == 32:
            rows.append(
                Row(
                    "throughput",
                    "32 threads vs R",
                    "req/s",
                    ours[threads],
                    r,
                    reference_name="R",
                    target=(">=", 0.5),
                )
            )
    return rows


def _measure_calls(call: Callable[[], Any], sequential: int, seconds: float) -> dict[Any, Any]:
    latencies = _latencies(call, sequential)
    measured: dict[Any, Any] = {
        "p50": _percentile(latencies, 0.50),
        "p99": _percentile(latencies, 0.99),
    }
    for threads in THREAD_COUNTS:
        measured[threads] = _throughput(call, threads, seconds)
    return measured


def streaming(settings: dict[str, Any], r: float, events: int = STREAM_EVENTS) -> list[Row]:
    """(c) one stream of ``events`` events: rate, completeness and order, vs R."""
    topic = _topic("stream")
    with (
        ServerProcess(settings, topic, agent="stream"),
        KafkaClientTransport(request_topic=topic, **settings) as client,
    ):
        list(client.send_message_streaming("10"))  # warm-up
        received: list[str] = []
        started = time.perf_counter()
        first = None
        with client.send_message_streaming(str(events)) as stream:
            for text in stream.texts():  # the generator's pieces, as artifact chunks
                if first is None:
                    first = time.perf_counter() - started
                received.append(text)
        elapsed = time.perf_counter() - started
    in_order = received == [str(n) for n in range(events)]
    return [
        Row(
            "streaming",
            f"{events:,} events",
            "events/s",
            len(received) / elapsed,
            r,
            reference_name="R",
            target=(">=", 0.8),
            note=f"{len(received):,}/{events:,} received, "
            f"{'in order' if in_order else 'OUT OF ORDER'}, first after {first or 0:.3f} s",
        ),
        Row(
            "streaming",
            "complete and in order",
            "events",
            len(received) if in_order else 0,
            events,
            reference_name="sent",
            target=(">=", 1.0),
        ),
    ]


def versions(settings: dict[str, Any], *, sequential: int, seconds: float) -> list[Row]:
    """A2A 1.0 against 0.3 on one server: what the translation at the wire edge costs.

    One echo server and one streaming server; a 0.3 client and a 1.0 client, open
    side by side and measured in alternating rounds (so drift in the machine or the
    broker falls on both): sequential latency, 8-thread throughput, a 2,000-event stream.
    """
    rounds = 4
    topic, stream_topic = _topic("versions"), _topic("versions-stream")
    latencies: dict[str, list[float]] = {"0.3": [], "1.0": []}
    rates: dict[str, list[float]] = {"0.3": [], "1.0": []}
    streams: dict[str, list[float]] = {"0.3": [], "1.0": []}
    with (
        ServerProcess(settings, topic, agent="echo"),
        ServerProcess(settings, stream_topic, agent="stream"),
    ):
        clients = {
            version: (
                KafkaClientTransport(request_topic=topic, protocol_version=version, **settings),
                KafkaClientTransport(
                    request_topic=stream_topic, protocol_version=version, **settings
                ),
            )
            for version in ("0.3", "1.0")
        }
        try:
            for caller, streamer in clients.values():
                _latencies(lambda c=caller: c.send_text(TEXT), 20)  # warm-up
                list(streamer.send_message_streaming("10"))
            for index in range(rounds):
                order = ("0.3", "1.0") if index % 2 == 0 else ("1.0", "0.3")
                for version in order:
                    caller, streamer = clients[version]
                    call = functools.partial(caller.send_text, TEXT)
                    latencies[version] += _latencies(call, sequential // rounds)
                    rates[version].append(_throughput(call, 8, seconds / rounds))
                    started = time.perf_counter()
                    count = sum(1 for _ in streamer.send_message_streaming("2000"))
                    streams[version].append(count / (time.perf_counter() - started))
        finally:
            for pair in clients.values():
                for client in pair:
                    client.close()

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    new, old = "1.0", "0.3"
    return [
        Row(
            "A2A 1.0 vs 0.3",
            "sequential p50",
            "ms",
            _percentile(latencies[new], 0.5),
            _percentile(latencies[old], 0.5),
            "0.3",
        ),
        Row("A2A 1.0 vs 0.3", "8 threads", "req/s", mean(rates[new]), mean(rates[old]), "0.3"),
        Row(
            "A2A 1.0 vs 0.3",
            "stream of 2,000",
            "events/s",
            mean(streams[new]),
            mean(streams[old]),
            "0.3",
        ),
    ]


def startup(settings: dict[str, Any], repeats: int = 5) -> list[Row]:
    """(d) from constructing a client to holding its first reply (the agent already serves)."""
    request, reply = _same_bytes()
    topic, floor_topic = _topic("startup"), _topic("startup-floor")
    create_topic(settings, floor_topic, partitions=4)
    ours, base = [], []
    with ServerProcess(settings, topic, agent="echo"):
        with KafkaClientTransport(request_topic=topic, **settings) as warm:
            warm.send_text("warm-up")  # the agent's side is warm: measure the client
        for _ in range(repeats):
            started = time.perf_counter()
            with KafkaClientTransport(request_topic=topic, **settings) as client:
                client.send_text(TEXT)
                ours.append(time.perf_counter() - started)
    with ServerProcess(settings, floor_topic, floor_reply=reply):
        for _ in range(repeats):
            started = time.perf_counter()
            floor = EchoClient(settings, floor_topic, request)
            floor.call()
            base.append(time.perf_counter() - started)
            floor.close()
    median = statistics.median(ours)
    return [
        Row("start-up", "client to first reply", "s", median, statistics.median(base)),
        Row(
            "start-up",
            "client to first reply, bound",
            "s",
            median,
            1.0,
            reference_name="bound",
            target=("<=", 1.0),
            absolute=True,
            note=f"median of {repeats}; each creates its reply topic",
        ),
    ]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    import resource

    return pages * resource.getpagesize()


def _memory_child(settings: dict[str, Any], topic: str, count: int, kind: str, out: Any) -> None:
    request, _ = _same_bytes()
    if kind == "floor":
        floor = EchoClient(settings, topic, request)
        floor.submit()
        floor.flush()
        submit: Callable[[], Any] = floor.submit
        flush = floor.flush
    else:
        client = KafkaClientTransport(request_topic=topic, **settings).open()
        client.submit(TEXT, timeout=600).cancel()
        submit = lambda: client.submit(TEXT, timeout=600)  # noqa: E731
        flush = client._producer.flush  # type: ignore[union-attr]
    gc.collect()
    before = _rss_bytes()
    pending = [submit() for _ in range(count)]
    flush()  # the records have left: what stays is the waiting
    gc.collect()
    after = _rss_bytes()
    out.put((after - before) / len(pending))


def memory(settings: dict[str, Any], count: int = 10_000) -> list[Row]:
    """(e) RSS growth per request in flight, 10,000 unanswered requests, each side in a fresh
    process (nobody serves the topic, so every request stays pending)."""
    topic = _topic("memory")
    create_topic(settings, topic, partitions=4)
    spawn = multiprocessing.get_context("spawn")
    measured = {}
    for kind in ("floor", "library"):
        out = spawn.Queue()
        child = spawn.Process(target=_memory_child, args=(settings, topic, count, kind, out))
        child.start()
        measured[kind] = out.get(timeout=300)
        child.join(60)
    ours = measured["library"]
    return [
        Row(
            "memory",
            f"RSS per in-flight request ({count:,})",
            "bytes",
            ours,
            measured["floor"],
        ),
        Row(
            "memory",
            "RSS per in-flight request, bound",
            "bytes",
            ours,
            3072,
            reference_name="bound",
            target=("<=", 3072),
            absolute=True,
        ),
    ]


def _windowed_rate(client: KafkaClientTransport, window: int, seconds: float) -> float:
    """Calls/s with ``window`` calls kept in flight by one thread (submit, oldest result)."""
    in_flight: collections.deque[Any] = collections.deque()
    done = 0
    started = time.perf_counter()
    stop_at = started + seconds
    while time.perf_counter() < stop_at:
        while len(in_flight) < window:
            in_flight.append(client.submit("z"))
        in_flight.popleft().result()
        done += 1
    for call in in_flight:
        call.result()
    return done / (time.perf_counter() - started)


def scale_out(
    settings: dict[str, Any],
    seconds: float,
    *,
    max_workers: int = 8,
    window: int = 128,
    fetch_max_wait_ms: int = 10,
) -> list[Row]:
    """(f) 1 vs 4 server processes on an 8-partition topic, the handler sleeping 20 ms.

    The load comes from one client thread keeping ``window`` calls in flight
    (``submit``), so the load generator itself costs little CPU.
    """
    tuned = {**settings, "fetch_max_wait_ms": fetch_max_wait_ms}
    rates = {}
    for servers in (1, 4):
        topic = _topic(f"scale-{servers}")
        create_topic(settings, topic, partitions=8)
        processes = [
            ServerProcess(tuned, topic, agent="sleep", max_workers=max_workers)
            for _ in range(servers)
        ]
        for process in processes:
            process.launch()
        try:
            for process in processes:
                process.wait_ready()
            with KafkaClientTransport(request_topic=topic, **tuned) as client:
                _windowed_rate(client, window, 8.0)  # warm-up: the group settles, all serve
                rates[servers] = _windowed_rate(client, window, seconds)
        finally:
            for process in processes:
                process.stop()
    label = f"max_workers={max_workers}"
    return [
        Row("scale-out", f"1 server process, {label}", "req/s", rates[1]),
        Row(
            "scale-out",
            f"4 server processes, {label}",
            "req/s",
            rates[4],
            rates[1],
            reference_name="1 process",
            target=(">=", 3.2),
            note=f"{window} calls in flight, 8 partitions, fetch_max_wait_ms={fetch_max_wait_ms}",
        ),
    ]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profiles(
    settings: dict[str, Any], broker_pid: int | None, waits: tuple[int, ...] = (10, 50, 500)
) -> list[Row]:
    """The fetch-wait trade-off: sequential latency vs the CPU an idle client and server burn."""
    rows = []
    for wait in waits:
        topic = _topic(f"profile-{wait}")
        tuned = {**settings, "fetch_max_wait_ms": wait}
        server = ServerProcess(tuned, topic, agent="echo").start()
        try:
            with KafkaClientTransport(request_topic=topic, **tuned) as client:
                latencies = _latencies(lambda: client.send_text(TEXT), 20)
                pids = [os.getpid(), server.pid] + ([broker_pid] if broker_pid else [])
                before = [_cpu_seconds(pid) for pid in pids]
                time.sleep(5.0)  # idle: what polling alone costs
                after = [_cpu_seconds(pid) for pid in pids]
                idle = [(a - b) / 5.0 * 100 for a, b in zip(after, before, strict=True)]
        finally:
            server.stop()
        broker = f", broker {idle[2]:.1f}%" if broker_pid else ""
        rows.append(
            Row(
                "profiles",
                f"fetch_max_wait_ms={wait}: p50",
                "ms",
                _percentile(latencies, 0.5),
                note=f"idle CPU: client {idle[0]:.1f}%, server {idle[1]:.1f}%{broker}",
            )
        )
    return rows
