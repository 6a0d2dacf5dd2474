"""The one place that builds kafka-python clients and translates kafka-python errors.

Producers, consumers and admin clients are built here from a config's settings,
so security settings, the profile and connect retries apply everywhere alike.
kafka-python errors become the library's own (:mod:`a2a_kafka_sync.errors`) in
:func:`translate_kafka_errors`, and nowhere else.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import kafka.errors
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from ._kafka_logs import ConnectionTrouble, quiet_thread, quieten_routine_lines
from ._reach import PROBE_TIMEOUT, check_reachable
from ._redact import RedactSettingsFilter
from .errors import (
    BrokerUnavailableError,
    KafkaAuthenticationError,
    KafkaAuthorizationError,
    KafkaOperationError,
)

if TYPE_CHECKING:
    from .config import _CommonConfig

__all__ = [
    "UNCHECKED_RECORD_BYTES",
    "SizeLimit",
    "SizeLimits",
    "build_admin",
    "build_consumer",
    "build_producer",
    "check_kafka_settings",
    "close_producer",
    "describe_groups",
    "ensure_topics",
    "library_error",
    "producer_connected",
    "rebalances_incrementally",
    "record_size",
    "size_limits",
    "too_large",
    "translate_kafka_errors",
    "when_topic_known",
]

logger = logging.getLogger(__name__)

# kafka-python's admin client logs its settings, passwords included, at DEBUG: hide them.
_ADMIN_LOG = logging.getLogger("kafka.admin.client")
if not any(isinstance(f, RedactSettingsFilter) for f in _ADMIN_LOG.filters):
    _ADMIN_LOG.addFilter(RedactSettingsFilter())
# kafka-python's routine lines at ERROR/WARNING (a close, a busy loop) go down to DEBUG.
quieten_routine_lines()

_PRODUCER_KEYS = frozenset(KafkaProducer.DEFAULT_CONFIG)
_CONSUMER_KEYS = frozenset(KafkaConsumer.DEFAULT_CONFIG)
_ADMIN_KEYS = frozenset(KafkaAdminClient.DEFAULT_CONFIG)

# Settings the library owns: passing them through would break the wire or the threads.
_MANAGED_KEYS = {
    "bootstrap_servers": "use the bootstrap_servers argument",
    "group_id": "use consumer_group_id",
    "group_instance_id": "use the server's group_instance_id (only its request consumer joins)",
    "enable_auto_commit": "the server commits offsets itself, after replying",
    "key_serializer": "records are bytes encoded by the library",
    "value_serializer": "records are bytes encoded by the library",
    "key_deserializer": "records are bytes decoded by the library",
    "value_deserializer": "records are bytes decoded by the library",
    "consumer_timeout_ms": "the library's threads poll with their own timeouts",
}

_DEFAULT_ATTEMPT_MS = 5000

ACL_DOCS = "docs/security.md, section ACLs"
"""Where a missing ACL is explained; named by every KafkaAuthorizationError."""


def check_kafka_settings(settings: dict[str, Any]) -> None:
    """Refuse keys that no kafka-python client accepts, or that the library manages itself."""
    managed = {key: why for key, why in _MANAGED_KEYS.items() if key in settings}
    if managed:
        raise ValueError(f"kafka settings managed by a2a-kafka-sync: {managed}")
    unknown = set(settings) - _PRODUCER_KEYS - _CONSUMER_KEYS - _ADMIN_KEYS
    if unknown:
        raise ValueError(f"unknown kafka-python settings: {sorted(unknown)}")


def record_size(key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]) -> int:
    """The size kafka-python gives a record (a v2 batch of one), to check against
    ``max_request_size`` before it is sent."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
    return size


def _settings_for(keys: frozenset[str], config: _CommonConfig) -> dict[str, Any]:
    return {key: value for key, value in config.kafka_settings().items() if key in keys}


