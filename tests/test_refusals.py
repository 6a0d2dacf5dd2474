"""The broker's refusals, translated once (no broker: the broker-backed proofs are
tests/test_apache_acls.py and tests/test_apache_tls.py, in the Apache Kafka pass).

kafka-python's errors and log records are built here as kafka-python builds them, to pin
what _kafka.py and _kafka_logs.py read from them.
"""

from __future__ import annotations

import logging
import ssl

import kafka.errors
import pytest

from a2a_kafka_sync import (
    BrokerUnavailableError,
    KafkaAuthenticationError,
    KafkaAuthorizationError,
    KafkaOperationError,
)
from a2a_kafka_sync._kafka import library_error
from a2a_kafka_sync._kafka_logs import CLOSES_IN_SASL, ConnectionTrouble


def test_the_refusals_have_their_place_in_the_one_exception_tree() -> None:
    assert issubclass(KafkaAuthenticationError, BrokerUnavailableError)
    assert issubclass(KafkaAuthorizationError, KafkaOperationError)


def test_a_topic_refusal_names_the_error_the_topic_and_the_acl_it_needs() -> None:
    refusal = kafka.errors.TopicAuthorizationFailedError({"my-agent"})
    error = library_error(
        refusal, "sending message_send failed", correlation_id="c1", topic="my-agent",
        acl="Write on topic 'my-agent'",
    )  # fmt: skip
    assert isinstance(error, KafkaAuthorizationError) and error.__cause__ is refusal
    assert str(error) == (
        "sending message_send failed: TopicAuthorizationFailedError (my-agent): the broker's "
        "ACLs do not allow this principal; it needs Write on topic 'my-agent' "
        "(docs/security.md, section ACLs) (correlation_id=c1, topic=my-agent)"
    )


def test_a_group_refusal_names_the_group() -> None:
    error = library_error(kafka.errors.GroupAuthorizationFailedError("g1"), "reading")
    assert isinstance(error, KafkaAuthorizationError)
    assert "GroupAuthorizationFailedError (g1)" in str(error)


def test_an_idempotent_producer_that_may_write_nothing_is_a_refusal_too() -> None:
    # kafka-python wraps the broker's answer to InitProducerId in a plain KafkaError
    wrapped = kafka.errors.KafkaError(
        "Unexpected error in InitProducerIdResponse: [Error 31] ClusterAuthorizationFailedError"
    )
    error = library_error(wrapped, "sending message_send failed")
    assert isinstance(error, KafkaAuthorizationError)
    assert "IdempotentWrite" in str(error) and "Write on at least one topic" in str(error)


@pytest.mark.parametrize(
    "cause",
    [kafka.errors.KafkaTimeoutError("slow"), kafka.errors.NotLeaderForPartitionError()],
    ids=["timeout", "not-leader"],
)
def test_other_errors_stay_operation_errors(cause: Exception) -> None:
    error = library_error(cause, "sending")
    assert type(error) is KafkaOperationError and error.__cause__ is cause


def _record(
    name: str, message: str, *args: object, level: int = logging.WARNING
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


def test_a_sasl_refusal_in_kafka_pythons_lines_is_fatal() -> None:
    trouble = ConnectionTrouble(sasl=True)
    refusal = kafka.errors.SaslAuthenticationFailedError("invalid credentials")
    trouble.emit(
        _record("kafka.net.manager", "Bootstrap connection to %s failed: %s (backoff %.2f secs)",
                "bootstrap-0", refusal, 0.1)
    )  # fmt: skip
    assert trouble.fatal and trouble.authentication == str(refusal)


def test_a_certificate_that_did_not_verify_is_fatal_a_plain_disconnect_is_not() -> None:
    trouble = ConnectionTrouble()
    trouble.emit(
        _record("kafka.net.manager", "Connection failed: %s",
                kafka.errors.KafkaConnectionError("socket disconnected"), level=logging.ERROR)
    )  # fmt: skip
    assert not trouble.fatal and trouble.last is not None
    handshake = kafka.errors.KafkaConnectionError("Handshake failed: [SSL: ...]")
    # kafka-python raises it inside its `except` around the TLS handshake: the context
    handshake.__context__ = ssl.SSLCertVerificationError("certificate verify failed")
    trouble.emit(_record("kafka.net.manager", "Connection failed: %s", handshake))
    assert trouble.fatal and "Handshake failed" in (trouble.certificate or "")


class _Future:
    def __init__(self, exception: BaseException) -> None:
        self.exception = exception


class _Connection:
    """The parts of kafka-python 3.0.12's KafkaConnection that its "Connection lost" line
    carries and ConnectionTrouble reads."""

    def __init__(self, answered: bool, error: BaseException) -> None:
        self.broker_version_data = (4, 1) if answered else None
        self._init_future = _Future(error)


def test_connections_lost_during_the_sasl_exchange_count_as_a_refusal() -> None:
    trouble = ConnectionTrouble(sasl=True)
    for _ in range(CLOSES_IN_SASL):
        assert not trouble.fatal
        lost = kafka.errors.KafkaConnectionError("socket disconnected")
        trouble.emit(
            _record("kafka.net.connection", "%s: Connection lost: %s",
                    _Connection(True, lost), lost, level=logging.ERROR)
        )  # fmt: skip
    assert trouble.fatal and "during the SASL exchange (3 time(s))" in str(
        trouble.closed_in_authentication
    )


def test_connections_lost_before_the_broker_answered_are_no_sasl_refusal() -> None:
    trouble = ConnectionTrouble(sasl=True)
    for _ in range(CLOSES_IN_SASL):
        lost = kafka.errors.KafkaConnectionError("socket disconnected")
        trouble.emit(
            _record("kafka.net.connection", "%s: Connection lost: %s",
                    _Connection(False, lost), lost, level=logging.ERROR)
        )  # fmt: skip
    assert not trouble.fatal and trouble.closed_in_authentication is None
