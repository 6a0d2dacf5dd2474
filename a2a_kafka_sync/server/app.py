"""``KafkaServerApp``: serves an agent from a request topic with a pool of worker threads."""

from __future__ import annotations

import contextlib
import enum
import inspect
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from .._kafka import build_consumer, build_producer, close_producer, ensure_topics
from ..auth import Authenticator
from ..config import ServerConfig, config_from
from ..errors import A2AKafkaError, ConfigurationError
from ..metrics import ServerMetrics
from ..types import AgentCard
from .card import CardPublisher
from .consumer import RequestConsumer
from .default_handler import DefaultRequestHandler, default_card
from .dispatcher import Dispatcher
from .guard import RequestGuard
from .handlers import check_handler, is_handler_object
from .membership import consumer_overrides
from .offsets import OffsetTracker
from .producer import (
    ServerProducer,
    producer_overrides,
    reconnect,
    server_access,
    server_topics,
)
from .scheduler import RequestScheduler
from .settle import Settler
from .tasks import TaskStore
from .tasks.event_log import TaskEventLog
from .tasks.kafka_event_log import event_log_for
from .transactions import TransactionalCommitter
from .workers import WorkerThreads

__all__ = ["KafkaServerApp"]

logger = logging.getLogger(__name__)

STOP_GRACE = 10.0
"""Seconds :meth:`KafkaServerApp.stop` may take beyond its drain timeout: the last commit,
closing the handler's parts (push delivery, task-event log, task store) and the producer.
With the brokers down each of them gives up within what is left of it."""


_Parts = tuple[
    ServerProducer, TransactionalCommitter | None, WorkerThreads, Dispatcher, RequestScheduler
]
"""What a started app runs on: its producer, committer, workers, dispatcher and scheduler."""


def _on_failure(
    undo: contextlib.ExitStack, what: str, close: Callable[..., Any], *args: Any, **kwargs: Any
) -> None:
    """Have ``undo`` call ``close(*args, **kwargs)`` if start() fails; a failure of the close
    itself is logged, so the error that failed start() is the one raised."""

    def run() -> None:
        try:
            close(*args, **kwargs)
        except Exception:
            logger.warning("closing %s after a failed start failed", what, exc_info=True)

    undo.callback(run)


class _State(enum.Enum):
    UNSTARTED = "unstarted"
    RUNNING = "running"
    STOPPED = "stopped"


def _check_arguments(
    handler: Any, agent_card: Any, extended_agent_card: Any, task_store: Any
) -> None:
    """Raise TypeError, saying what to write instead, for an argument of the wrong kind."""
    if isinstance(handler, (str, list)):
        raise TypeError(
            "KafkaServerApp's first argument is the handler (a function or a handler object), "
            f"not {type(handler).__name__} {handler!r}. Write KafkaServerApp(handler, "
            "bootstrap_servers=..., request_topic=...)"
        )
    check_handler(handler)
    for name, card in (("agent_card", agent_card), ("extended_agent_card", extended_agent_card)):
        if card is not None and not isinstance(card, AgentCard):
            raise TypeError(f"{name} must be an AgentCard, not {type(card).__name__}")
    if task_store is not None:
        if isinstance(task_store, type):
            raise TypeError(
                f"task_store is the class {task_store.__name__}, not an instance of it: "
                f"pass {task_store.__name__}(...)"
            )
        if not all(callable(getattr(task_store, m, None)) for m in ("save", "get", "delete")):
            raise TypeError(
                "task_store must be a TaskStore (InMemoryTaskStore(), SQLiteTaskStore(path), "
                f"KafkaTaskStore(...)), not {type(task_store).__name__}"
            )