def library_error(
    exc: BaseException,
    doing: str,
    *,
    correlation_id: str | None = None,
    topic: str | None = None,
    acl: str | None = None,
) -> KafkaOperationError:
    """The library's error for a kafka-python error met while ``doing`` something.

    A refusal by the broker's ACLs becomes a :class:`KafkaAuthorizationError` that names
    it (``TopicAuthorizationFailedError``, ...), what it was about, and ``acl``, the ACL
    that would allow it when the caller knows (e.g. ``"Read on group 'g'"``); anything
    else a :class:`KafkaOperationError`. ``exc`` is the new error's ``__cause__``.
    """
    if isinstance(exc, kafka.errors.KafkaTimeoutError):
        text = f"{doing}: timed out ({exc})"
    else:
        text = f"{doing}: {type(exc).__name__}: {exc}"
    refusal = _refusal(exc)
    error: KafkaOperationError
    if refusal is None:
        error = KafkaOperationError(text, correlation_id=correlation_id, topic=topic)
    else:
        needs = f"; it needs {acl}" if acl else ""
        error = KafkaAuthorizationError(
            f"{doing}: {refusal}: the broker's ACLs do not allow this principal{needs} "
            f"({ACL_DOCS})",
            correlation_id=correlation_id,
            topic=topic,
        )
    error.__cause__ = exc
    return error


def _refusal(exc: BaseException) -> str | None:
    """What the broker's ACLs refused, when ``exc`` is such a refusal; None otherwise."""
    if isinstance(exc, kafka.errors.AuthorizationError):
        what = exc.args[0] if exc.args else ""
        if isinstance(what, (set, frozenset, list, tuple)):
            what = ", ".join(sorted(map(str, what)))
        what = str(what).strip(" :")
        return f"{type(exc).__name__} ({what})" if what else type(exc).__name__
    # kafka-python wraps the broker's ClusterAuthorizationFailed answer to InitProducerId in
    # a plain KafkaError (the producer's fatal error): an idempotent producer whose
    # principal may write no topic at all.
    cluster = kafka.errors.ClusterAuthorizationFailedError.__name__
    if isinstance(exc, kafka.errors.KafkaError) and cluster in str(exc):
        return (
            f"{cluster} on InitProducerId (an idempotent producer needs Write on at least "
            "one topic, or IdempotentWrite on the cluster)"
        )
    return None


@contextlib.contextmanager
def translate_kafka_errors(
    doing: str,
    *,
    correlation_id: str | None = None,
    topic: str | None = None,
    acl: str | None = None,
) -> Iterator[None]:
    """Re-raise kafka-python errors met while ``doing`` something as the library's own
    (:func:`library_error`; ``acl`` names the ACL the operation needs)."""
    try:
        yield
    except kafka.errors.KafkaError as exc:
        raise library_error(
            exc, doing, correlation_id=correlation_id, topic=topic, acl=acl
        ) from exc


def _connect(what: str, config: _CommonConfig, factory: Any, settings: dict[str, Any]) -> Any:
    """Build a kafka-python client, retrying with backoff until ``connect_timeout`` is spent
    (not after the brokers refused the credentials or their certificate failed); at once
    BrokerUnavailableError, with the reason, when no bootstrap server takes a TCP connection."""
    check_reachable(config.bootstrap_servers, min(PROBE_TIMEOUT, config.connect_timeout))
    trouble = ConnectionTrouble(sasl="sasl_mechanism" in settings)
    kafka_logger = logging.getLogger("kafka")
    kafka_logger.addHandler(trouble)
    try:
        return _connect_with_retries(what, config, factory, settings, trouble)
    finally:
        kafka_logger.removeHandler(trouble)


def _connect_with_retries(
    what: str,
    config: _CommonConfig,
    factory: Any,
    settings: dict[str, Any],
    trouble: ConnectionTrouble,
) -> Any:
    deadline = time.monotonic() + config.connect_timeout
    attempt_ms = settings.pop("bootstrap_timeout_ms", _DEFAULT_ATTEMPT_MS)
    retrying = Retrying(
        stop=stop_after_delay(config.connect_timeout),
        wait=wait_exponential(multiplier=0.1, max=2.0),
        retry=retry_if_exception(
            lambda exc: (
                isinstance(exc, kafka.errors.KafkaError) and exc.retriable and not trouble.fatal
            )
        ),
        reraise=True,
    )
    servers = ",".join(config.bootstrap_servers)
    try:
        for attempt in retrying:
            with attempt:
                remaining_ms = int((deadline - time.monotonic()) * 1000)
                budget = max(100, min(attempt_ms, remaining_ms))
                return factory(bootstrap_timeout_ms=budget, **settings)
    except kafka.errors.KafkaError as exc:
        refusal = trouble.authentication or trouble.closed_in_authentication
        if refusal is not None:
            user = settings.get("sasl_plain_username")
            who = f", user {user!r}" if user else ""
            raise KafkaAuthenticationError(
                f"SASL authentication to Kafka at {servers} failed for the {what} "
                f"(mechanism {settings.get('sasl_mechanism')}{who}): {refusal}"
            ) from exc
        if trouble.certificate is not None:
            raise BrokerUnavailableError(
                f"could not reach Kafka at {servers} for the {what}: the broker's TLS "
                f"certificate did not verify ({trouble.certificate})"
            ) from exc
        why = f" (last connection error: {trouble.last})" if trouble.last else ""
        raise BrokerUnavailableError(
            f"could not reach Kafka at {servers} for the {what} "
            f"within connect_timeout={config.connect_timeout}s: {exc}{why}"
        ) from exc
    raise AssertionError("unreachable: tenacity either returns or reraises")  # pragma: no cover


