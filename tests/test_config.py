"""Settings are checked once, at construction (no broker)."""

from __future__ import annotations

import pytest

from a2a_kafka_sync import ClientConfig, ConfigurationError, KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.config import LOW_LATENCY, PROFILES, ServerConfig, build_config
from a2a_kafka_sync.server.membership import GROUP_TIMING_DEFAULTS, consumer_overrides


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