class KafkaServerApp:
    """Serves an A2A agent: reads its request topic, runs handlers on a thread pool, replies.

    One consumer thread (``a2a-kafka-request-consumer``) reads the request topic in
    a consumer group, so several processes share the load, and hands each record
    to a worker thread (daemon threads, :class:`~a2a_kafka_sync.server.workers.WorkerThreads`:
    a handler that never returns does not hold up interpreter exit); a worker decodes it,
    calls the handler and produces the replies to the caller's reply topic. A request's offset is
    committed only once every reply it produced is settled (acknowledged by the broker,
    or failed after the producer's retries). When
    ``max_in_flight`` requests are unfinished, the consumer pauses instead of
    buffering more.

    Args:
        handler: a plain function ``fn(message, context)`` returning a Message, Task or
            str; a generator function (a stream); or a handler object with
            ``on_message_send`` / ``on_message_send_stream`` / ``on_get_task`` ...
            Checked here, not at the first request: an ``async def`` function or method,
            a class instead of an instance, a function that takes no argument or more
            than two, or anything not callable raises TypeError
            (:func:`~a2a_kafka_sync.server.handlers.check_handler`).
        bootstrap_servers: Kafka brokers, a list or a comma-separated string.
        request_topic: the topic this agent serves.
        consumer_group_id: the group the server processes share.
        agent_card: this agent's card (default: one named after the request topic,
            with streaming and push notifications).
        task_store: where a function handler's tasks live (default in memory); see
            :class:`~a2a_kafka_sync.server.DefaultRequestHandler`.
        extended_agent_card: the card ``agent_card_get`` answers with (-32007 when None),
            with the agent's Kafka interface added as to the published card; with an
            authenticator, only to authenticated callers (an anonymous one gets -32040).
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
        _check_arguments(handler, agent_card, extended_agent_card, task_store)
        explicit = {
            "bootstrap_servers": bootstrap_servers,
            "request_topic": request_topic,
            "consumer_group_id": consumer_group_id,
        }
        self.config: ServerConfig = config_from(ServerConfig, config, explicit, settings)
        self.agent_card = agent_card or default_card(self.config.request_topic)
        if is_handler_object(handler):
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
        if authenticator is None and extended_agent_card is not None:
            logger.warning(
                "an extended agent card is given, but the app has no authenticator: every "
                "caller gets it (A2A asks that the extended card require authentication)"
            )
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
        self._lock = threading.Lock()
        self._state = _State.UNSTARTED
        self._stopping = threading.Event()
        self._assigned = threading.Event()
        self._producer_broken = False
        self._committer: TransactionalCommitter | None = None
        self._requests = RequestConsumer(
            self.config, tracker, self.metrics, self._stopping, self._assigned
        )
        self._producers: ServerProducer | None = None
        self._executor: WorkerThreads | None = None
        self._dispatcher: Dispatcher | None = None
        self._scheduler: RequestScheduler | None = None
        self._card: CardPublisher | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> KafkaServerApp:
        """Connect and serve in the background (for notebooks, tests, embedding). Idempotent.

        When it raises, what it built is closed again and the threads it started have
        ended: a failure before the app serves (the brokers, their ACLs, the handler's
        own ``start``) leaves it unstarted, to be started again; one after (publishing
        the card) stops it as :meth:`stop` does.
        """
        with self._lock:
            if self._state is _State.RUNNING:
                return self
            if self._state is _State.STOPPED:
                raise A2AKafkaError("a stopped KafkaServerApp cannot be started again")
            with contextlib.ExitStack() as undo:  # closes what was built if a step raises
                parts = self._build(undo)
                undo.pop_all()
            (
                self._producers,
                self._committer,
                self._executor,
                self._dispatcher,
                self._scheduler,
            ) = parts
            self._state = _State.RUNNING
        config = self.config
        if config.card_topic:
            self._card = CardPublisher(config, self.agent_card, config.card_topic)
            try:
                self._card.start()
            except BaseException:  # e.g. a card_signer that raises: the app serves already
                self.stop()
                raise
        logger.info("serving %s as group %s", config.request_topic, config.group_id)
        return self

    def _build(self, undo: contextlib.ExitStack) -> _Parts:
        """Build the producer, the consumer, the handler's parts, the workers and the
        dispatcher, and start the consumer thread; each one's undoing goes on ``undo``."""
        config = self.config
        producer = build_producer(config, **producer_overrides(config))
        _on_failure(undo, "the producer", close_producer, producer, 1.0)
        topics = server_topics(config) if config.create_topics else {}
        ensure_topics(config, topics, access=server_access(config))
        consumer = build_consumer(config, **consumer_overrides(config))
        _on_failure(undo, "the consumer", consumer.close, autocommit=False, timeout_ms=1000)
        self._requests.subscribe(consumer)
        committer = None
        if config.exactly_once:
            # Topics refused as too large: the dispatcher (made below, before any commit)
            # asks their limits again.
            committer = TransactionalCommitter(
                config, lambda topic: dispatcher.limits.refused(topic)
            )
            _on_failure(undo, "the transactional producer", committer.close, timeout=1.0)
        producers = ServerProducer(producer)
        self._start_handler(producers)
        _on_failure(undo, "the handler", self._close_handler, STOP_GRACE)
        # With a handler_timeout, abandoned handlers may hold threads: keep spares so
        # max_workers handlers can still run (the watchdog bounds how many do). With every
        # spare held, new requests are refused at once (-32603) rather than queued behind
        # threads that may never come back.
        spares = config.max_workers if config.handler_timeout else 0
        threads = config.max_workers + spares
        executor = WorkerThreads(threads, thread_name_prefix="a2a-kafka-worker")
        _on_failure(undo, "the workers", executor.shutdown, wait=False, cancel_futures=True)
        required = frozenset(
            extension.uri
            for extension in self.agent_card.capabilities.extensions or []
            if extension.required
        )
        dispatcher = Dispatcher(
            self.handler, producers, config, self.metrics, self._guard, required
        )
        _on_failure(undo, "the dispatcher", dispatcher.close)
        settler = Settler(dispatcher, self._tracker, committer, self.metrics, self._producer_failed)
        scheduler = RequestScheduler(
            executor,
            threads,
            settler.work,
            (lambda: dispatcher.overloaded(spares)) if spares else (lambda: None),
        )
        dispatcher.on_abandoned = scheduler.refuse_waiting
        self._requests.on_moved = dispatcher.requests_moved
        self._requests.start(scheduler.submit, self._before_poll, committer)
        return producers, committer, executor, dispatcher, scheduler

    def _start_handler(self, producers: ServerProducer) -> None:
        """Start the handler (a handler object's ``start(producer)``, if it has one)."""
        config = self.config
        start_handler = getattr(self.handler, "start", None)
        if isinstance(self.handler, DefaultRequestHandler):
            self.handler.resubscribe_idle_timeout = config.resubscribe_idle_timeout
            self.handler.start(
                producers,
                allow_insecure_webhooks=config.allow_insecure_webhooks,
                settings=config,
                metrics=self.metrics,
            )
        elif callable(start_handler):
            start_handler(producers)

    def _close_handler(self, timeout: float) -> None:
        """Close the handler (its ``close``, given ``timeout`` when it takes one); a failure
        is logged."""
        close_handler = getattr(self.handler, "close", None)
        if not callable(close_handler):
            return
        try:
            if "timeout" in inspect.signature(close_handler).parameters:
                close_handler(timeout=timeout)
            else:
                close_handler()
        except Exception:
            logger.exception("closing the handler failed")

    def wait_until_assigned(self, timeout: float) -> bool:
        """Block until the group gave this server partitions to serve; False after ``timeout`` s.

        Not needed for correctness (requests sent earlier wait on the topic), but
        tests and demos use it to know the server is really serving. Raises
        KafkaAuthorizationError when the broker's ACLs refused the consumer group or the
        request topic (the server then stopped serving).
        """
        assigned = self._assigned.wait(timeout)
        if self._requests.failure is not None:
            raise self._requests.failure
        return assigned

    def stop(self, timeout: float | None = None) -> None:
        """Stop taking requests, let in-flight ones finish, commit, and close. Idempotent.

        Waits up to ``timeout`` seconds (default: the ``drain_timeout`` setting) for
        in-flight requests; a handler still running after that keeps its worker
        thread until it returns, and its replies may be lost (its request is not
        committed, so another server instance answers it again). Returns within
        ``timeout`` + :data:`STOP_GRACE` seconds, the brokers down included; every
        thread the app started has ended by then, but for such a handler's worker.
        """
        with self._lock:
            if self._state is not _State.RUNNING:
                self._state = _State.STOPPED
                return
            self._state = _State.STOPPED
        drain = self.config.drain_timeout if timeout is None else timeout
        deadline = time.monotonic() + drain + STOP_GRACE

        def left(cap: float) -> float:  # what a step may wait: its own cap, within the deadline
            return max(0.1, min(cap, deadline - time.monotonic()))

        self._requests.drain_timeout = drain
        self._stopping.set()
        stopping_hook = getattr(self.handler, "stopping", None)
        if callable(stopping_hook):
            stopping_hook()
        assert self._executor and self._producers and self._dispatcher
        self._requests.join(left(drain + 5.0))
        if self._scheduler is not None:
            self._scheduler.close()
        if self._card is not None:  # the group left: the card goes unless others still serve
            self._card.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._dispatcher.close()
        if self._committer is not None:
            self._committer.close(timeout=left(1.0))
        self._close_handler(left(STOP_GRACE))
        close_producer(self._producers.current, left(max(1.0, min(drain, 5.0))))
        logger.info("stopped serving %s", self.config.request_topic)

    def run(self) -> None:
        """Serve in the foreground until SIGINT or SIGTERM (or :meth:`stop` from another thread).

        Raises A2AKafkaError when the request consumer's thread ended without being
        asked to (after stopping the app), so a supervisor sees a failure, not a clean exit:
        KafkaAuthorizationError when the broker's ACLs refused the group or the topic.
        """
        died = False
        stop_requested = threading.Event()
        previous: dict[signal.Signals, Any] = {}

        def request_stop(signum: int, frame: FrameType | None) -> None:
            logger.info("received %s: stopping", signal.Signals(signum).name)
            stop_requested.set()

        # The handlers go in before start(): a signal while it still publishes the card
        # (the server already serves by then) stops the server once start() returns.
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, request_stop)
        try:
            self.start()
            while not stop_requested.wait(0.5):
                if self._thread is None or not self._thread.is_alive():
                    died = self._state is _State.RUNNING  # not ended by stop()
                    break
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.stop()
        if died and self._requests.failure is not None:
            raise self._requests.failure
        if died:
            raise A2AKafkaError(
                "the request consumer thread ended unexpectedly; the server stopped "
                "(see the log above)",
                topic=self.config.request_topic,
            )

    def push(self, reply_topic: str, event: Any, *, partition: int | None = None) -> Any:
        """Send an unsolicited push record (a Message, Task or update event) to a client.

        ``reply_topic`` is the client's (``context.reply_topic`` in a handler). Returns
        kafka-python's future of the record; raises KafkaOperationError when it
        cannot be produced.
        """
        from .push import send_push

        if self._producers is None or self._state is not _State.RUNNING:
            raise A2AKafkaError("the server is not running")
        return send_push(self._producers.current, reply_topic, event, partition=partition)

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._state is _State.RUNNING

    @property
    def in_flight(self) -> int:
        """Requests taken from Kafka and not yet finished."""
        return self._tracker.in_flight

    @property
    def _thread(self) -> threading.Thread | None:
        """The request consumer's thread (``a2a-kafka-request-consumer``; None before start())."""
        return self._requests.thread

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

    # -- the producer ---------------------------------------------------------------------------

    def _producer_failed(self) -> None:
        """A reply was not delivered: the consumer thread replaces the producer before its
        next poll."""
        self._producer_broken = True

    def _before_poll(self) -> None:
        """On the consumer thread, before each poll: after a reply failed to send, replace the
        producer (:func:`~a2a_kafka_sync.server.producer.reconnect`) in the app's
        :class:`~a2a_kafka_sync.server.producer.ServerProducer`, which every writer asks."""
        if not self._producer_broken:
            return
        producer = reconnect(self.config, self._stopping)
        if producer is None:
            return
        assert self._producers is not None
        old = self._producers.replace(producer)  # every writer asks it at its next send
        self._producer_broken = False
        close_producer(old, 0.5)


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
