"""Discovery: servers publish their cards; a directory lists and resolves them; a client follows.

Run it with ``python docs/examples/discovery.py`` (needs the ``broker`` extra).
"""

from a2a_kafka_sync import AgentCard, AgentDirectory, KafkaServerApp, client_for
from a2a_kafka_sync.discovery import AgentNotFoundError, kafka_endpoint
from a2a_kafka_sync.testing import EmbeddedBroker


def weather(message):
    return f"sunny in {message.text}"


def echo(message):
    return message.text


def main():
    with EmbeddedBroker() as broker:
        settings = broker.settings()
        weather_card = AgentCard(name="weather", description="Forecasts for a city")
        echo_card = AgentCard(name="echo", description="Says it back")
        weather_app = KafkaServerApp(
            weather, request_topic="weather-v1", agent_card=weather_card, **settings
        )
        echo_app = KafkaServerApp(echo, request_topic="echo-v1", agent_card=echo_card, **settings)
        # Each server publishes its card on card_topic ("a2a-agent-cards") as it starts.
        with weather_app, echo_app, AgentDirectory(**settings) as directory:
            for card in directory.list():
                _servers, topic = kafka_endpoint(card)
                print(f"{card.name}: {card.preferred_transport} {topic} - {card.description}")

            card = directory.resolve("weather")
            # The card's kafka:// url names the brokers and the request topic; settings
            # given here (the profile, a timeout, other brokers) win over the card's.
            with client_for(card, profile=settings["profile"], timeout=10) as client:
                print(client.send_text("Lisbon"))

            directory.unpublish("echo")  # a tombstone: the card is gone for every reader
            print([card.name for card in directory.list()])
            try:
                directory.resolve("echo")
            except AgentNotFoundError as exc:
                print(exc)


if __name__ == "__main__":
    main()
