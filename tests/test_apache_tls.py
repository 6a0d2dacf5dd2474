"""Kafka's own TLS listener (no stunnel): Apache Kafka serving SSL from PEM files.

One broker for the module, its only client listener SSL, its certificate for 127.0.0.1 from
a throw-away CA (tests/tls_helpers.py) and its key in the traditional EC form, which
``ApacheKafka`` converts to the PKCS#8 Kafka's PEM keystore reads. Clients check the
broker's hostname (kafka-python's default, set here anyway).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tls_helpers import Pki, make_pki, require_tls_tools

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp, Message
from a2a_kafka_sync.errors import BrokerUnavailableError, KafkaAuthenticationError
from a2a_kafka_sync.testing import ApacheKafka, TlsFiles

pytestmark = [pytest.mark.slow, pytest.mark.apache_cluster, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throw-away CA and a certificate for 127.0.0.1 (skips without openssl)."""
    require_tls_tools(stunnel=False)
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def kafka(pki: Pki) -> Iterator[ApacheKafka]:
    """Apache Kafka whose client listener is TLS, with a traditional (SEC1) EC key."""
    sec1 = pki.server_key.with_name("server-sec1.key")
    subprocess.run(
        ["openssl", "pkey", "-in", str(pki.server_key), "-traditional", "-out", str(sec1)],
        check=True,
        capture_output=True,
    )
    assert "BEGIN EC PRIVATE KEY" in sec1.read_text()  # not the PKCS#8 Kafka reads
    with ApacheKafka(tls=TlsFiles(pki.server_cert, sec1, pki.ca)) as kafka:
        assert kafka.security_protocol == "SSL"
        yield kafka


def settings(kafka: ApacheKafka, **extra: Any) -> dict[str, Any]:
    """TLS settings that trust the test CA and check the broker's hostname."""
    return {**kafka.settings(), "ssl_check_hostname": True, **extra}


def words(message: Message) -> Iterator[str]:
    yield from message.text.split()


def test_a_client_and_a_server_answer_and_stream_over_kafkas_own_tls(
    kafka: ApacheKafka, topic: str
) -> None:
    assert settings(kafka)["security_protocol"] == "SSL"
    with KafkaServerApp(words, request_topic=topic, **settings(kafka)) as app:
        assert app.wait_until_assigned(30), "the server got no partitions within 30 s"
        with KafkaClientTransport(request_topic=topic, **settings(kafka)) as client:
            assert client.send_text("over kafka tls") == "tls"
            assert list(client.send_message_streaming("a b c").texts()) == ["a", "b", "c"]


def test_a_client_that_trusts_another_ca_fails_naming_the_certificate(
    kafka: ApacheKafka, pki: Pki, topic: str
) -> None:
    untrusting = settings(kafka, ssl_cafile=str(pki.other_ca), connect_timeout=10.0)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError) as caught:
        KafkaClientTransport(request_topic=topic, **untrusting).open()
    elapsed = time.monotonic() - started
    assert not isinstance(caught.value, KafkaAuthenticationError)
    message = str(caught.value)
    assert "certificate did not verify" in message and "CERTIFICATE_VERIFY_FAILED" in message
    assert elapsed < 10.0 + 5.0  # within connect_timeout, plus a margin for a loaded machine


def test_the_hostname_is_checked_against_the_certificate(
    kafka: ApacheKafka, topic: str
) -> None:
    port = kafka.bootstrap_servers.rsplit(":", 1)[1]
    by_name = settings(kafka, bootstrap_servers=f"localhost:{port}", connect_timeout=10.0)
    with pytest.raises(BrokerUnavailableError) as caught:  # the certificate names 127.0.0.1
        KafkaClientTransport(request_topic=topic, **by_name).open()
    message = str(caught.value)
    assert "certificate did not verify" in message and "Hostname mismatch" in message
    unchecked = {**by_name, "ssl_check_hostname": False}
    KafkaClientTransport(request_topic=topic, **unchecked).open().close()  # the CA is right
