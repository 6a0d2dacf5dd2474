"""What the Kafka task-event log costs per task event, against the in-memory log.

Run: ``python tests/benchmarks/task_events.py``. It starts the embedded broker, serves an
agent that streams one task of ``EVENTS`` artifact updates, with each log, a few times, and
prints the time per event seen by the client. Read the difference: the absolute numbers
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import statistics
import time

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp, Message, RequestContext
from a2a_kafka_sync.testing import EmbeddedBroker

EVENTS = 200
RUNS = 5


def agent(message: Message, context: RequestContext) -> None:
    """One task, EVENTS artifact updates, completed."""
    context.task.start_work()
    for i in range(EVENTS):
        context.task.add_artifact(str(i))
    context.task.complete()


def measure(settings: dict[str, object], event_log: str) -> float:
    """Median milliseconds per event of a streamed task."""
    topic = f"bench-events-{event_log}"
    with KafkaServerApp(agent, request_topic=topic, event_log=event_log, **settings) as app:  # type: ignore[arg-type]
        app.wait_until_assigned(30)
        with KafkaClientTransport(request_topic=topic, **settings) as client:  # type: ignore[arg-type]
            per_event = []
            for _ in range(RUNS + 1):
                started = time.perf_counter()
                count = len(client.send_message_streaming("go").collect())
                per_event.append((time.perf_counter() - started) / count * 1000)
            return statistics.median(per_event[1:])  # the first run warms up


def main() -> None:
    """Print the per-event time with each log."""
    with EmbeddedBroker() as broker:
        settings = broker.settings()
        for log in ("memory", "kafka"):
            print(f"{log:>6} log: {measure(settings, log):.2f} ms per event")


if __name__ == "__main__":
    main()
