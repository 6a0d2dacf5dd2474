"""Client and server over a real TLS listener (stunnel in front of the embedded broker).

Tansu does not serve TLS itself (docs/security.md says why), so each broker here is Tansu on
an inner port advertising the outer port, and stunnel terminating TLS on the outer port:
every byte the library sends, bootstrap and metadata included, goes through TLS.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from tls_helpers import KEY_PASSWORD, Pki, TlsBroker, make_pki, require_tls_tools

from a2a_kafka_sync import (
    KafkaClientTransport,
    KafkaServerApp,
    Message,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a_kafka_sync.errors import BrokerUnavailableError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throw-away CA, server and client certificates (skips without openssl/stunnel)."""
    require_tls_tools()
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_broker(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    """A broker whose only listener is TLS (server certificate only)."""
    with TlsBroker(tmp_path_factory.mktemp("tls"), pki) as broker:
        yield broker


@pytest.fixture(scope="module")
def mtls_broker(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    """A broker whose only listener is mutual TLS (stunnel verify = 2)."""
    with TlsBroker(tmp_path_factory.mktemp("mtls"), pki, mutual=True) as broker:
        yield broker


def echo(message: Message) -> str:
    return f"echo: {message.text}"


def count(message: Message) -> Iterator[TaskStatusUpdateEvent]:
    for i in range(3):
        yield TaskStatusUpdateEvent(
            task_id="t",
            context_id="c",
            status=TaskStatus(state=TaskState.working, message=Message.agent_text(str(i))),
            final=i == 2,
        )


def _serve(broker: TlsBroker, topic: str, handler: object, **extra: object) -> KafkaServerApp:
    app = KafkaServerApp(handler, **broker.settings(request_topic=topic, **extra)).start()
    assert app.wait_until_assigned(30), "the server got no partitions within 30 s"
    return app


def test_a_client_and_a_server_answer_and_stream_over_tls(tls_broker: TlsBroker, topic) -> None:
    app = _serve(tls_broker, topic, echo)
    try:
        with KafkaClientTransport(**tls_broker.settings(request_topic=topic)) as client:
            reply = client.send_message(Message.user_text("over tls"))
            assert isinstance(reply, Message) and reply.text == "echo: over tls"
        app.stop(timeout=5)
        app = _serve(tls_broker, topic, count)
        with KafkaClientTransport(**tls_broker.settings(request_topic=topic)) as client:
            _task, *events = list(client.send_message_streaming("count"))
        texts = [e.status.message.text for e in events if isinstance(e, TaskStatusUpdateEvent)]
        assert texts == ["0", "1", "2"]
    finally:
        app.stop(timeout=5)


def test_a_plaintext_client_on_the_tls_port_fails_with_broker_unavailable(
    tls_broker: TlsBroker, topic
) -> None:
    plain = tls_broker.settings(request_topic=topic, connect_timeout=2.0)
    for key in ("security_protocol", "ssl_cafile", "ssl_check_hostname"):
        del plain[key]
    with pytest.raises(BrokerUnavailableError) as caught:
        KafkaClientTransport(**plain).open()
    assert f"127.0.0.1:{tls_broker.port}" in str(caught.value)
    assert "connect_timeout=2.0s" in str(caught.value)
    assert "wrong version number" in tls_broker.stunnel_log()  # Kafka bytes, not a ClientHello


def test_a_client_that_trusts_another_ca_fails_with_broker_unavailable(
    tls_broker: TlsBroker, topic, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kafka")
    settings = tls_broker.settings(
        request_topic=topic,
        connect_timeout=2.0,
        **{**tls_broker.client_cert(), "ssl_cafile": str(tls_broker.pki.other_ca)},
    )
    with pytest.raises(BrokerUnavailableError) as caught:
        KafkaClientTransport(**settings).open()
    assert f"127.0.0.1:{tls_broker.port}" in str(caught.value)
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text  # kafka-python's log says why
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)  # and so does the error
    assert KEY_PASSWORD not in str(caught.value) + caplog.text


def test_mutual_tls_with_an_encrypted_client_key_round_trips(mtls_broker: TlsBroker, topic) -> None:
    app = _serve(mtls_broker, topic, echo, **mtls_broker.client_cert())
    try:
        settings = mtls_broker.settings(request_topic=topic, **mtls_broker.client_cert())
        with KafkaClientTransport(**settings) as client:
            assert client.send_text("mutual") == "echo: mutual"
    finally:
        app.stop(timeout=5)


def test_mutual_tls_without_a_client_certificate_fails_with_broker_unavailable(
    mtls_broker: TlsBroker, topic
) -> None:
    settings = mtls_broker.settings(request_topic=topic, connect_timeout=2.0)
    with pytest.raises(BrokerUnavailableError) as caught:
        KafkaClientTransport(**settings).open()
    assert f"127.0.0.1:{mtls_broker.port}" in str(caught.value)
    assert "peer did not return a certificate" in mtls_broker.stunnel_log()


class _Provider:
    """Stands for a token provider; its repr would give the token away."""

    def __repr__(self) -> str:
        return "<provider token=oauth-token-77c1>"


def test_no_secret_reaches_a_log_line_or_a_repr_during_a_tls_round_trip(
    mtls_broker: TlsBroker, topic, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = {
        **mtls_broker.client_cert(),  # ssl_password: used to decrypt the client key
        "sasl_plain_username": "billing",
        "sasl_plain_password": "sasl-pass-91d0",  # carried, unused over SSL
        "sasl_oauth_token_provider": _Provider(),
    }
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="kafka")  # a docs snippet may have quietened it
    app = _serve(mtls_broker, topic, echo, **secrets)
    try:
        settings = mtls_broker.settings(request_topic=topic, **secrets)
        with KafkaClientTransport(**settings) as client:
            assert client.send_text("hush") == "echo: hush"
            shown = [repr(client), str(client), repr(client.config), str(client.config)]
        shown += [repr(app), str(app), repr(app.config), str(app.config)]
    finally:
        app.stop(timeout=5)

    logged = caplog.text
    # the admin client's DEBUG line with all its settings was written, and redacted
    assert "Starting KafkaAdminClient with configuration" in logged
    assert "'ssl_password': '***'" in logged
    assert "'sasl_plain_password': '***'" in logged
    assert "'sasl_oauth_token_provider': '***'" in logged
    assert "ssl_password='***'" not in "".join(shown)  # kafka dict shown as a dict
    assert "'ssl_password': '***'" in repr(app.config)
    for secret in (
        KEY_PASSWORD,
        "sasl-pass-91d0",
        "oauth-token-77c1",
        Path(secrets["ssl_keyfile"]).read_text(),
    ):
        assert secret not in logged
        for text in shown:
            assert secret not in text


def test_sasl_ssl_settings_reach_the_brokers_handshake_through_tls(
    tls_broker: TlsBroker, topic, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kafka")
    settings = tls_broker.settings(
        request_topic=topic,
        connect_timeout=1.0,
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_plain_username="billing",
        sasl_plain_password="sasl-pass-91d0",
    )
    with pytest.raises(BrokerUnavailableError) as caught:
        KafkaClientTransport(**settings).open()
    # TLS was set up, then SASL asked for: Tansu (no --authentication) refuses the mechanism
    assert "SaslHandshakeRequest(version=1, mechanism='SCRAM-SHA-256')" in caplog.text
    assert "UnsupportedSaslMechanism" in caplog.text
    assert "sasl-pass-91d0" not in caplog.text + str(caught.value)
