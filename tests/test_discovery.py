"""Agent discovery: kafka:// URLs in cards, and the directory of cards on a compacted topic."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import RawKafka

from a2a_kafka_sync import KafkaServerApp, Message, RequestContext
from a2a_kafka_sync.discovery import (
    KAFKA_TRANSPORT,
    AgentDirectory,
    AgentDirectoryConfig,
    AgentNotFoundError,
    client_for,
    kafka_endpoint,
    kafka_url,
    parse_kafka_url,
    with_kafka_interface,
)
from a2a_kafka_sync.errors import A2AKafkaError, ClientClosedError, ConfigurationError
from a2a_kafka_sync.types import AgentCard, AgentInterface

# -- kafka:// URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("servers", "url"),
    [
        ("localhost:9092", "kafka://localhost:9092/agent-requests"),
        (["a:9092", "b:9093"], "kafka://a:9092,b:9093/agent-requests"),
        ("a:9092, b:9093", "kafka://a:9092,b:9093/agent-requests"),
        (["[::1]:9092"], "kafka://[::1]:9092/agent-requests"),
    ],
)
def test_kafka_url_round_trips(servers: str | list[str], url: str) -> None:
    assert kafka_url(servers, "agent-requests") == url
    assert parse_kafka_url(url) == (
        [s.strip() for s in (servers.split(",") if isinstance(servers, str) else servers)],
        "agent-requests",
    )


def test_the_scheme_is_case_insensitive() -> None:
    assert parse_kafka_url("KAFKA://broker/t.1_x-y") == (["broker"], "t.1_x-y")


@pytest.mark.parametrize(
    "url",
    [
        "http://host:9092/topic",
        "kafka:/host:9092/topic",
        "kafka://host:9092",
        "kafka://host:9092/",
        "kafka:///topic",
        "kafka://:9092/topic",
        "kafka://a:9092,/topic",
        "kafka://host:port/topic",
        "kafka://host:9092/a/b",
        "kafka://host:9092/bad topic",
        "",
    ],
)
def test_parse_kafka_url_refuses_anything_else(url: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_kafka_url(url)


@pytest.mark.parametrize(("servers", "topic"), [("h:1", ""), ("", "t"), ([], "t")])
def test_kafka_url_refuses_what_it_could_not_parse_back(servers: Any, topic: str) -> None:
    with pytest.raises(ConfigurationError):
        kafka_url(servers, topic)


# -- kafka_endpoint -----------------------------------------------------------------------------


def test_endpoint_is_the_url_when_kafka_is_preferred_in_any_case() -> None:
    card = AgentCard(name="a", url="kafka://b1:9092,b2:9092/req", preferred_transport="kafka")
    assert kafka_endpoint(card) == (["b1:9092", "b2:9092"], "req")


def test_endpoint_is_a_kafka_url_whatever_the_preferred_transport() -> None:
    card = AgentCard(name="a", url="kafka://b:9092/req", preferred_transport="JSONRPC")
    assert kafka_endpoint(card) == (["b:9092"], "req")


def test_endpoint_is_the_first_kafka_additional_interface() -> None:
    card = AgentCard(
        name="a",
        url="https://agent.example/a2a",
        additional_interfaces=[
            AgentInterface(url="https://agent.example/grpc", transport="GRPC"),
            AgentInterface(url="kafka://first:9092/one", transport="Kafka"),
            AgentInterface(url="kafka://second:9092/two", transport="KAFKA"),
        ],
    )
    assert kafka_endpoint(card) == (["first:9092"], "one")


@pytest.mark.parametrize(
    "card",
    [
        AgentCard(name="no-kafka", url="https://agent.example/a2a"),
        AgentCard(
            name="no-kafka",
            url="https://agent.example/a2a",
            additional_interfaces=[AgentInterface(url="https://x/grpc", transport="GRPC")],
        ),
        AgentCard(name="no-kafka", url="https://agent.example/a2a", preferred_transport="KAFKA"),
        AgentCard(name="no-kafka", preferred_transport="KAFKA"),
        AgentCard(
            name="no-kafka",
            url="https://agent.example/a2a",
            additional_interfaces=[AgentInterface(url="kafka://h:1", transport="KAFKA")],
        ),
    ],
    ids=["none", "other-interfaces", "preferred-but-http", "preferred-but-empty", "malformed"],
)
def test_endpoint_refuses_a_card_without_a_usable_kafka_interface(card: AgentCard) -> None:
    with pytest.raises(ConfigurationError, match="'no-kafka'"):
        kafka_endpoint(card)


# -- with_kafka_interface -----------------------------------------------------------------------


def test_a_card_without_url_gets_the_kafka_url() -> None:
    card = AgentCard(name="a")
    declared = with_kafka_interface(card, ["b:9092"], "req")
    assert (declared.url, declared.preferred_transport) == ("kafka://b:9092/req", KAFKA_TRANSPORT)
    assert declared.additional_interfaces is None
    assert (card.url, card.preferred_transport) == ("", "JSONRPC")


def test_a_kafka_card_gets_the_new_kafka_url() -> None:
    card = AgentCard(name="a", url="kafka://old:9092/old", preferred_transport="kafka")
    declared = with_kafka_interface(card, "new:9092", "req")
    assert (declared.url, declared.preferred_transport) == ("kafka://new:9092/req", "KAFKA")


def test_a_card_with_a_kafka_url_but_another_preference_gets_the_new_url() -> None:
    card = AgentCard(name="a", url="kafka://old:9092/old")
    declared = with_kafka_interface(card, "new:9092", "req")
    assert kafka_endpoint(declared) == (["new:9092"], "req")
    assert declared.preferred_transport == "KAFKA"


def test_a_card_with_another_url_gets_one_additional_interface() -> None:
    grpc = AgentInterface(url="https://agent.example/grpc", transport="GRPC")
    card = AgentCard(name="a", url="https://agent.example/a2a", additional_interfaces=[grpc])

    declared = with_kafka_interface(card, "b:9092", "req")
    again = with_kafka_interface(declared, "b:9092", "req")

    kafka = AgentInterface(url="kafka://b:9092/req", transport="KAFKA")
    assert (declared.url, declared.preferred_transport) == (card.url, "JSONRPC")
    assert declared.additional_interfaces == [grpc, kafka]
    assert again.additional_interfaces == [grpc, kafka]
    assert card.additional_interfaces == [grpc]
    assert kafka_endpoint(declared) == (["b:9092"], "req")


def test_the_new_kafka_interface_goes_ahead_of_older_ones() -> None:
    stale = AgentInterface(url="kafka://old:9092/old", transport="KAFKA")
    card = AgentCard(
        name="a",
        url="https://agent.example/a2a",
        additional_interfaces=[
            stale,
            AgentInterface(url="kafka://b:9092/req", transport="kafka"),
        ],
    )
    declared = with_kafka_interface(card, "b:9092", "req")
    assert declared.additional_interfaces == [
        AgentInterface(url="kafka://b:9092/req", transport="KAFKA"),
        stale,
    ]
    assert kafka_endpoint(declared) == (["b:9092"], "req")


def test_the_copy_shares_nothing_with_the_card() -> None:
    card = AgentCard(name="a", url="https://x", additional_interfaces=[])
    declared = with_kafka_interface(card, "b:9092", "req")
    assert declared.additional_interfaces is not None
    declared.additional_interfaces.clear()
    declared.default_input_modes.append("image/png")
    assert card.additional_interfaces == []
    assert card.default_input_modes == ["text/plain"]


# -- configuration, errors, client_for ----------------------------------------------------------


def test_directory_config_defaults_and_settings() -> None:
    directory = AgentDirectory("h1:9092,h2:9092", read_timeout=2.5, security_protocol="PLAINTEXT")
    assert directory.topic == "a2a-agent-cards"
    assert directory.config.bootstrap_servers == ["h1:9092", "h2:9092"]
    assert directory.config.read_timeout == 2.5
    assert directory.config.kafka == {"security_protocol": "PLAINTEXT"}
    directory.close()
    assert AgentDirectoryConfig().read_timeout == 10.0


def test_directory_refuses_bad_settings() -> None:
    with pytest.raises(ConfigurationError, match="read_timeout"):
        AgentDirectory(read_timeout=0)
    with pytest.raises(ConfigurationError, match="no_such_setting"):
        AgentDirectory(no_such_setting=1)
    with pytest.raises(TypeError):
        AgentDirectory(topic="t", config=AgentDirectoryConfig())


def test_agent_not_found_names_agent_and_topic() -> None:
    error = AgentNotFoundError("billing", "cards")
    assert isinstance(error, A2AKafkaError)
    assert isinstance(error, LookupError)
    assert (error.agent_name, error.topic) == ("billing", "cards")
    assert "'billing'" in str(error) and "cards" in str(error)


def test_client_for_reaches_the_cards_endpoint_and_settings_win() -> None:
    card = with_kafka_interface(AgentCard(name="a", url="https://x"), "kafka-0.svc:9092", "req")
    client = client_for(card, timeout=3.0)
    overridden = client_for(card, bootstrap_servers="localhost:19092")
    try:
        assert client.config.bootstrap_servers == ["kafka-0.svc:9092"]
        assert client.config.request_topic == "req"
        assert client.config.timeout == 3.0
        assert client.get_card() is card
        assert overridden.config.bootstrap_servers == ["localhost:19092"]
        assert overridden.config.request_topic == "req"
    finally:
        client.close()
        overridden.close()


def test_client_for_refuses_a_card_without_kafka() -> None:
    with pytest.raises(ConfigurationError):
        client_for(AgentCard(name="a", url="https://x"))


# -- the directory on a real broker -------------------------------------------------------------


@pytest.fixture
def directory(
    broker_settings: dict[str, Any], collect_garbage: None
) -> Iterator[Callable[..., AgentDirectory]]:
    """Open AgentDirectory objects on one fresh topic of the test's; closed after."""
    topic = f"test-cards-{uuid.uuid4().hex[:12]}"
    opened: list[AgentDirectory] = []

    def open_directory(**settings: Any) -> AgentDirectory:
        options = {**broker_settings, "topic": topic, **settings}
        opened.append(AgentDirectory(**options))
        return opened[-1]

    yield open_directory
    for each in opened:
        each.close()


