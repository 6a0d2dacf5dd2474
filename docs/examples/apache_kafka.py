"""A server and a client on a real Apache Kafka, started for the occasion.

Needs Java 17+ and Maven: the first run fetches the broker's jars from Maven Central into
~/.cache/a2a-kafka-sync (later runs reuse them); the node is ready in 10-25 s.
"""

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.testing import ApacheKafka


def echo(message, context):
    return f"echo: {message.text}"


with ApacheKafka() as kafka:  # one KRaft node on free loopback ports; ApacheKafka(nodes=3)
    settings = kafka.settings()  # bootstrap_servers, and no profile: the library's defaults
    with KafkaServerApp(echo, request_topic="echo-agent", **settings) as app:
        app.wait_until_assigned(30)
        with KafkaClientTransport(request_topic="echo-agent", **settings) as client:
            print(client.send_text("hello"))  # -> echo: hello
