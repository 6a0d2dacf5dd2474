"""Secrets: SASL settings pass through untouched, and no secret is ever shown.

SASL itself cannot be completed here: the embedded broker (Tansu) answers every SASL
handshake with UnsupportedSaslMechanism unless started with --authentication, and then it
refuses every request (docs/security.md). What is proven: every SASL setting reaches each
kafka-python client the library builds, and each mechanism reaches the broker's handshake.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from kafka.net.sasl.oauth import AbstractTokenProvider

from a2a_kafka_sync import ClientConfig, KafkaClientTransport, KafkaServerApp, Message
from a2a_kafka_sync._kafka import _ADMIN_KEYS, _CONSUMER_KEYS, _PRODUCER_KEYS, _settings_for
from a2a_kafka_sync._redact import REDACTED, is_secret, redact
from a2a_kafka_sync.config import ServerConfig, build_config
from a2a_kafka_sync.errors import BrokerUnavailableError, ConfigurationError
from a2a_kafka_sync.testing import EmbeddedBroker
from a2a_kafka_sync.types import (
    PushNotificationAuthenticationInfo,
    PushNotificationConfig,
    TaskPushNotificationConfig,
)
from a2a_kafka_sync.wire import RequestHeaders

PASSWORD = "sasl-pass-3e8b"
TOKEN = "oauth-token-c41d"
KEY_PASSWORD = "key-pass-70aa"


class Provider(AbstractTokenProvider):  # type: ignore[misc]
    """An OAUTHBEARER token provider whose repr would give its token away."""

    def token(self) -> str:
        return TOKEN

    def __repr__(self) -> str:
        return f"<Provider {TOKEN}>"


def sasl_settings(mechanism: str = "SCRAM-SHA-512") -> dict[str, Any]:
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "billing",
        "sasl_plain_password": PASSWORD,
        "sasl_oauth_token_provider": Provider(),
        "ssl_password": KEY_PASSWORD,
    }


def _assert_hidden(text: str) -> None:
    for secret in (PASSWORD, TOKEN, KEY_PASSWORD):
        assert secret not in text


def test_redact_hides_secret_values_and_keeps_the_rest() -> None:
    settings = {**sasl_settings(), "ssl_cafile": "/ca.pem", "ssl_keyfile": "/k.pem", "x": None}
    shown = redact({"kafka": settings, "credentials": "Bearer abc", "authorization": None})

    assert shown["credentials"] == REDACTED
    assert shown["authorization"] is None  # unset stays visibly unset
    kafka = shown["kafka"]
    for key in ("sasl_plain_password", "sasl_oauth_token_provider", "ssl_password"):
        assert kafka[key] == REDACTED
    for key in ("sasl_plain_username", "sasl_mechanism", "ssl_cafile", "ssl_keyfile"):
        assert kafka[key] == settings[key]
    assert settings["sasl_plain_password"] == PASSWORD  # a copy: the original is untouched


@pytest.mark.parametrize(
    "name",
    [
        "credentials",
        "api_token",
        "client_secret",
        "oauth_credentials",
        "private_key",
        "card_signer",
    ],
)
def test_settings_named_like_secrets_are_secrets(name: str) -> None:
    assert is_secret(name)


@pytest.mark.parametrize("name", ["sasl_plain_username", "ssl_keyfile", "request_topic"])
def test_ordinary_settings_are_not_secrets(name: str) -> None:
    assert not is_secret(name)


@pytest.mark.parametrize("config_class", [ClientConfig, ServerConfig])
def test_config_repr_and_str_hide_every_secret(config_class: type[Any]) -> None:
    config = build_config(config_class, **sasl_settings())
    for text in (repr(config), str(config)):
        _assert_hidden(text)
        assert "'sasl_plain_password': '***'" in text
        assert "'sasl_plain_username': 'billing'" in text
    assert config.kafka["sasl_plain_password"] == PASSWORD  # the value itself is intact


def test_a_credentials_field_of_a_config_is_hidden() -> None:
    class WithCredentials(ClientConfig):
        credentials: str | None = None

    config = WithCredentials(credentials=f"Bearer {TOKEN}")
    assert "credentials='***'" in repr(config)
    _assert_hidden(repr(config) + str(config))


def test_a_refused_config_does_not_echo_the_password_given_with_it() -> None:
    with pytest.raises(ValueError) as direct:
        ClientConfig(kafka={**sasl_settings(), "not_a_setting": 1})
    with pytest.raises(ConfigurationError) as built:
        build_config(ClientConfig, timeout="soon", **sasl_settings())
    assert "not_a_setting" in str(direct.value)
    assert "timeout" in str(built.value)
    _assert_hidden(str(direct.value) + str(built.value))


def test_client_and_server_reprs_hide_secrets() -> None:
    client = KafkaClientTransport(request_topic="t", **sasl_settings())
    app = KafkaServerApp(lambda message: "x", request_topic="t", **sasl_settings())
    for text in (repr(client), str(client), repr(app), str(app)):
        _assert_hidden(text)
    client.close()


def test_the_authorization_header_is_not_in_the_repr_of_request_headers() -> None:
    headers = RequestHeaders(correlation_id="c", authorization=f"Bearer {TOKEN}")
    assert TOKEN not in repr(headers)
    assert headers.authorization == f"Bearer {TOKEN}"


def _push_config() -> TaskPushNotificationConfig:
    auth = PushNotificationAuthenticationInfo(schemes=["Bearer"], credentials=TOKEN)
    config = PushNotificationConfig(
        url="https://hooks.example.com/a2a",
        id="hook-1",
        token=PASSWORD,
        authentication=auth,
        webhookSecret=KEY_PASSWORD,  # an extra field named like a secret
    )
    return TaskPushNotificationConfig(task_id="t-1", push_notification_config=config)


def test_push_config_reprs_hide_the_token_and_the_credentials() -> None:
    task_config = _push_config()
    config = task_config.push_notification_config
    assert config.authentication is not None
    for shown in (task_config, config, config.authentication):
        for text in (repr(shown), str(shown), f"{shown}", f"{shown!r}"):
            _assert_hidden(text)
    assert f"token={REDACTED!r}" in repr(config)
    assert f"credentials={REDACTED!r}" in repr(config.authentication)
    # the rest is shown, to tell configs apart
    assert "https://hooks.example.com/a2a" in repr(task_config) and "hook-1" in repr(config)
    assert "t-1" in repr(task_config) and "Bearer" in repr(config)


def test_push_configs_keep_their_secrets_as_data() -> None:
    config = _push_config().push_notification_config
    assert config.token == PASSWORD
    assert config.authentication is not None and config.authentication.credentials == TOKEN
    wire = config.to_wire()
    assert wire["token"] == PASSWORD and wire["authentication"]["credentials"] == TOKEN
    assert PushNotificationConfig(url="https://x").token is None
    assert "token=None" in repr(PushNotificationConfig(url="https://x"))  # unset stays None


@pytest.mark.parametrize(
    ("keys", "kind"),
    [(_PRODUCER_KEYS, "producer"), (_CONSUMER_KEYS, "consumer"), (_ADMIN_KEYS, "admin")],
)
def test_every_sasl_setting_reaches_each_kafka_python_client(keys: Any, kind: str) -> None:
    given = {**sasl_settings(), "sasl_kerberos_service_name": "kafka-x", "ssl_cafile": "/ca"}
    config = build_config(ClientConfig, **given)
    built = _settings_for(keys, config)
    for key, value in given.items():
        assert built[key] is value, f"{key} did not reach the {kind}"


@pytest.fixture(scope="module")
def plain_broker() -> Iterator[EmbeddedBroker]:
    """A broker of this module's own, started without --authentication."""
    with EmbeddedBroker() as broker:
        yield broker


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"])
def test_each_sasl_mechanism_reaches_the_brokers_handshake_and_no_secret_is_logged(
    plain_broker: EmbeddedBroker, mechanism: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="kafka")  # a docs snippet may have quietened it
    settings = {**plain_broker.settings(), **sasl_settings(mechanism), "connect_timeout": 1.0}
    client = KafkaClientTransport(request_topic="sasl", **settings)
    with pytest.raises(BrokerUnavailableError) as caught:
        client.open()
    client.close()

    # kafka-python asked the broker for this mechanism: the settings reached the wire
    assert f"SaslHandshakeRequest(version=1, mechanism='{mechanism}')" in caplog.text
    assert "UnsupportedSaslMechanism" in caplog.text  # Tansu without --authentication
    _assert_hidden(caplog.text + str(caught.value) + repr(client))


