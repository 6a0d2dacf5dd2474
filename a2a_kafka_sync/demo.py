"""The whole round trip in one command: ``python -m a2a_kafka_sync.demo``.

Starts the embedded broker, serves a small agent with :class:`KafkaServerApp`,
then a :class:`KafkaClientTransport` sends it a message and prints the reply,
and streams a second reply, printing each event as it arrives. Needs the
``broker`` extra.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from typing import Any

from .client import KafkaClientTransport
from .server import KafkaServerApp, RequestContext
from .testing import EmbeddedBroker
from .types import (
    AgentCapabilities,
    AgentCard,
    AgentSkill,
    Artifact,
    Message,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
    TextPart,
)

__all__ = ["main", "storyteller"]

CARD = AgentCard(
    name="storyteller",
    description="Answers a greeting, and tells a short story one sentence at a time.",
    version="1.0.0",
    url="kafka://embedded/demo-storyteller",
    preferred_transport="KAFKA",
    capabilities=AgentCapabilities(streaming=True),
    skills=[AgentSkill(id="story", name="Story", description="A story, streamed.", tags=["demo"])],
)

STORY = [
    "Once, a Django view needed an answer from an agent far away.",
    "It had no event loop, only a thread and a deadline.",
    "So it wrote its question onto a Kafka topic and waited on an Event.",
    "A worker thread across the cluster read the question and answered.",
    "The reply came back on the view's own topic, and the page rendered in time.",
]


def storyteller(message: Message, context: RequestContext) -> Iterator[object]:
    """A plain generator agent: greets on a unary call, streams a story as task events."""
    if not context.streaming:
        yield Message.agent_text(
            f"Hello! You said: {message.text!r}", context_id=message.context_id
        )
        return
    task = Task(
        id=f"story-{context.correlation_id[:8]}",
        context_id=message.context_id or context.correlation_id,
        status=TaskStatus(state=TaskState.working),
    )
    yield task
    for i, sentence in enumerate(STORY):
        time.sleep(0.15)  # a story is told, not dumped
        yield TaskArtifactUpdateEvent(
            task_id=task.id,
            context_id=task.context_id,
            artifact=Artifact(artifact_id="story", parts=[TextPart(text=sentence)]),
            append=i > 0,
            last_chunk=i == len(STORY) - 1,
        )
    yield TaskStatusUpdateEvent(
        task_id=task.id,
        context_id=task.context_id,
        status=TaskStatus(state=TaskState.completed),
        final=True,
    )


def _describe(event: object) -> str:
    if isinstance(event, Task):
        return f"task {event.id} is {event.status.state.value}"
    if isinstance(event, TaskArtifactUpdateEvent):
        return f"  {event.artifact.text}"
    if isinstance(event, TaskStatusUpdateEvent):
        return f"task {event.task_id} is {event.status.state.value}"
    if isinstance(event, Message):
        return event.text
    return repr(event)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bootstrap", help="use this Kafka broker instead of starting one")
    parser.add_argument(
        "--profile", help="a settings profile for that broker (low-latency for Tansu)"
    )
    args = parser.parse_args(argv)

    if args.bootstrap:
        return _run({"bootstrap_servers": args.bootstrap, "profile": args.profile})
    print("starting the embedded broker ...", flush=True)
    with EmbeddedBroker() as broker:
        print(f"broker ready at {broker.bootstrap_servers}", flush=True)
        return _run(broker.settings())


def _run(settings: dict[str, Any]) -> int:
    topic = "demo-storyteller"
    with KafkaServerApp(storyteller, request_topic=topic, agent_card=CARD, **settings) as app:
        print(f"serving the agent {CARD.name!r} on topic {topic!r}", flush=True)
        app.wait_until_assigned(30)
        with KafkaClientTransport(CARD, request_topic=topic, timeout=30, **settings) as client:
            started = time.perf_counter()
            reply = client.send_text("Hi, agent!")
            print(f"reply ({(time.perf_counter() - started) * 1000:.0f} ms): {reply}", flush=True)
            print("streaming a story:", flush=True)
            with client.send_message_streaming("Tell me a story.") as stream:
                for event in stream:
                    print(_describe(event), flush=True)
    print("done: server and client closed cleanly", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