def build_producer(config: _CommonConfig, **overrides: Any) -> KafkaProducer:
    """A producer with the config's settings; ``overrides`` win (the library's own needs)."""
    settings = _settings_for(_PRODUCER_KEYS, config)
    settings.update(overrides)
    return _connect("producer", config, KafkaProducer, settings)


def build_consumer(config: _CommonConfig, **overrides: Any) -> KafkaConsumer:
    """A consumer with the config's settings; ``overrides`` win (the library's own needs).

    Build the producer first: a consumer that fails to bootstrap leaves its I/O
    thread behind (kafka-python 3.0.12), a producer does not, so a producer that
    connected is the cheap proof that the brokers are there.
    """
    settings = _settings_for(_CONSUMER_KEYS, config)
    settings.update(overrides)
    return _connect("consumer", config, KafkaConsumer, settings)


def build_admin(config: _CommonConfig) -> KafkaAdminClient:
    """An admin client with the config's settings (build the producer first, as for consumers)."""
    return _connect("admin client", config, KafkaAdminClient, _settings_for(_ADMIN_KEYS, config))


def ensure_topics(
    config: _CommonConfig,
    topics: dict[str, tuple[int, dict[str, str]]],
    *,
    access: Mapping[str, Collection[str]] | None = None,
) -> list[str]:
    """Check that this principal may do what it will do on the topics of ``access`` (name ->
    operations, as Kafka names them: ``"READ"``, ``"WRITE"``), then create the topics
    (name -> (partitions, topic configs)) that are missing.

    Returns the names it created. A topic created meanwhile by someone else is fine.
    An operation of ``access`` the broker's ACLs do not allow, or a topic they do not
    let this principal create, raises KafkaAuthorizationError naming the topic and the
    ACL it needs; any other failure raises KafkaOperationError. The check asks the
    broker which operations its ACLs allow on each topic, existing or not (metadata's
    authorized operations); a broker that does not say (Tansu) is not checked.
    """
    admin = build_admin(config)
    try:
        if access:
            _check_access(admin, access)
        return _create_missing(admin, topics) if topics else []
    finally:
        admin.close()


def _create_missing(
    admin: KafkaAdminClient, topics: dict[str, tuple[int, dict[str, str]]]
) -> list[str]:
    with translate_kafka_errors("listing topics"):
        existing = set(admin.list_topics())
    missing = {name: spec for name, spec in topics.items() if name not in existing}
    if not missing:
        return []
    request = {
        name: {"num_partitions": partitions, "replication_factor": -1, "configs": configs}
        for name, (partitions, configs) in missing.items()
    }
    with translate_kafka_errors("creating topics", topic=",".join(missing)):
        response = admin.create_topics(request, raise_errors=False)
    for result in response.get("topics", []):
        code = result.get("error_code", 0)
        if code and code != kafka.errors.TopicAlreadyExistsError.errno:
            name = result.get("name")
            error_type = kafka.errors.for_code(code)
            if issubclass(error_type, kafka.errors.AuthorizationError):
                error = error_type({name})  # as kafka-python's clients raise it
            else:
                error = error_type(result.get("error_message") or name)
            raise library_error(
                error,
                f"creating topic {name!r}",
                topic=name,
                acl=f"Create on topic {name!r} (or the topic created beforehand, and Describe)",
            )
    with translate_kafka_errors("waiting for the new topics", topic=",".join(missing)):
        admin.wait_for_topics(sorted(missing))
    logger.info("created topics %s", sorted(missing))
    return sorted(missing)


