"""Task stores that outlive a server: SQLite across a restart, Kafka across instances.

Run it with ``python docs/examples/task_stores.py`` (needs the ``broker`` extra).
"""

import os
import tempfile

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp, TaskState
from a2a_kafka_sync.server.tasks import KafkaTaskStore, SQLiteTaskStore
from a2a_kafka_sync.testing import EmbeddedBroker


def pizza(message, context):
    task = context.task
    if task.state is TaskState.submitted:
        task.requires_input("Which size?")
        return None
    return f"A {message.text} pizza is on its way."


def serve(settings, topic, store):
    """Start one server instance; the app starts the store and closes it at stop()."""
    app = KafkaServerApp(pizza, request_topic=topic, task_store=store, **settings)
    app.start()
    app.wait_until_assigned(30)
    return app


def main():
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as scratch:
        settings = broker.settings()

        # SQLite: one server that must survive its own restart.
        path = os.path.join(scratch, "tasks.db")
        with KafkaClientTransport(request_topic="pizza-sqlite", timeout=10, **settings) as client:
            app = serve(settings, "pizza-sqlite", SQLiteTaskStore(path))
            task = client.send_text("I want a pizza")
            app.stop()  # the process restarts: same file, new store

            app = serve(settings, "pizza-sqlite", SQLiteTaskStore(path))
            print("sqlite, after the restart:", client.get_task(task.id).status.state)
            print("sqlite, continued:", client.send_text("small", task_id=task.id).status.state)
            app.stop()

        # Kafka: every instance reads the same compacted topic.
        with KafkaClientTransport(request_topic="pizza-kafka", timeout=10, **settings) as client:
            first = serve(settings, "pizza-kafka", KafkaTaskStore(topic="pizza-tasks", **settings))
            task = client.send_text("I want a pizza")
            # a second instance, with an empty view that it rebuilds from the topic
            second = serve(settings, "pizza-kafka", KafkaTaskStore(topic="pizza-tasks", **settings))
            first.stop()  # only the second instance serves now

            print("kafka, on the other instance:", client.get_task(task.id).status.state)
            print("kafka, continued:", client.send_text("large", task_id=task.id).status.state)
            second.stop()


if __name__ == "__main__":
    main()
