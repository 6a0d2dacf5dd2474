"""``KafkaServerApp``: serves an agent from a request topic with a pool of worker threads."""

from __future__ import annotations

import enum
import logging
import signal
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from types import FrameType, TracebackType
from typing import Any

import kafka.errors
from kafka import (
    ConsumerRebalanceListener,
    KafkaConsumer,
    KafkaProducer,
    OffsetAndMetadata,
    TopicPartition,
)

from .._kafka import build_consumer, build_producer, close_producer, ensure_topics
from ..auth import Authenticator
from ..config import ServerConfig, config_from
from ..errors import A2AKafkaError, ConfigurationError
from ..metrics import ServerMetrics
from ..types import AgentCard
from .default_handler import DefaultRequestHandler, default_card
from .dispatcher import Dispatcher
from .guard import RequestGuard
from .offsets import OffsetTracker
from .tasks import TaskStore
from .tasks.event_log import TaskEventLog
from .tasks.kafka_event_log import event_log_for
from .transactions import TransactionalCommitter

__all__ = ["KafkaServerApp"]

logger = logging.getLogger(__name__)

POLL_TIMEOUT_MS = 100
"""How long one poll of the request topic waits; also how fast the consumer notices stop()."""

MAX_REDELIVERIES = 3
"""How often a request whose replies were not delivered is read again before it is dropped
(logged), so one reply the broker always refuses cannot stall its partition."""

FULL_WAIT = 0.1
"""With max_in_flight requests unfinished, how long the consumer waits for one to finish
before it pauses its partitions (a pause drops records already fetched)."""

EXACTLY_ONCE_POLL_MS = 10
"""The poll wait in exactly-once mode, where finished requests commit between polls."""

LAG_INTERVAL = 1.0
"""Seconds between two reads of the consumer lag (by the consumer thread, with metrics on)."""

LAG_TIMEOUT_MS = 500
"""How long the consumer thread waits for the request topic's end offsets, for the lag."""


