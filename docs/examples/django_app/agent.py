"""The agent the Django example calls, on an embedded broker: ``python agent.py``.

It prints the environment the Django project needs, then serves until Ctrl-C.
Needs the ``broker`` extra. Against your own Kafka, serve your agent there instead.
"""

from a2a_kafka_sync import KafkaServerApp
from a2a_kafka_sync.errors import InvalidParamsError
from a2a_kafka_sync.testing import EmbeddedBroker


def agent(message, context):
    """Streams the words back, or says what it got; an empty message is refused."""
    if not message.text.strip():
        raise InvalidParamsError("say something")
    if context.streaming:
        for word in message.text.split():
            yield f"you said: {word}"
    else:
        yield f"you said: {message.text}"


def main():
    with EmbeddedBroker() as broker:
        app = KafkaServerApp(agent, request_topic="web-agent", **broker.settings())
        print("In another shell, in docs/examples/django_app:", flush=True)
        print(
            f"  export A2A_KAFKA_BOOTSTRAP={broker.bootstrap_servers} "
            f"A2A_KAFKA_PROFILE={broker.profile}",
            flush=True,
        )
        print("  python manage.py runserver", flush=True)
        app.run()  # until Ctrl-C or SIGTERM


if __name__ == "__main__":
    main()
