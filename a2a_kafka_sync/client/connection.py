"""``ConnectionLifecycle``: the client's connections and threads, from open to close.

The base of :class:`~a2a_kafka_sync.client.KafkaClientTransport`: its state
(unopened, opened, closed), opening (the producer, the topics, the reply reader
positioned at the end of the reply topic), closing, the fresh start in a forked
child, and the recovery after a failed send or a timeout. Opening, recovering and
checking run on the :class:`~a2a_kafka_sync.client.connector.Connector`'s thread: a
call waits for them only until its own deadline.
"""

from __future__ import annotations

import atexit
import enum
import logging
import os
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from kafka import KafkaProducer, TopicPartition
from kafka.admin import OffsetSpec

from .._kafka import (
    SizeLimit,
    build_admin,
    build_consumer,
    build_producer,
    close_producer,
    ensure_topics,
    producer_connected,
    translate_kafka_errors,
    when_topic_known,
)
from .._reach import check_reachable
from .._reply_topics import delete_reply_topic, fresh_reply_topic
from ..config import LOW_LATENCY, ClientConfig
from ..errors import A2AKafkaError, ClientClosedError
from ..metrics import ClientMetrics
from .connector import Connector
from .correlation import CorrelationManager
from .handoff import Start, take_over
from .presence import Presence
from .push import PushDispatcher
from .reader import GAP_GRACE, ReplyReader

if TYPE_CHECKING:
    from .transport import KafkaClientTransport

__all__ = ["ConnectionLifecycle"]

logger = logging.getLogger(__name__)