class _State(enum.Enum):
    UNSTARTED = "unstarted"
    RUNNING = "running"
    STOPPED = "stopped"


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commits what is done before partitions move, and tells the app what it owns.

    kafka-python 3 calls it on its I/O thread, where nothing may block: the
    commit is queued (asynchronously) ahead of the rebalance's own requests.
    """

    def __init__(self, app: KafkaServerApp) -> None:
        self._app = app

    def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        if self._app._committer is not None:  # exactly once: uncommitted work is redone
            self._app._committer.forget(revoked)
        else:
            self._app._commit(only=set(revoked))
        self._app._tracker.forget(revoked)

    def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        if assigned:
            logger.info("serving partitions %s", sorted(p.partition for p in assigned))
            self._app._assigned.set()


class KafkaServerApp:
    """Serves an A2A agent: reads its request topic, runs handlers on a thread pool, replies.

    One consumer thread (``a2a-kafka-request-consumer``) reads the request topic in
    a consumer group, so several processes share the load, and hands each record
    to a ``ThreadPoolExecutor``; a worker decodes it, calls the handler and
    produces the replies to the caller's reply topic. A request's offset is
    committed only once every reply it produced is settled (acknowledged by the broker,
    or failed after the producer's retries). When
    ``max_in_flight`` requests are unfinished, the consumer pauses instead of
    buffering more.

    Args:
        handler: a plain function ``fn(message, context)`` returning a Message, Task or
            str; a generator function (a stream); or a handler object with
            ``on_message_send`` / ``on_message_send_stream`` / ``on_get_task`` ...
        bootstrap_servers: Kafka brokers, a list or a comma-separated string.
        request_topic: the topic this agent serves.
        consumer_group_id: the group the server processes share.
        agent_card: this agent's card (default: one named after the request topic,
            with streaming and push notifications).
        task_store: where a function handler's tasks live (default in memory); see
            :class:`~a2a_kafka_sync.server.DefaultRequestHandler`.
        extended_agent_card: the card ``agent_card_get`` answers with (-32007 when None).
        event_log: where a function handler's task events are numbered and kept, so
            streams can resume (``after_sequence``): a
            :class:`~a2a_kafka_sync.server.tasks.TaskEventLog`, ``"memory"`` (the
            default: resumes on this instance) or ``"kafka"`` (the topic
            ``<request_topic>.task-events``: resumes on any instance).
        authenticator: ``authenticator(credentials, headers) -> Principal | None``
            (:mod:`a2a_kafka_sync.auth`): every request must authenticate (or be
            anonymous, with ``allow_anonymous``) before its handler runs, which sees
            ``context.principal``; the default handler then keeps each task for its
            creator. None: no authentication.
        config: a complete :class:`~a2a_kafka_sync.config.ServerConfig` instead of
            the arguments above and ``settings``.
        **settings: any other ServerConfig field (``max_workers``, ``profile``,
            ``drain_timeout``, ...); every other key is a kafka-python setting.
    """

    def __init__(
        self,
        handler: Any,
        bootstrap_servers: str | list[str] | None = None,
        request_topic: str | None = None,
        consumer_group_id: str | None = None,
        *,
        agent_card: AgentCard | None = None,
        task_store: TaskStore | None = None,
        extended_agent_card: AgentCard | None = None,
        event_log: TaskEventLog | str | None = None,
        authenticator: Authenticator | None = None,
        config: ServerConfig | None = None,
        **settings: Any,
    ) -> None:
        explicit = {
            "bootstrap_servers": bootstrap_servers,
            "request_topic": request_topic,
            "consumer_group_id": consumer_group_id,
        }
        self.config: ServerConfig = config_from(ServerConfig, config, explicit, settings)
        self.agent_card = agent_card or default_card(self.config.request_topic)
        if hasattr(handler, "on_message_send") or hasattr(handler, "on_message_send_stream"):
            if task_store is not None or extended_agent_card is not None or event_log is not None:
                raise TypeError(
                    "task_store, event_log and extended_agent_card configure the "
                    "DefaultRequestHandler "
                    "built for a function; pass them to your handler object instead"
                )
            self.handler = handler
        else:
            self.handler = DefaultRequestHandler(
                handler,
                task_store=task_store,
                agent_card=self.agent_card,
                extended_agent_card=extended_agent_card,
                event_log=event_log_for(event_log, self.config),
            )
        self._guard = _guard(self.config, self.handler, authenticator)
        if authenticator is None and self.agent_card.security:
            logger.warning(
                "agent card %r declares security requirements, but the app has no "
                "authenticator: requests are not authenticated",
                self.agent_card.name,
            )
        self._tracker = OffsetTracker()
        tracker = self._tracker
        self.metrics = ServerMetrics(
            enabled=self.config.metrics, in_flight=lambda: tracker.in_flight
        )
        """This server's counters, latencies and consumer lag
        (:class:`~a2a_kafka_sync.metrics.ServerMetrics`)."""
        self._lag_at = 0.0
        self._lock = threading.Lock()
        self._state = _State.UNSTARTED
        self._stopping = threading.Event()
        self._assigned = threading.Event()
        self._producer_broken = False
        self._committer: TransactionalCommitter | None = None
        self._drain_timeout = self.config.drain_timeout  # stop(timeout) may shorten it
        self._last_commit = 0.0
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> KafkaServerApp:
        """Connect and serve in the background (for notebooks, tests, embedding). Idempotent."""
        with self._lock:
            if self._state is _State.RUNNING:
                return self
            if self._state is _State.STOPPED:
                raise A2AKafkaError("a stopped KafkaServerApp cannot be started again")
            config = self.config
            producer = build_producer(config, **_producer_overrides(config))
            try:
                if config.create_topics:
                    ensure_topics(config, self._topics())
                overrides: dict[str, Any] = {
                    "group_id": config.group_id,
                    "enable_auto_commit": False,
                }
                if "auto_offset_reset" not in config.kafka:
                    overrides["auto_offset_reset"] = "earliest"
                consumer = build_consumer(config, **overrides)
                consumer.subscribe([config.request_topic], listener=_Rebalance(self))
            except BaseException:
                close_producer(producer, 1.0)
                raise
            self._producer, self._consumer = producer, consumer
            start_handler = getattr(self.handler, "start", None)
            if callable(start_handler):
                start_handler(producer)
            # With a handler_timeout, abandoned handlers may hold threads: keep spares so
            # max_workers handlers can still run (the watchdog bounds how many do).
            threads = config.max_workers * (2 if config.handler_timeout else 1)
            self._executor = ThreadPoolExecutor(
                max_workers=threads, thread_name_prefix="a2a-kafka-worker"
            )
            required = frozenset(
                extension.uri
                for extension in self.agent_card.capabilities.extensions or []
                if extension.required
            )
            self._dispatcher = Dispatcher(
                self.handler, producer, config, self.metrics, self._guard, required
            )
            if config.exactly_once:
                self._committer = TransactionalCommitter(config)
            self._thread = threading.Thread(
                target=self._consume, name="a2a-kafka-request-consumer", daemon=True
            )
            self._state = _State.RUNNING
            self._last_commit = time.monotonic()
            self._thread.start()
        if config.card_topic:
            self._publish_card(config.card_topic)
        logger.info("serving %s as group %s", config.request_topic, config.group_id)
        return self

    def _publish_card(self, topic: str) -> None:
        """Publish this agent's card, with its Kafka interface, for discovery."""
        from ..discovery import AgentDirectory, AgentDirectoryConfig
        from ..interfaces import with_kafka_interface

        config = self.config
        directory_config = AgentDirectoryConfig(
            bootstrap_servers=config.bootstrap_servers,
            topic=topic,
            profile=config.profile,
            kafka=config.kafka,
            connect_timeout=config.connect_timeout,
            create_topics=config.create_topics,
            card_signer=config.card_signer,
        )
        given = self.agent_card
        card = with_kafka_interface(given, config.bootstrap_servers, config.request_topic)
        if given.signatures and config.card_signer is None and card != given:
            logger.warning(
                "the card of %s is signed but lacks its Kafka interface: published as given, "
                "since adding it would break the signatures (sign the card after "
                "with_kafka_interface, or set card_signer)",
                given.name,
            )
            card = given
        try:
            with AgentDirectory(config=directory_config) as directory:
                directory.publish(card)
        except A2AKafkaError as exc:  # discovery is a convenience: serving goes on
            logger.warning("could not publish the card of %s on %s: %s", card.name, topic, exc)
        # published: AgentDirectory.publish logs it

    def wait_until_assigned(self, timeout: float) -> bool:
        """Block until the group gave this server partitions to serve; False after ``timeout`` s.

        Not needed for correctness (requests sent earlier wait on the topic), but
        tests and demos use it to know the server is really serving.
        """
        return self._assigned.wait(timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Stop taking requests, let in-flight ones finish, commit, and close. Idempotent.

        Waits up to ``timeout`` seconds (default: the ``drain_timeout`` setting) for
        in-flight requests; a handler still running after that keeps its worker
        thread until it returns, and its replies may be lost (its request is not
        committed, so another server instance answers it again).
        """
        with self._lock:
            if self._state is not _State.RUNNING:
                self._state = _State.STOPPED
                return
            self._state = _State.STOPPED
        drain = self.config.drain_timeout if timeout is None else timeout
        self._drain_timeout = drain
        self._stopping.set()
        stopping_hook = getattr(self.handler, "stopping", None)
        if callable(stopping_hook):
            stopping_hook()
        assert self._thread and self._executor and self._producer
        if self._thread is not threading.current_thread():
            self._thread.join(drain + 5.0)
            if self._thread.is_alive():
                logger.warning("the request consumer did not stop in time")
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._dispatcher.close()
        if self._committer is not None:
            self._committer.close(timeout=1.0)
        close_handler = getattr(self.handler, "close", None)
        if callable(close_handler):
            try:
                close_handler()
            except Exception:
                logger.exception("closing the handler failed")
        close_producer(self._producer, max(1.0, min(drain, 5.0)))
        logger.info("stopped serving %s", self.config.request_topic)

    def run(self) -> None:
        """Serve in the foreground until SIGINT or SIGTERM (or :meth:`stop` from another thread)."""
        self.start()
        stop_requested = threading.Event()
        previous: dict[signal.Signals, Any] = {}

        def request_stop(signum: int, frame: FrameType | None) -> None:
            logger.info("received %s: stopping", signal.Signals(signum).name)
            stop_requested.set()

        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, request_stop)
        try:
            while not stop_requested.wait(0.5):
                if self._thread is None or not self._thread.is_alive():
                    break
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.stop()

    def push(self, reply_topic: str, event: Any, *, partition: int | None = None) -> Any:
        """Send an unsolicited push record (a Message, Task or update event) to a client.

        ``reply_topic`` is the client's (``context.reply_topic`` in a handler). Returns
        kafka-python's future of the record; raises KafkaOperationError when it
        cannot be produced.
        """
        from .push import send_push

        if self._producer is None or self._state is not _State.RUNNING:
            raise A2AKafkaError("the server is not running")
        return send_push(self._producer, reply_topic, event, partition=partition)

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._state is _State.RUNNING

    @property
    def in_flight(self) -> int:
        """Requests taken from Kafka and not yet finished."""
        return self._tracker.in_flight

    def __enter__(self) -> KafkaServerApp:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"<KafkaServerApp {self._state.value} request_topic={self.config.request_topic!r}"
            f" group={self.config.group_id!r}>"
        )

    # -- the consumer thread --------------------------------------------------------------------

    def _consume(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        try:
            while not self._stopping.is_set():
                try:
                    self._poll_once(consumer)
                except Exception:  # one bad round must not end serving
                    logger.exception("the request consumer loop failed; retrying")
                    self._stopping.wait(0.5)
            self._drain(consumer)
        except Exception:
            logger.exception("draining the request consumer failed")
        finally:
            try:
                consumer.close(autocommit=False, timeout_ms=2000)
            except Exception:
                logger.warning("closing the request consumer failed", exc_info=True)

    def _poll_once(self, consumer: KafkaConsumer) -> None:
        if self._producer_broken:
            self._replace_producer()
        for partition, offset in self._tracker.rewinds():
            try:
                consumer.seek(partition, offset)
                logger.info(
                    "reading %s from %d again: a reply was not delivered", partition, offset
                )
            except (KeyError, AssertionError, kafka.errors.IllegalStateError):
                pass  # no longer ours: its new owner reads it from the committed offset
        limit = self.config.max_in_flight
        free = limit - self._tracker.in_flight
        if free <= 0 and self._tracker.wait_for_room(limit, FULL_WAIT):
            free = limit - self._tracker.in_flight
        # Still full: pause, and poll without waiting only to stay in the group.
        self._pause(consumer, paused=free <= 0)
        try:
            # Exactly once commits between polls: poll briefly so replies are not held back.
            wait_ms = EXACTLY_ONCE_POLL_MS if self._committer is not None else POLL_TIMEOUT_MS
            if free <= 0:
                wait_ms = 0
            batches = consumer.poll(timeout_ms=wait_ms, max_records=max(1, free))
        except Exception:
            logger.warning("polling the request topic failed; retrying", exc_info=True)
            self._stopping.wait(0.5)
            return
        for partition, records in batches.items():
            for record in records:
                ticket = self._tracker.taken(partition, record.offset)
                assert self._executor is not None
                self._executor.submit(self._work, partition, record, ticket)
        self._commit()
        if self.metrics.enabled and time.monotonic() - self._lag_at >= LAG_INTERVAL:
            self._refresh_lag(consumer)

    def _refresh_lag(self, consumer: KafkaConsumer) -> None:
        """Read the consumer lag of every assigned partition into the metrics (consumer thread).

        The end offset is the larger of the broker's answer and the highwater the
        last fetch reported: the highwater alone goes stale while a partition is
        paused (a full server, when the lag matters most), and some brokers (Tansu)
        answer an end offset that ignores all but the first record of the last
        batch. The position is the consumer's own. A failure keeps the last lag
        and is logged at DEBUG.
        """
        self._lag_at = time.monotonic()
        partitions = list(consumer.assignment())
        lag: dict[tuple[str, int], int] = {}
        if partitions:
            try:
                ends = consumer.end_offsets(partitions, timeout_ms=LAG_TIMEOUT_MS)
                for partition, end in ends.items():
                    end = max(end or 0, consumer.highwater(partition) or 0)
                    position = consumer.position(partition, timeout_ms=0)
                    if position is not None:
                        lag[(partition.topic, partition.partition)] = max(0, end - position)
            except Exception as exc:  # rebalancing, or the broker is away: next time
                logger.debug("could not read the consumer lag: %s", exc)
                return
        self.metrics.set_lag(lag)

    @staticmethod
    def _pause(consumer: KafkaConsumer, *, paused: bool) -> None:
        """Pause every assigned partition, or resume the paused ones.

        A rebalance (on kafka-python's I/O thread) may take a partition away
        between reading the assignment and pausing it; that partition is
        skipped, the others are still paused or resumed.
        """
        partitions = consumer.assignment() if paused else consumer.paused()
        for partition in partitions:
            try:
                if paused:
                    consumer.pause(partition)
                else:
                    consumer.resume(partition)
            except (KeyError, kafka.errors.IllegalStateError):
                pass  # no longer assigned to this consumer

    def _drain(self, consumer: KafkaConsumer) -> None:
        self._pause(consumer, paused=True)
        deadline = time.monotonic() + self._drain_timeout
        while self._tracker.in_flight and time.monotonic() < deadline:
            consumer.poll(timeout_ms=50)  # keeps the group membership alive while workers finish
            self._commit()
        if self._tracker.in_flight:
            logger.warning(
                "%d request(s) still in flight at stop; they stay uncommitted",
                self._tracker.in_flight,
            )
        self._commit(sync=True)

    def _commit(self, *, sync: bool = False, only: set[TopicPartition] | None = None) -> None:
        """Commit the offsets whose requests are finished.

        ``sync`` blocks until the broker confirms (consumer thread only, never the
        I/O thread); ``only`` limits the commit to those partitions, changed or not.
        A routine commit (neither) happens at most every ``commit_interval`` seconds.
        In exactly-once mode the commit is a transaction (consumer thread only).
        """
        consumer = self._consumer
        assert consumer is not None
        if self._committer is not None:
            if only is None:
                self._commit_transaction(consumer)
            return
        if not sync and only is None:
            now = time.monotonic()
            if now - self._last_commit < self.config.commit_interval:
                return
            self._last_commit = now
        points = self._tracker.to_commit(changed_only=not sync, only=only)
        if not points:
            return
        offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in points.items()}
        try:
            if sync:
                consumer.commit(offsets, timeout_ms=5000)
            else:
                consumer.commit_async(offsets, callback=_log_commit_failure)
        except Exception:
            logger.warning("committing offsets %s failed", points, exc_info=True)

    # -- the worker threads ---------------------------------------------------------------------

    def _replace_producer(self) -> None:
        """After a reply failed to send: a new producer, and the topics back if they vanished.

        A broker that restarted may have lost its topics and every producer's
        state (the embedded broker keeps nothing): the old producer then fails
        forever. Runs on the consumer thread; on failure it is tried again on the
        next round.
        """
        config = self.config
        logger.warning("a reply failed to send: reconnecting the server's producer")
        try:
            producer = build_producer(config, **_producer_overrides(config))
        except A2AKafkaError as exc:
            logger.warning("reconnecting failed, will retry: %s", exc)
            self._stopping.wait(1.0)
            return
        if config.create_topics:
            try:
                ensure_topics(config, self._topics())
            except A2AKafkaError as exc:
                logger.warning("recreating topics failed: %s", exc)
        old, self._producer = self._producer, producer
        self._dispatcher.use_producer(producer)
        self._producer_broken = False
        if old is not None:
            close_producer(old, 0.5)

    def _topics(self) -> dict[str, tuple[int, dict[str, str]]]:
        config = self.config
        topics: dict[str, tuple[int, dict[str, str]]] = {
            config.request_topic: (config.request_topic_partitions, {})
        }
        if config.dead_letter_topic_name:
            topics[config.dead_letter_topic_name] = (1, {})
        return topics

    def _commit_transaction(self, consumer: KafkaConsumer) -> None:
        """Exactly once: one transaction for the finished requests; read again if it fails."""
        assert self._committer is not None
        points = self._tracker.to_commit(changed_only=False)
        if self._committer.commit(consumer, points):
            return
        for partition in points:
            try:
                committed = consumer.committed(partition)
                if committed is None:
                    consumer.seek_to_beginning(partition)
                else:
                    consumer.seek(partition, committed)
            except Exception as exc:  # no longer ours, or the broker is away: next round
                logger.warning("could not rewind %s after a failed transaction: %s", partition, exc)

    def _work(self, partition: TopicPartition, record: Any, ticket: int) -> None:
        if self._committer is not None:
            committer = self._committer

            def hand_over(sent: Any) -> None:
                if self._tracker.is_current(partition, ticket):
                    committer.finished(partition, record.offset, sent.outbox)
                self._tracker.finished(partition, record.offset, ticket)

            self._dispatcher.process(record, hand_over)
            return

        def done(failed: bool) -> None:
            if failed:  # not committed: read again once the producer is replaced
                self._producer_broken = True
                if self._tracker.rewind(partition, record.offset, ticket) <= MAX_REDELIVERIES:
                    return
                logger.warning(
                    "the replies to the request at %s[%d]@%d failed %d times: giving up on it",
                    record.topic,
                    record.partition,
                    record.offset,
                    MAX_REDELIVERIES + 1,
                )
            self._tracker.finished(partition, record.offset, ticket)

        metrics = self.metrics
        self._dispatcher.process(
            record, lambda futures: _when_settled(futures, done, record, metrics)
        )


def _producer_overrides(config: ServerConfig) -> dict[str, Any]:
    """The server producer's own defaults: a send waits for topic metadata 5 s, not 60 s.

    A reply to a topic that does not exist (and that the broker does not create)
    would otherwise hold a worker for a minute.
    """
    return {} if "max_block_ms" in config.kafka else {"max_block_ms": 5000}


def _when_settled(
    futures: list[Any], done: Callable[[bool], None], record: Any, metrics: ServerMetrics
) -> None:
    """Call ``done(failed)`` once every reply future has succeeded or failed (at once when none).

    ``failed`` is True when a reply was not delivered after the producer's own
    retries; each such reply is logged once, and counted in ``metrics``.
    """
    if not futures:
        done(False)
        return
    remaining = [len(futures)]
    failures = [0]
    lock = threading.Lock()

    def settle(result: Any) -> None:
        if isinstance(result, BaseException):
            metrics.reply_failed()
            logger.warning(
                "a reply to the request at %s[%d]@%d was not delivered: %s",
                record.topic,
                record.partition,
                record.offset,
                result,
            )
        with lock:
            failures[0] += isinstance(result, BaseException)
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            done(failures[0] > 0)

    for future in futures:
        future.add_both(settle)


def _log_commit_failure(offsets: Any, response: Any) -> None:
    if isinstance(response, BaseException):
        logger.warning("committing offsets failed: %s", response)


def _guard(config: ServerConfig, handler: Any, authenticator: Authenticator | None) -> RequestGuard:
    """The request guard of an app; refuses a task store that cannot keep task owners when
    requests are authenticated (tasks would be everybody's)."""
    store = getattr(handler, "task_store", None)
    if authenticator is not None and isinstance(store, TaskStore) and not store.records_owners:
        raise ConfigurationError(
            f"{type(store).__name__} does not record task owners (set_owner), so it cannot "
            "keep the tasks of authenticated callers apart; use one that does"
        )
    store_topic = getattr(getattr(store, "config", None), "topic", None)
    own = [store_topic] if isinstance(store_topic, str) else []
    return RequestGuard(config, authenticator, own)
