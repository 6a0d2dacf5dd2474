"""Tasks behind plain-function agents: multi-turn, streaming, cancel, resubscribe, get and list.

Run it with ``python docs/examples/tasks.py`` (needs the ``broker`` extra).
"""

import threading

from a2a_kafka_sync import (
    KafkaClientTransport,
    KafkaServerApp,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatusUpdateEvent,
)
from a2a_kafka_sync.testing import EmbeddedBroker


def pizza(message, context):
    """A multi-turn agent: the first message asks for the size, the second completes."""
    task = context.task  # a TaskUpdater for the task this message starts or continues
    if task.state is TaskState.submitted:  # a new task
        task.start_work("looking at the menu")
        task.requires_input("Which size?")  # ends the turn; the task waits for the caller
        return None
    task.add_artifact(f"one {message.text} pizza", name="order")
    return f"A {message.text} pizza is on its way."  # completes the task with this message


release = threading.Event()  # lets main() decide when the counter may finish


def counter(message, context):
    """A long-running agent that stops when its task is canceled."""
    context.task.start_work("counting")
    for i in range(1, 101):
        if context.is_cancelled():  # a task_cancel arrived: the task is already canceled
            return None
        context.task.add_artifact(str(i), artifact_id="count", append=i > 1)
        if i >= 3 and release.wait(0.1):
            break
    context.task.complete("done counting")
    return None


def describe(event):
    """One line per stream event."""
    if isinstance(event, Task):
        return f"Task {event.status.state}"
    if isinstance(event, TaskStatusUpdateEvent):
        return f"status {event.status.state} final={event.final}"
    if isinstance(event, TaskArtifactUpdateEvent):
        return f"artifact {event.artifact.text!r}"
    return f"Message {event.text!r}"


def main():
    with EmbeddedBroker() as broker:
        settings = broker.settings()
        pizza_app = KafkaServerApp(pizza, request_topic="pizza", **settings)
        counter_app = KafkaServerApp(counter, request_topic="counter", **settings)
        with pizza_app, counter_app:
            pizza_app.wait_until_assigned(30)
            counter_app.wait_until_assigned(30)
            with KafkaClientTransport(request_topic="pizza", timeout=10, **settings) as client:
                # 1. Multi-turn: the first answer is a Task waiting for input.
                task = client.send_text("I want a pizza", context_id="table-7")
                print(task.status.state, "-", task.status.message.text)

                # The next message names the task: the same agent continues it.
                task = client.send_text("large", task_id=task.id)
                print(task.status.state, "-", task.artifacts[0].text)
                print("history:", [m.text for m in task.history])

                # 2. Streaming: the task's events arrive as the agent makes them.
                with client.send_message_streaming("I want a pizza") as stream:
                    for event in stream:
                        print("event:", describe(event))

                # 3. get_task and list_tasks read the task store.
                latest = client.get_task(task.id, history_length=1)
                print("get_task:", latest.status.state, [m.text for m in latest.history])
                print("tasks of table-7:", len(client.list_tasks(context_id="table-7")))

            with KafkaClientTransport(request_topic="counter", timeout=10, **settings) as client:
                # 4. Cancel: the agent sees context.is_cancelled() and stops.
                with client.send_message_streaming("count") as stream:
                    task = next(stream)
                    print("event:", describe(task), "|", describe(next(stream)))
                    print("cancel_task:", client.cancel_task(task.id).status.state)
                    print("last event:", describe(list(stream)[-1]))

                # 5. Resubscribe: follow a running task from another client.
                starter = KafkaClientTransport(request_topic="counter", timeout=10, **settings)
                stream = starter.send_message_streaming("count")
                task, _working = next(stream), next(stream)
                starter.close()  # the client that started the task is gone
                with client.resubscribe(task.id) as events:
                    print("resubscribed:", describe(next(events)))
                    release.set()
                    print("last event:", describe(list(events)[-1]))
                print("get_task:", client.get_task(task.id).status.state)


if __name__ == "__main__":
    main()