def _card(name: str, description: str = "") -> AgentCard:
    return with_kafka_interface(AgentCard(name=name, description=description), "b:9092", name)


def test_published_cards_are_listed_and_resolved(directory) -> None:
    cards = directory()
    billing, search = _card("billing", "bills"), _card("search", "finds")

    cards.publish(search)
    cards.publish(billing)

    assert cards.list() == [billing, search]
    assert cards.resolve("billing") == billing
    assert cards.resolve("search") == search


def test_an_empty_directory_lists_nothing(directory) -> None:
    cards = directory()
    assert cards.list() == []
    with pytest.raises(AgentNotFoundError) as caught:
        cards.resolve("nobody")
    assert (caught.value.agent_name, caught.value.topic) == ("nobody", cards.topic)


def test_republishing_replaces_the_card(directory) -> None:
    cards = directory()
    cards.publish(_card("billing", "v1"))
    cards.publish(_card("billing", "v2"))

    assert [c.description for c in cards.list()] == ["v2"]
    assert cards.resolve("billing").description == "v2"


def test_unpublish_removes_the_card(directory) -> None:
    cards = directory()
    cards.publish(_card("billing"))
    cards.publish(_card("search"))

    cards.unpublish("billing")

    assert [c.name for c in cards.list()] == ["search"]
    with pytest.raises(AgentNotFoundError, match="'billing'"):
        cards.resolve("billing")
    cards.publish(_card("billing", "back"))
    assert cards.resolve("billing").description == "back"