_DELETE_BUDGET = 3.0
"""Seconds close() gives, at most, to deleting the reply topic it created."""


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

    def _fresh_state(self, state: _State, push: PushDispatcher | None = None) -> None:
        """The per-process parts: registry, lock, connections, threads (none yet); ``push``,
        the dispatcher of the push callbacks (default: one with none)."""
        self._registry = CorrelationManager(self.config.max_pending)
        self._lock = threading.Lock()
        self._state = state
        self._producer: KafkaProducer | None = None
        self._reader: ReplyReader | None = None
        self._push = push or PushDispatcher()
        self._pid = os.getpid()
        self._broken = False  # a send failed: reconnect before the next one
        self._unreachable = False  # a request was not delivered: check before the next one
        self._suspect = False  # a call timed out: check the reply topic, in the background
        self._connector = Connector(self._bring_up, ",".join(self.config.bootstrap_servers))
        self._request_limit: SizeLimit | None = None  # the request topic's, once asked
        self._request_limit_asked = False
        self._request_refused = False  # the broker refused a request: ask before the next
        self._made_reply_topic = False  # this process created its (fresh) reply topic
        self._presence = Presence(self.config)  # who reads the request topic, last we asked

    def _after_fork(self) -> None:
        """In a forked child: the parent's threads and sockets are not ours. Start over.

        The child opens its own connections and reply topic on its next call
        (gunicorn, celery prefork, multiprocessing), and delivers push records to the
        callbacks registered before the fork; a closed client stays closed.
        """
        atexit.unregister(self._atexit)
        if not self.config.reply_topic:
            self.reply_topic = fresh_reply_topic(self.config.reply_topic_prefix)
        state = _State.CLOSED if self._state is _State.CLOSED else _State.UNOPENED
        self.metrics.reset()  # the parent's calls are not this process's
        self._fresh_state(state, PushDispatcher(self._push.callbacks))

    # -- lifecycle ------------------------------------------------------------------------------

    def open(self) -> KafkaClientTransport:
        """Connect, create the reply topic when missing, and start the reply reader; ask the
        brokers whether an agent serves the request topic (calls learn the answer:
        NoAgentError when none does; open() itself does not raise it). Idempotent.

        Raises BrokerUnavailableError when no broker answers within
        ``connect_timeout`` (at once, with the reason, when no bootstrap address takes a
        TCP connection; KafkaAuthenticationError when the brokers refuse the SASL
        credentials), KafkaAuthorizationError when the broker's ACLs do not let this
        principal create or read its reply topic or write the request topic, and
        ClientClosedError after :meth:`close`. After a failure, later calls raise the
        same error at once for a short cool-down (see :mod:`.connector`).
        """
        self._ready(None, None, call=False)
        return cast("KafkaClientTransport", self)

    def _ready(self, deadline: float | None, timeout: float | None, *, call: bool = True) -> None:
        """Before a send: the client opened and sound, and an agent serving the request topic
        as far as the client knows (:mod:`.presence`; NoAgentError when none does); or the
        reason it is not, by ``deadline`` (time.monotonic(); None: no limit). ``timeout`` is
        the call's. ``call=False`` (open()): connected is enough."""
        state = self._state
        presence = self._presence
        if state is _State.OPENED and not (self._broken or self._unreachable):
            if self._suspect or (presence.due and presence.sendable):
                self._connector.start()  # checked in the background; this call goes on
            if not call or presence.sendable:
                return
            if presence.failing_fast():
                presence.require()  # no agent, asked less than a cool-down ago: at once
        if state is _State.CLOSED:
            raise ClientClosedError("the client is closed")
        self._connector.ensure(deadline, timeout)
        if self._state is _State.CLOSED:
            raise ClientClosedError("the client was closed")
        if call:
            presence.require()

    def _bring_up(self) -> None:
        """One attempt of the connector's thread: open the client, repair it, or check it;
        then, when it is due, ask who reads the request topic."""
        if self._state is _State.UNOPENED:
            self._open_now()
        elif self._state is _State.OPENED and (self._broken or self._unreachable or self._suspect):
            self._recover()
        if self._state is _State.OPENED and self._presence.due:
            self._check_presence()

    def _open_now(self) -> None:
        producer, reader = self._connect()  # probes the brokers first (_kafka._connect)
        with self._lock:
            if self._state is _State.UNOPENED:
                self._producer, self._reader = producer, reader
                self._state = _State.OPENED
                atexit.register(self._atexit)
                return
        reader.stop(2.0)  # closed (or forked) meanwhile: keep nothing
        close_producer(producer, 0.5)
        self._delete_own_reply_topic(1.0)
        raise ClientClosedError("the client was closed while it connected")

    def _check_presence(self) -> None:
        """On the connector's thread: ask who reads the request topic (:mod:`.presence`);
        when it exists, have the producer know it, so a call's send never waits for its
        metadata (max_block_ms)."""
        known = self._presence.finding
        finding = self._presence.check()
        producer = self._producer
        if not finding.exists or producer is None or (known is not None and known.exists):
            return
        topic = self.config.request_topic
        # On a cluster, the node the producer asks may not know a new topic yet: ask again.
        when_topic_known(
            topic,
            self.config.connect_timeout,
            lambda: producer.partitions_for(topic),
            missing="the request topic does not exist",
        )

    def _connect(self, after: ReplyReader | None = None) -> tuple[KafkaProducer, ReplyReader]:
        """A producer, the topics, and a reply reader started at the end of the reply topic;
        or, taking over from the reader ``after`` (recovery), where that one stood."""
        config = self.config
        overrides: dict[str, Any] = {}
        if "max_block_ms" not in config.kafka:
            overrides["max_block_ms"] = 10_000
        if "allow_auto_create_topics" not in config.kafka:
            # A send's metadata request must not make the request topic (a typo) on brokers
            # that create topics on demand (Apache Kafka's default): the server owns it.
            overrides["allow_auto_create_topics"] = False
        producer = build_producer(config, **overrides)
        try:
            topics = {
                self.reply_topic: (
                    config.reply_topic_partitions,
                    {"retention.ms": str(config.reply_topic_retention_ms)},
                ),
            }
            if config.create_request_topic:
                topics[config.request_topic] = (config.request_topic_partitions, {})
            # A missing ACL fails open() here, not a call later; then missing topics are made.
            created = ensure_topics(
                config,
                topics if config.create_topics else {},
                access={self.reply_topic: ["READ"], config.request_topic: ["WRITE"]},
            )
            if self.reply_topic in created and not config.reply_topic:
                self._made_reply_topic = True
            # Positioned explicitly (_position); "earliest" only when the broker says a
            # position is out of range: the topic made again below it, or records expired
            # before they were read. Its oldest record is then newer than the reader's.
            consumer = build_consumer(
                config, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
            )
            try:
                self._position(consumer)
                start = self._take_over(consumer, after) if after is not None else None
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
            positions=self._ends(consumer) if start is None else start.started,
            skip=None if start is None else start.skip,
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

    @staticmethod
    def _ends(consumer: Any) -> dict[TopicPartition, int]:
        """Where :meth:`_position` left the consumer: the end of each partition (resolved
        already, no I/O)."""
        return {partition: consumer.position(partition) for partition in consumer.assignment()}

    def _take_over(self, consumer: Any, old: ReplyReader) -> Start:
        """Recovery: stop the reader ``old`` and position ``consumer`` (at the end of the
        reply topic) where it stood, so no reply written meanwhile is skipped, nor handed
        twice; from the beginning of a topic made again (:func:`.handoff.take_over`). No
        I/O: the ends are resolved, a beginning is resolved by the new reader."""
        ends = self._ends(consumer)
        if not old.stop(2.0):
            logger.warning("the old reply reader did not stop within 2s; taking over anyway")
        start = take_over(old.handled, ends)
        with translate_kafka_errors("positioning on the reply topic", topic=self.reply_topic):
            for partition, offset in start.seek.items():
                consumer.seek(partition, offset)
            if start.beginning:
                consumer.seek_to_beginning(*start.beginning)
        return start

    def close(self, timeout: float = 5.0) -> None:
        """Fail the calls still waiting, stop the reader and close the producer, then delete
        the reply topic when this client created it (``delete_reply_topic_on_close``).
        Idempotent; never raises for a broker that is down.

        Waits at most about ``timeout`` seconds for the reader thread and for the
        producer to send what it holds (and for a connection attempt under way, which
        otherwise closes what it built when it ends); the deletion takes what is left of
        it, at least 0.5 s and at most 3 s.
        """
        with self._lock:
            if self._state is _State.CLOSED:
                return
            opened = self._state is _State.OPENED
            self._state = _State.CLOSED
        deadline = time.monotonic() + timeout
        failed = self._registry.fail_all("the client was closed")
        if failed:
            logger.info("closing the client failed %d pending call(s)", failed)
        self._connector.wait_idle(min(timeout, 2.0))
        if not opened:
            self._push.close(timeout)
            return
        atexit.unregister(self._atexit)
        with self._lock:  # a repair may have swapped them meanwhile
            reader, producer = self._reader, self._producer
        assert reader is not None and producer is not None
        if not reader.stop(max(0.1, deadline - time.monotonic())):
            logger.warning("the reply reader did not stop within %ss", timeout)
        close_producer(producer, max(0.0, deadline - time.monotonic()))
        self._push.close(timeout=max(0.1, deadline - time.monotonic()))
        self._delete_own_reply_topic(min(_DELETE_BUDGET, max(0.5, deadline - time.monotonic())))

    def _delete_own_reply_topic(self, timeout: float) -> None:
        """Once the reader is stopped: delete the reply topic when this client made it and
        ``delete_reply_topic_on_close`` says so. Within ``timeout``; never raises."""
        if self._made_reply_topic and self.config.delete_reply_topic_on_close:
            self._made_reply_topic = False
            delete_reply_topic(self.config, self.reply_topic, timeout)

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
        """On the connector's thread, after a failed send, an undelivered request or a timeout.

        No broker takes a connection: raise (calls fail fast). After an undelivered request,
        once one does: calls go on, and the reply topic is checked in the background next.
        After a timeout: when the reply topic is still the one the reader reads, nothing to
        do. Else (and after a failed send) a new producer, the topics recreated when
        missing, and the reader repositioned.

        A broker that restarted may have lost its topics and its producer state
        (the embedded broker keeps nothing); this brings the client back without
        restarting the application. Calls still waiting keep waiting, and get the
        replies written while the client was repaired: the new reader starts where the
        old one stood (:meth:`_take_over`). Calls made meanwhile do not wait for it
        (but after a failed send or an undelivered request, until their deadline): the
        client's lock is held only to swap the new producer and reader in. Raises
        BrokerUnavailableError when no broker is reachable (calls then fail fast).
        """
        try:
            check_reachable(self._known_servers())
        except A2AKafkaError:
            self._unreachable = True  # calls fail fast until a later attempt finds one
            raise
        if not self._broken and self._unreachable:
            # A broker answers again: calls go on at once; the reply topic is checked next,
            # in the background (it may have been made again meanwhile).
            self._unreachable, self._suspect = False, True
            return
        if not self._broken and self._reply_topic_sound():
            self._suspect = False
            return
        logger.warning(
            "a send failed or the reply topic is gone: reconnecting to %s",
            ",".join(self.config.bootstrap_servers),
        )
        # The new reader starts where the old one stood (which it stops), not at the end.
        producer, reader = self._connect(after=self._reader)
        old_producer: KafkaProducer | None
        old_reader: ReplyReader | None
        with self._lock:
            if self._state is not _State.OPENED:
                old_producer, old_reader = producer, reader  # closed meanwhile: drop the new
            else:
                old_producer, old_reader = self._producer, self._reader
                self._producer, self._reader = producer, reader
                self._broken = self._suspect = self._unreachable = False
                self._request_limit_asked = False  # the brokers may have come back otherwise
        assert old_producer is not None and old_reader is not None
        old_reader.stop(2.0)
        close_producer(old_producer, 0.5)

    def _known_servers(self) -> list[str]:
        """The bootstrap addresses, and every broker the producer's metadata knows (a
        cluster is reachable while any of its brokers is, listed at bootstrap or not)."""
        servers = list(self.config.bootstrap_servers)
        producer = self._producer
        try:
            brokers = producer._metadata.brokers() if producer is not None else ()
        except Exception:  # kafka-python internals: a convenience, never a failure
            brokers = ()
        for broker in brokers:
            address = f"{broker.host}:{broker.port}"
            if address not in servers:
                servers.append(address)
        return servers

    def _broker_connected(self) -> bool:
        """True when the producer holds a live connection to some broker of the cluster
        (as kafka-python's client sees it now; no I/O). False when it cannot tell."""
        producer = self._producer
        return producer is not None and producer_connected(producer)

    def _reply_topic_sound(self) -> bool:
        """After a timeout: is the reply topic still the one the reader reads? Not when it
        is gone, nor when it was made again (a broker that restarted empty, a consumer's
        metadata request re-creating it): its end is then below where the reader stands,
        and the reader would wait there for ever. True when the brokers cannot say."""
        reader = self._reader
        read_to = dict(reader.read_to) if reader is not None else {}
        try:
            admin = build_admin(self.config)
        except A2AKafkaError:
            return True  # unreachable: nothing to repair yet; the call will report it
        try:
            with translate_kafka_errors("listing topics"):
                if self.reply_topic not in admin.list_topics():
                    return False
            if not read_to:
                return True
            with translate_kafka_errors("reading the reply topic's end", topic=self.reply_topic):
                ends = admin.list_partition_offsets(
                    {partition: OffsetSpec.LATEST for partition in read_to}, timeout_ms=5000
                )
            return all(ends[p].offset >= offset for p, offset in read_to.items() if p in ends)
        except A2AKafkaError:
            return True
        finally:
            admin.close()