def _check_access(admin: KafkaAdminClient, access: Mapping[str, Collection[str]]) -> None:
    names = sorted(access)
    with translate_kafka_errors("describing topics", topic=",".join(names)):
        described = {topic["name"]: topic for topic in admin.describe_topics(names)}
    for name in names:
        topic = described.get(name, {})
        needed = sorted(op.upper() for op in access[name])
        if topic.get("error_code") == kafka.errors.TopicAuthorizationFailedError.errno:
            lacking, allowed = needed, "do not let this principal even Describe it"
        else:
            operations = topic.get("authorized_operations")
            if operations is None:  # the broker does not say, or the topic is missing
                continue
            lacking = [op for op in needed if op not in operations]
            granted = ", ".join(op.capitalize() for op in sorted(operations)) or "nothing"
            allowed = f"allow this principal {granted} on it"
        if lacking:
            acl = " and ".join(op.capitalize() for op in lacking)
            refusal = kafka.errors.TopicAuthorizationFailedError.__name__
            raise KafkaAuthorizationError(
                f"checking access to topic {name!r}: {refusal}: the broker's ACLs {allowed}; "
                f"it needs {acl} on topic {name!r} ({ACL_DOCS})",
                topic=name,
            )


def describe_groups(admin: KafkaAdminClient, group_ids: list[str]) -> dict[str, Any]:
    """kafka-python's ``describe_groups`` (group id -> description: ``members``, each with
    its decoded ``member_metadata`` and ``member_assignment``), without the authorized
    operations: kafka-python 3.0.12 fails on those the embedded broker answers. A group
    that does not exist (GROUP_ID_NOT_FOUND, Apache Kafka 4) or that no coordinator knows
    yet (Apache Kafka before any group committed) is described as having no members.
    Raises KafkaOperationError when the brokers do not answer.
    """
    admin._process_acl_operations = lambda found: found  # unused here; see above
    try:
        with translate_kafka_errors("describing consumer groups"):
            described: dict[str, Any] = admin.describe_groups(group_ids)
    except KafkaOperationError as exc:
        if isinstance(exc.__cause__, kafka.errors.CoordinatorNotAvailableError):
            return {group_id: {"members": []} for group_id in group_ids}
        raise
    missing = f"[Error {kafka.errors.GroupIdNotFoundError.errno}]"  # Apache Kafka 4: no group
    for group_id, group in described.items():
        if str(group.get("error") or "").startswith(missing):
            described[group_id] = {"group_id": group_id, "members": [], "error": None}
    return described


def producer_connected(producer: KafkaProducer) -> bool:
    """True when ``producer`` holds a live connection to some broker of its cluster, as
    kafka-python 3's client sees it now (no I/O); False when it cannot tell."""
    try:
        client = producer._sender._client
        return any(client.connected(broker.node_id) for broker in producer._metadata.brokers())
    except Exception:  # kafka-python internals: a convenience, never a failure
        return False


def rebalances_incrementally(consumer: KafkaConsumer) -> bool:
    """True when ``consumer``'s group rebalances incrementally (a cooperative assignor in its
    ``partition_assignment_strategy``: only the partitions that move are revoked); False
    for the eager protocol of kafka-python's default assignors, or when it cannot tell."""
    try:
        protocol = consumer._coordinator._rebalance_protocol
    except AttributeError:  # kafka-python internals: eager unless it says otherwise
        return False
    return getattr(protocol, "name", None) == "COOPERATIVE"


def close_producer(producer: KafkaProducer, timeout: float) -> None:
    """Close a producer within ``timeout`` s, even when it holds records it cannot deliver.

    kafka-python 3.0.12's ``close()`` raises when its flush times out and then
    leaves its network thread running; this forces the sender closed instead
    (the undelivered records' futures fail), so no thread outlives the close.
    """
    try:
        producer.close(timeout=timeout)
    except kafka.errors.KafkaTimeoutError:
        sender = getattr(producer, "_sender", None)
        if sender is not None:
            sender.force_close()
            sender.join(max(timeout, 1.0))
        logger.warning("closed a producer that still held undelivered records")


# -- how large a record the brokers take ------------------------------------------------------


@dataclass(frozen=True)
class SizeLimit:
    """The largest record batch a broker or topic takes, in bytes, and the setting that says
    so (the one to raise): the topic's ``max.message.bytes`` or the brokers'
    ``message.max.bytes``."""

    bytes: int
    setting: str


@dataclass(frozen=True)
class SizeLimits:
    """What :func:`size_limits` read: the brokers' ``message.max.bytes`` (None when not
    asked or not told) and each topic's effective ``max.message.bytes``."""

    brokers: SizeLimit | None
    topics: dict[str, SizeLimit]


