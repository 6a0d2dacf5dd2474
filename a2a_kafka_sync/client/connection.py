"""``ConnectionLifecycle``: the client's connections and threads, from open to close.

The base of :class:`~a2a_kafka_sync.client.KafkaClientTransport`: its state
(unopened, opened, closed), opening (the producer, the topics, the reply reader
positioned at the end of the reply topic), closing, the fresh start in a forked
child, and the recovery after a failed send or a timeout.
"""

from __future__ import annotations

import atexit
import enum
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from kafka import KafkaProducer, TopicPartition

from .._kafka import (
    SizeLimit,
    build_consumer,
    build_producer,
    close_producer,
    ensure_topics,
    translate_kafka_errors,
    when_topic_known,
)
from ..config import LOW_LATENCY, ClientConfig
from ..errors import A2AKafkaError, ClientClosedError
from ..metrics import ClientMetrics
from .correlation import CorrelationManager
from .push import PushDispatcher
from .reader import GAP_GRACE, ReplyReader

if TYPE_CHECKING:
    from .transport import KafkaClientTransport

__all__ = ["ConnectionLifecycle"]

logger = logging.getLogger(__name__)


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class ConnectionLifecycle:
    """The lifecycle of :class:`~a2a_kafka_sync.client.KafkaClientTransport`, under ``CallPath``.

    Owns the per-process parts (the registry, the producer, the reply reader, the
    push dispatcher) and the state that says which of them exist; the transport's
    calls open it on first use and recover it after a failed send or a timeout.
    """

    if TYPE_CHECKING:  # set by the transport's constructor (not class attributes: autodoc)
        config: ClientConfig
        reply_topic: str
        metrics: ClientMetrics
        _atexit: Callable[[], None]

    def _fresh_state(self, state: _State) -> None:
        """The per-process parts: registry, lock, connections, threads (none yet)."""
        self._registry = CorrelationManager(self.config.max_pending)
        self._lock = threading.Lock()
        self._state = state
        self._producer: KafkaProducer | None = None
        self._reader: ReplyReader | None = None
        self._push = PushDispatcher()
        self._pid = os.getpid()
        self._broken = False  # a send failed: reconnect before the next one
        self._suspect = False  # a call timed out: check the reply topic before the next one
        self._request_limit: SizeLimit | None = None  # the request topic's, once asked
        self._request_limit_asked = False
        self._request_refused = False  # the broker refused a request: ask before the next

    def _after_fork(self) -> None:
        """In a forked child: the parent's threads and sockets are not ours. Start over.

        The child opens its own connections and reply topic on its next call
        (gunicorn, celery prefork, multiprocessing); a closed client stays closed.
        """
        atexit.unregister(self._atexit)
        if not self.config.reply_topic:
            self.reply_topic = f"{self.config.reply_topic_prefix}-{uuid.uuid4().hex}"
        state = _State.CLOSED if self._state is _State.CLOSED else _State.UNOPENED
        self.metrics.reset()  # the parent's calls are not this process's
        self._fresh_state(state)

    # -- lifecycle ------------------------------------------------------------------------------

    def open(self) -> KafkaClientTransport:
        """Connect, create the topics when missing, and start the reply reader. Idempotent.

        Raises BrokerUnavailableError when no broker answers within
        ``connect_timeout`` (KafkaAuthenticationError when the brokers refuse the SASL
        credentials), KafkaAuthorizationError when the broker's ACLs do not let this
        principal create or read its reply topic or write the request topic, and
        ClientClosedError after :meth:`close`.
        """
        with self._lock:
            if self._state is _State.OPENED:
                return cast("KafkaClientTransport", self)
            if self._state is _State.CLOSED:
                raise ClientClosedError("the client is closed")
            self._producer, self._reader = self._connect()
            self._state = _State.OPENED
            atexit.register(self._atexit)
        return cast("KafkaClientTransport", self)

    def _connect(self) -> tuple[KafkaProducer, ReplyReader]:
        config = self.config
        overrides: dict[str, Any] = {}
        if "max_block_ms" not in config.kafka:
            overrides["max_block_ms"] = 10_000
        producer = build_producer(config, **overrides)
        try:
            topics = {
                self.reply_topic: (
                    config.reply_topic_partitions,
                    {"retention.ms": str(config.reply_topic_retention_ms)},
                ),
                config.request_topic: (config.request_topic_partitions, {}),
            }
            # A missing ACL fails open() here, not a call later; then missing topics are made.
            ensure_topics(
                config,
                topics if config.create_topics else {},
                access={self.reply_topic: ["READ"], config.request_topic: ["WRITE"]},
            )
            consumer = build_consumer(
                config, group_id=None, enable_auto_commit=False, auto_offset_reset="latest"
            )
            try:
                self._position(consumer)
            except BaseException:
                consumer.close(autocommit=False, timeout_ms=1000)
                raise
        except BaseException:
            close_producer(producer, 1.0)
            raise
        reader = ReplyReader(
            consumer,
            self._registry,
            on_push=self._push.deliver,
            listening=self._push.active,
            metrics=self.metrics,
            # Tansu can show a later batch before an earlier one is stored: re-read holes there
            gap_grace=GAP_GRACE if config.profile == LOW_LATENCY else 0.0,
        )
        reader.start()
        logger.debug(
            "client open: request topic %s, reply topic %s", config.request_topic, self.reply_topic
        )
        return producer, reader

    def _position(self, consumer: Any) -> None:
        """Assign every partition of the reply topic and resolve its end offset now.

        A topic just created may not have reached the node the consumer asks (on a
        cluster): asked again for up to ``connect_timeout`` (:func:`when_topic_known`).
        """
        when_topic_known(
            self.reply_topic,
            self.config.connect_timeout,
            lambda: self._assign_at_end(consumer),
            missing="the reply topic does not exist",
        )

    def _assign_at_end(self, consumer: Any) -> list[TopicPartition]:
        """One try of :meth:`_position`: the partitions assigned (none when the topic is
        unknown to the node asked)."""
        with translate_kafka_errors("reading reply topic metadata", topic=self.reply_topic):
            partitions = consumer.partitions_for_topic(self.reply_topic)
        assigned = [TopicPartition(self.reply_topic, p) for p in sorted(partitions or ())]
        if not assigned:
            return assigned
        with translate_kafka_errors("positioning on the reply topic", topic=self.reply_topic):
            consumer.assign(assigned)
            consumer.seek_to_end(*assigned)
            for partition in assigned:
                consumer.position(partition)
        return assigned

    def close(self, timeout: float = 5.0) -> None:
        """Fail the calls still waiting, stop the reader and close the producer. Idempotent.

        Waits at most about ``timeout`` seconds for the reader thread and for the
        producer to send what it holds.
        """
        with self._lock:
            if self._state is _State.CLOSED:
                return
            opened = self._state is _State.OPENED
            self._state = _State.CLOSED
        failed = self._registry.fail_all("the client was closed")
        if failed:
            logger.info("closing the client failed %d pending call(s)", failed)
        if not opened:
            self._push.close(timeout)
            return
        atexit.unregister(self._atexit)
        deadline = time.monotonic() + timeout
        assert self._reader is not None and self._producer is not None
        if not self._reader.stop(timeout):
            logger.warning("the reply reader did not stop within %ss", timeout)
        close_producer(self._producer, max(0.0, deadline - time.monotonic()))
        self._push.close(timeout=max(0.1, deadline - time.monotonic()))

    def __enter__(self) -> KafkaClientTransport:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- recovery after a failed send or a timeout ---------------------------------------------

    def _recover(self) -> None:
        """After a failed send: new producer, topics recreated when missing, reader repositioned.

        A broker that restarted may have lost its topics and its producer state
        (the embedded broker keeps nothing); this brings the client back without
        restarting the application. Calls still waiting keep waiting.
        """
        with self._lock:
            if self._state is not _State.OPENED or not (self._broken or self._suspect):
                return
            if not self._broken and self._reply_topic_exists():
                self._suspect = False
                return
            logger.warning(
                "a send failed: reconnecting to %s", ",".join(self.config.bootstrap_servers)
            )
            assert self._producer is not None and self._reader is not None
            self._reader.stop(2.0)
            close_producer(self._producer, 0.5)
            self._producer, self._reader = self._connect()
            self._broken = self._suspect = False
            self._request_limit_asked = False  # the brokers may have come back otherwise

    def _reply_topic_exists(self) -> bool:
        """Ask the brokers whether the reply topic is still there (after a timeout)."""
        from .._kafka import build_admin

        try:
            admin = build_admin(self.config)
        except A2AKafkaError:
            return True  # unreachable: nothing to repair yet; the call will report it
        try:
            with translate_kafka_errors("listing topics"):
                return self.reply_topic in admin.list_topics()
        except A2AKafkaError:
            return True
        finally:
            admin.close()
