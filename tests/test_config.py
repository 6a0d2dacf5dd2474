"""Settings are checked once, at construction (no broker)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from a2a_kafka_sync import ClientConfig, ConfigurationError, KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.config import (
    DEFAULT_TIMEOUT,
    LOW_LATENCY,
    MAX_TOPIC_NAME_LENGTH,
    PROFILES,
    ServerConfig,
    build_config,
    check_topic_name,
)
from a2a_kafka_sync.discovery import AgentDirectoryConfig
from a2a_kafka_sync.server.membership import GROUP_TIMING_DEFAULTS, consumer_overrides
from a2a_kafka_sync.server.tasks import KafkaTaskEventLogConfig, KafkaTaskStoreConfig


def test_keyword_settings_split_into_config_fields_and_kafka_settings() -> None:
    config = build_config(
        ClientConfig, bootstrap_servers="a:1, b:2", timeout=3, security_protocol="SSL"
    )
    assert config.bootstrap_servers == ["a:1", "b:2"]
    assert config.timeout == 3
    assert config.kafka == {"security_protocol": "SSL"}


def test_an_unknown_kafka_setting_is_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError) as caught:
        KafkaClientTransport(bootstrap_servers="x:1", fetch_max_wait="10ms")
    assert "fetch_max_wait" in str(caught.value)


@pytest.mark.parametrize("key", ["group_id", "enable_auto_commit", "value_serializer"])
def test_settings_the_library_manages_are_refused(key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        KafkaServerApp(lambda m: "x", **{key: None})
    assert key in str(caught.value)


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        build_config(ClientConfig, profile="warp-speed")


def test_kafka_settings_win_over_the_profile() -> None:
    config = build_config(ClientConfig, profile=LOW_LATENCY, fetch_max_wait_ms=50)
    settings = config.kafka_settings()
    assert settings["fetch_max_wait_ms"] == 50
    assert settings["heartbeat_interval_ms"] == PROFILES[LOW_LATENCY]["heartbeat_interval_ms"]


@pytest.mark.parametrize(
    "settings",
    [
        {"timeout": 0},
        {"timeout": -1},
        {"bootstrap_servers": ""},
        {"request_topic": ""},
        {"reply_topic_partitions": 0},
    ],
)
def test_invalid_client_values_are_refused(settings: dict) -> None:
    with pytest.raises(ConfigurationError):
        build_config(ClientConfig, **settings)


def test_a_server_needs_room_for_its_workers() -> None:
    with pytest.raises(ConfigurationError):
        build_config(ServerConfig, max_workers=8, max_in_flight=4)


def test_the_server_group_defaults_to_one_per_agent() -> None:
    assert build_config(ServerConfig, request_topic="weather").group_id == "a2a-server-weather"
    assert build_config(ServerConfig, consumer_group_id="g").group_id == "g"


def test_a_config_object_and_loose_settings_do_not_mix() -> None:
    with pytest.raises(TypeError):
        KafkaClientTransport(config=ClientConfig(), timeout=3)


def test_timeout_none_means_no_limit() -> None:
    assert build_config(ClientConfig, timeout=None).timeout is None


def test_the_request_consumer_gets_group_timings_for_rpc_unless_they_are_set() -> None:
    overrides = consumer_overrides(build_config(ServerConfig))
    assert overrides["session_timeout_ms"] == GROUP_TIMING_DEFAULTS["session_timeout_ms"]
    assert overrides["heartbeat_interval_ms"] == GROUP_TIMING_DEFAULTS["heartbeat_interval_ms"]
    assert overrides["heartbeat_interval_ms"] * 3 <= overrides["session_timeout_ms"]


@pytest.mark.parametrize(
    "settings",
    [
        {"profile": LOW_LATENCY},
        {"session_timeout_ms": 30_000},
        {"heartbeat_interval_ms": 15_000},  # with our 10 s session it would be refused
    ],
)
def test_group_timings_set_by_the_user_or_the_profile_are_left_alone(settings: dict) -> None:
    overrides = consumer_overrides(build_config(ServerConfig, **settings))
    assert not GROUP_TIMING_DEFAULTS.keys() & overrides.keys()


def test_a_static_member_id_reaches_only_the_request_consumer() -> None:
    config = build_config(ServerConfig, group_instance_id="agent-7.pod_1")
    assert consumer_overrides(config)["group_instance_id"] == "agent-7.pod_1"
    assert "group_instance_id" not in config.kafka_settings()  # not for the other consumers
    assert "group_instance_id" not in consumer_overrides(build_config(ServerConfig))


def test_a_static_member_id_given_as_a_kafka_python_setting_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="group_instance_id"):
        KafkaServerApp(lambda m: "x", kafka={"group_instance_id": "pod-1"})
    with pytest.raises(ConfigurationError, match="group_instance_id"):
        KafkaClientTransport(group_instance_id="pod-1")


@pytest.mark.parametrize("name", ["", ".", "..", "pod 1", "pod/1", "x" * 250])
def test_an_unusable_static_member_id_is_refused(name: str) -> None:
    with pytest.raises(ConfigurationError):
        build_config(ServerConfig, group_instance_id=name)


# -- topic names Kafka would refuse are refused at construction ------------------------------------

_BAD_TOPICS = [
    ("", "cannot be empty"),
    (".", "cannot be '.'"),
    ("..", "cannot be '..'"),
    ("x" * 250, "at most 249 characters, not 250"),
    ("my agent", "only the characters \\[a-zA-Z0-9._-\\]; 'my agent' has ' '"),
    ("orders/eu", "has '/'"),
    ("café", "has 'é'"),
]

_TOPIC_FIELDS = [
    (ClientConfig, "request_topic"),
    (ClientConfig, "reply_topic"),
    (ClientConfig, "reply_topic_prefix"),
    (ServerConfig, "request_topic"),
    (ServerConfig, "dead_letter_topic"),
    (ServerConfig, "card_topic"),
    (KafkaTaskStoreConfig, "topic"),
    (KafkaTaskEventLogConfig, "topic"),
    (AgentDirectoryConfig, "topic"),
]


@pytest.mark.parametrize(("config_class", "field"), _TOPIC_FIELDS)
@pytest.mark.parametrize(("name", "rule"), _BAD_TOPICS, ids=lambda v: repr(v)[:20])
def test_a_topic_name_kafka_would_refuse_is_refused_naming_the_field_and_the_rule(
    config_class: type, field: str, name: str, rule: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"{field}: .*{rule}"):
        build_config(config_class, **{field: name})
    with pytest.raises(ValidationError) as caught:  # the config class itself, directly
        config_class(**{field: name})
    assert caught.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(("config_class", "field"), _TOPIC_FIELDS)
@pytest.mark.parametrize("name", ["a", "my-agent.v2_eu", "x" * 216, "A2A-Requests"])
def test_every_name_kafka_accepts_is_accepted(config_class: type, field: str, name: str) -> None:
    assert getattr(build_config(config_class, **{field: name}), field) == name


def test_the_longest_topic_name_is_accepted_and_one_more_character_is_not() -> None:
    assert check_topic_name("x" * MAX_TOPIC_NAME_LENGTH) == "x" * MAX_TOPIC_NAME_LENGTH
    with pytest.raises(ValueError, match="at most 249"):
        check_topic_name("x" * (MAX_TOPIC_NAME_LENGTH + 1))


def test_a_reply_topic_prefix_leaves_room_for_the_random_suffix() -> None:
    with pytest.raises(ConfigurationError, match=r"reply_topic_prefix: .* at most 216 .*32 hex"):
        build_config(ClientConfig, reply_topic_prefix="x" * 217)
    client = KafkaClientTransport(reply_topic_prefix="x" * 216)
    assert check_topic_name(client.reply_topic) == client.reply_topic


def test_a_client_with_a_bad_request_topic_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError, match=r"request_topic: .*only the characters"):
        KafkaClientTransport(bootstrap_servers="localhost:9092", request_topic="my agent")
    with pytest.raises(ConfigurationError, match=r"request_topic: .*cannot be empty"):
        KafkaServerApp(lambda m: "x", request_topic="")


def test_a_default_dead_letter_topic_too_long_for_kafka_is_refused() -> None:
    long_topic = "x" * 240  # + ".dead-letters" is 253 characters
    with pytest.raises(ConfigurationError, match=r"dead-letter topic .* set dead_letter_topic"):
        build_config(ServerConfig, request_topic=long_topic)
    assert build_config(ServerConfig, request_topic=long_topic, dead_letter_topic="dlq")
    assert build_config(ServerConfig, request_topic=long_topic, dead_letters=False)


def test_a_default_task_event_topic_too_long_for_kafka_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"task-event topic .* set topic"):
        KafkaTaskEventLogConfig(request_topic="x" * 240)
    assert KafkaTaskEventLogConfig(request_topic="x" * 240, topic="events").topic_name == "events"


# -- defaults that fit where it runs --------------------------------------------------------------


def test_the_default_timeout_is_below_gunicorns_30_s_worker_timeout() -> None:
    assert DEFAULT_TIMEOUT == 20.0
    assert ClientConfig().timeout == DEFAULT_TIMEOUT
    assert KafkaClientTransport().config.timeout == 20.0
    assert "gunicorn" in (ClientConfig.model_fields["timeout"].description or "")


def test_the_cli_waits_as_long_as_the_client_by_default() -> None:
    from a2a_kafka_sync.cli import build_parser

    args = build_parser().parse_args(["send", "hi", "--request-topic", "x"])
    assert args.timeout == DEFAULT_TIMEOUT


def test_an_unexpected_handler_exception_is_redacted_by_default() -> None:
    assert ServerConfig().error_detail == "redacted"
    assert build_config(ServerConfig, error_detail="full").error_detail == "full"
    with pytest.raises(ConfigurationError, match="error_detail"):
        build_config(ServerConfig, error_detail="everything")
