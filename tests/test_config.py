"""Settings are checked once, at construction (no broker)."""

from __future__ import annotations

import pytest

from a2a_kafka_sync import ClientConfig, ConfigurationError, KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.config import LOW_LATENCY, PROFILES, ServerConfig, build_config


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
