"""The quickstart of the a2a-kafka-sync docs, as one runnable file.

Run it with ``python docs/examples/quickstart.py``; it needs the ``broker``
extra (``pip install ".[broker]"`` from a clone of the repository) for the embedded broker.
"""

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp, Message
from a2a_kafka_sync.testing import EmbeddedBroker


# The agent: a plain function. It gets the request's Message and a RequestContext;
# a returned str becomes the agent's reply Message.
def echo(message, context):
    return "echo: " + message.text


def main():
    # A real Kafka-compatible broker (Tansu) in a child process, on a free port.
    with EmbeddedBroker() as broker:
        # broker.settings() is {"bootstrap_servers": ..., "profile": "low-latency"}.
        settings = broker.settings()

        # The server: a consumer thread reads the request topic, workers run echo().
        with KafkaServerApp(echo, request_topic="echo-agent", **settings) as app:
            app.wait_until_assigned(30)  # only so the first call is not slowed by the group join

            # The client: blocking calls, safe to share between threads.
            with KafkaClientTransport(request_topic="echo-agent", timeout=10, **settings) as client:
                # 1. Text in, text out.
                print(client.send_text("hello"))

                # 2. A Message in, a Message (or a Task) out.
                reply = client.send_message(Message.user_text("how are you?"))
                print(type(reply).__name__, reply.text)

                # 3. A stream: iterate the events as they arrive; the with block
                #    frees the stream even if you stop early.
                with client.send_message_streaming("stream this") as stream:
                    for event in stream:
                        print("event:", type(event).__name__, event.text)


if __name__ == "__main__":
    main()