def test_a_server_with_sasl_settings_fails_to_start_without_showing_them(
    plain_broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="kafka")  # a docs snippet may have quietened it
    settings = {**plain_broker.settings(), **sasl_settings("PLAIN"), "connect_timeout": 1.0}
    app = KafkaServerApp(lambda message: Message.agent_text("x"), request_topic="s", **settings)
    with pytest.raises(BrokerUnavailableError) as caught:
        app.start()
    app.stop(timeout=1)
    assert "SaslHandshakeRequest(version=1, mechanism='PLAIN')" in caplog.text
    _assert_hidden(caplog.text + str(caught.value) + repr(app))


@pytest.mark.slow
def test_a_dead_letter_keeps_the_request_headers_but_not_the_authorization(
    serve, raw, broker_settings, topic
) -> None:
    from kafka import KafkaConsumer, TopicPartition

    app = serve(lambda message: "ok")
    raw.send(
        topic,
        b"{}",
        [("correlation_id", b"no-reply-topic"), ("authorization", f"Bearer {TOKEN}".encode())],
    )
    consumer = KafkaConsumer(
        bootstrap_servers=broker_settings["bootstrap_servers"],
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
    )
    consumer.assign([TopicPartition(app.config.dead_letter_topic_name, 0)])
    consumer.seek_to_beginning()
    records: list[Any] = []
    try:
        for _ in range(200):  # 200 polls of 100 ms at most
            records.extend(r for batch in consumer.poll(timeout_ms=100).values() for r in batch)
            if records:
                break
    finally:
        consumer.close(autocommit=False)

    assert len(records) == 1
    headers = dict(records[0].headers)
    assert headers["correlation_id"] == b"no-reply-topic"
    assert "authorization" not in headers
    assert TOKEN.encode() not in b"".join(value for _, value in records[0].headers)