def test_resolve_of_an_unknown_name_raises(directory) -> None:
    cards = directory()
    cards.publish(_card("billing"))
    with pytest.raises(AgentNotFoundError, match="'search'"):
        cards.resolve("search")


def test_records_that_are_not_cards_are_skipped(
    directory, broker_settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    cards = directory()
    cards.publish(_card("billing"))  # creates the topic
    raw = RawKafka(broker_settings["bootstrap_servers"])
    try:
        raw.send(cards.topic, b"not json", [], key=b"junk")
        raw.send(cards.topic, b'{"description": "no name"}', [], key=b"nameless")
        raw.send(cards.topic, _card("other").to_json(), [], key=b"impostor")
        raw.send(cards.topic, _card("search").to_json(), [], key=b"search")
        raw.send(cards.topic, b"garbage over a card", [], key=b"search")
    finally:
        raw.close()

    with caplog.at_level(logging.WARNING, logger="a2a_kafka_sync.discovery"):
        listed = cards.list()

    assert [c.name for c in listed] == ["billing"]
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for key in ("junk", "nameless", "impostor", "search"):
        assert key in warned


@pytest.mark.only_on(
    "tansu", reason="Apache Kafka refuses a keyless record on a compacted topic (InvalidRecord)"
)
def test_a_keyless_record_on_the_card_topic_is_skipped(
    directory, broker_settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    cards = directory()
    cards.publish(_card("billing"))
    raw = RawKafka(broker_settings["bootstrap_servers"])
    try:
        raw.send(cards.topic, _card("keyless").to_json(), [])
    finally:
        raw.close()
    with caplog.at_level(logging.WARNING, logger="a2a_kafka_sync.discovery"):
        listed = cards.list()
    assert [c.name for c in listed] == ["billing"]
    assert "without a key" in " ".join(r.getMessage() for r in caplog.records)


def test_a_card_published_by_one_directory_is_seen_by_another(directory) -> None:
    writer, reader = directory(), directory()
    writer.publish(_card("billing"))
    assert [c.name for c in reader.list()] == ["billing"]
    writer.unpublish("billing")
    assert reader.list() == []


def test_a_closed_directory_refuses_to_work(directory) -> None:
    cards = directory()
    cards.publish(_card("billing"))
    with cards:
        pass
    with pytest.raises(ClientClosedError):
        cards.publish(_card("search"))
    with pytest.raises(ClientClosedError):
        cards.list()


def echo(message: Message, context: RequestContext) -> str:
    return f"echo: {message.text}"


@pytest.mark.slow
def test_a_served_agent_is_found_and_called_through_the_directory(
    serve: Callable[..., KafkaServerApp], broker_settings: dict[str, Any], topic: str, directory
) -> None:
    app = serve(echo)
    name = f"echo-{uuid.uuid4().hex[:8]}"
    card = AgentCard(name=name, url="https://echo.example/a2a", description="echoes")
    directory().publish(with_kafka_interface(card, app.config.bootstrap_servers, topic))

    found = directory().resolve(name)
    client = client_for(found, profile=broker_settings["profile"], timeout=30.0)
    try:
        assert client.config.request_topic == topic
        assert client.send_text("hello") == "echo: hello"
    finally:
        client.close()


# -- cards of stopped agents ----------------------------------------------------------------------


def test_a_card_past_its_time_to_live_is_left_out_unless_asked_for(directory) -> None:
    cards = directory()
    cards.publish(_card("crashed"), ttl=1.0)
    cards.publish(_card("static"))  # no ttl: never stale
    assert [c.name for c in cards.list()] == ["crashed", "static"]

    time.sleep(1.2)  # past its time to live, and nobody renewed it

    assert [c.name for c in cards.list()] == ["static"]
    assert [c.name for c in cards.list(include_stale=True)] == ["crashed", "static"]
    with pytest.raises(AgentNotFoundError, match="its card is stale") as raised:
        cards.resolve("crashed")
    assert raised.value.stale_for is not None and raised.value.stale_for > 0
    assert cards.resolve("crashed", include_stale=True).name == "crashed"
    cards.publish(_card("crashed"), ttl=60.0)  # renewed: stands again
    assert cards.resolve("crashed").name == "crashed"


def test_publish_refuses_a_time_to_live_that_is_not_positive(directory) -> None:
    with pytest.raises(ValueError, match="ttl"):
        directory().publish(_card("billing"), ttl=0)


def _server_card(name: str) -> AgentCard:
    return AgentCard(name=name, description="serves")


@pytest.mark.slow
def test_a_server_removes_its_card_when_it_stops(
    serve: Callable[..., KafkaServerApp], directory
) -> None:
    reader = directory()
    name = f"stopper-{uuid.uuid4().hex[:8]}"
    app = serve(echo, card_topic=reader.topic, agent_card=_server_card(name))
    assert reader.resolve(name).name == name

    app.stop(timeout=5)

    with pytest.raises(AgentNotFoundError) as raised:
        reader.resolve(name)
    assert raised.value.stale_for is None  # removed, not stale
    assert name not in [c.name for c in reader.list(include_stale=True)]  # a tombstone


@pytest.mark.slow
def test_a_running_server_renews_its_card_before_it_goes_stale(
    serve: Callable[..., KafkaServerApp], directory
) -> None:
    reader = directory()
    name = f"beating-{uuid.uuid4().hex[:8]}"
    serve(echo, card_topic=reader.topic, card_interval=0.3, agent_card=_server_card(name))
    time.sleep(2.0)  # more than twice its time to live (0.9 s): renewed meanwhile
    assert [c.name for c in reader.list()] == [name]


@pytest.mark.slow
def test_a_card_published_once_stays_while_its_server_runs_and_goes_with_it(
    serve: Callable[..., KafkaServerApp], directory
) -> None:
    reader = directory()
    name = f"once-{uuid.uuid4().hex[:8]}"
    app = serve(echo, card_topic=reader.topic, card_interval=None, agent_card=_server_card(name))
    assert [t.name for t in threading.enumerate() if t.name == "a2a-kafka-card-heartbeat"] == []
    assert reader.resolve(name).name == name
    app.stop(timeout=5)
    with pytest.raises(AgentNotFoundError):
        reader.resolve(name, include_stale=True)


@pytest.mark.slow
def test_another_instance_of_the_agent_keeps_the_card_when_one_stops(
    serve: Callable[..., KafkaServerApp], directory
) -> None:
    reader = directory()
    name = f"pair-{uuid.uuid4().hex[:8]}"
    first = serve(echo, card_topic=reader.topic, agent_card=_server_card(name))
    second = serve(echo, card_topic=reader.topic, agent_card=_server_card(name))

    first.stop(timeout=5)
    assert reader.resolve(name).name == name  # the second still serves: the card stays

    second.stop(timeout=5)
    with pytest.raises(AgentNotFoundError):
        reader.resolve(name, include_stale=True)