UNCHECKED_RECORD_BYTES = 16 * 1024
"""Records up to this size are sent without asking the brokers' size limits (most are small:
no admin connection for them). A topic that takes less is still handled: the broker's
refusal is recovered from, and the limit asked before the next record."""

_TOPIC_SETTING = "the topic's max.message.bytes"
_BROKER_SETTING = "the brokers' message.max.bytes"


def too_large(exc: BaseException) -> bool:
    """True when kafka-python failed a record as too large: the broker's MESSAGE_TOO_LARGE
    or RECORD_LIST_TOO_LARGE, or the producer's own ``max_request_size`` check.

    After the broker's refusal of a record batch that cannot be split, kafka-python
    3.0.12 fails an idempotent producer for good (``Sender._dispatch_error``), and the
    records it still held fail with the same error: not every record failed this way
    was too large itself.
    """
    return isinstance(
        exc, (kafka.errors.MessageSizeTooLargeError, kafka.errors.RecordListTooLargeError)
    )


def size_limits(
    config: _CommonConfig, topics: Collection[str] = (), *, brokers: bool = False
) -> SizeLimits:
    """Ask the brokers (DescribeConfigs, on an admin client of its own) the effective
    ``max.message.bytes`` of each of ``topics`` (its own, or the brokers' default) and,
    with ``brokers``, the ``message.max.bytes`` of one broker.

    A topic that does not exist, or that the principal may not describe, is left out.
    Raises KafkaOperationError (or BrokerUnavailableError) when the brokers do not
    answer the request at all: the embedded broker, for one, has no DescribeConfigs.
    """
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = build_admin(config)
    io_thread = getattr(getattr(admin, "_net", None), "_io_thread", None)  # kafka-python 3.0
    try:
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, topic, ["max.message.bytes"])
            for topic in topics
        ]
        where = ",".join(topics) or None
        with (
            quiet_thread(io_thread),  # a dropped connection is told by the error raised
            translate_kafka_errors("reading the brokers' size limits", topic=where),
        ):
            if brokers:
                ids = sorted(b["broker_id"] for b in admin.describe_cluster()["brokers"])
                if ids:
                    resources.append(
                        ConfigResource(
                            ConfigResourceType.BROKER, str(ids[0]), ["message.max.bytes"]
                        )
                    )
            described = admin.describe_configs(resources, config_filter="all")
    finally:
        admin.close()
    found: dict[str, SizeLimit] = {}
    for topic, entries in described.get("topic", {}).items():
        entry = entries.get("max.message.bytes")
        if entry and entry.get("value"):
            own = entry.get("config_source") == "DYNAMIC_TOPIC_CONFIG"
            setting = _TOPIC_SETTING if own else _BROKER_SETTING
            found[topic] = SizeLimit(int(entry["value"]), setting)
    broker = None
    for entries in described.get("broker", {}).values():
        entry = entries.get("message.max.bytes")
        if entry and entry.get("value"):
            broker = SizeLimit(int(entry["value"]), _BROKER_SETTING)
    return SizeLimits(broker, found)


_T = TypeVar("_T")


class _TopicNotKnown(Exception):
    """The broker a consumer asked does not know the topic (yet)."""


def _unknown_yet(error: BaseException) -> bool:
    if isinstance(error, _TopicNotKnown):
        return True
    cause = error.__cause__ if isinstance(error, KafkaOperationError) else error
    return isinstance(cause, kafka.errors.KafkaError) and bool(cause.retriable)


def when_topic_known(
    topic: str, timeout: float, step: Callable[[], _T], *, missing: str = "no such topic"
) -> _T:
    """What ``step()`` returns once it finds ``topic``: called again, with backoff, for up
    to ``timeout`` s while it returns something empty (no partitions) or raises a retriable
    error (UnknownTopicOrPartition, LeaderNotAvailable), then KafkaOperationError(``missing``).

    On a cluster a topic just created reaches the brokers one after the other:
    ``create_topics(wait_for_metadata=True)`` waits until the node it asks knows the
    topic, but a consumer built next may ask another node, or a leader that has not
    heard of it yet.
    """
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_exponential(multiplier=0.05, max=1.0),
        retry=retry_if_exception(_unknown_yet),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                found = step()
                if not found:
                    raise _TopicNotKnown(topic)
                return found
    except _TopicNotKnown as exc:
        raise KafkaOperationError(missing, topic=topic) from exc
    raise AssertionError("unreachable: tenacity either returns or reraises")  # pragma: no cover
