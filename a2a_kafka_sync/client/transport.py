"""``KafkaClientTransport``: blocking A2A calls over Kafka, safe to share between threads."""

from __future__ import annotations

import atexit
import enum
import functools
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any

from kafka import KafkaProducer, TopicPartition

from .. import tracing
from .._kafka import (
    build_consumer,
    build_producer,
    close_producer,
    ensure_topics,
    record_size,
    translate_kafka_errors,
)
from ..config import LOW_LATENCY, ClientConfig, config_from
from ..errors import (
    A2AError,
    A2AKafkaError,
    ClientClosedError,
    KafkaOperationError,
    PendingLimitError,
    ProtocolError,
    RequestTimeoutError,
    RequestTooLargeError,
)
from ..interfaces import protocol_version_for
from ..metrics import ClientMetrics
from ..types import AgentCard, Message, MessageSendParams, Task, TaskIdParams
from ..types._base import A2ABaseModel, new_id
from ..types.sdk import from_a2a_sdk
from ..wire import Reply, RequestHeaders, encode_request
from .correlation import CorrelationManager, StreamWaiter, Waiter
from .credentials import CallCredentials, credentials_for
from .pending import PendingCall
from .push import PushDispatcher
from .reader import GAP_GRACE, ReplyReader
from .resume import DEFAULT_RESUME_ATTEMPTS, Resumer
from .sdk_view import A2ASdkClient
from .stream import ReplyStream
from .tasks import TaskCalls
from .timeouts import USE_CLIENT_DEFAULT, Timeout

__all__ = ["USE_CLIENT_DEFAULT", "KafkaClientTransport"]

logger = logging.getLogger(__name__)


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


def _reset_after_fork(ref: weakref.ReferenceType[KafkaClientTransport]) -> None:
    client = ref()
    if client is not None:
        client._after_fork()


def _close_at_exit(ref: weakref.ReferenceType[KafkaClientTransport]) -> None:
    client = ref()
    if client is not None:
        client.close(timeout=1.0)


def _pending_of(ref: weakref.ReferenceType[KafkaClientTransport]) -> int:
    client = ref()
    return client.pending if client is not None else 0


def _outcome(reply: Reply | None, error: BaseException | None) -> tuple[str, int | None, str]:
    """How a call ended: ``(outcome, A2A code or None, message)``."""
    if reply is not None:
        if reply.type != "error":
            return "ok", None, ""
        error = reply.data
    if isinstance(error, A2AError):
        return "error", error.code, error.message
    for kind, outcome in _OUTCOMES:
        if isinstance(error, kind):
            return outcome, None, str(error)
    return "other", None, repr(error)


_OUTCOMES: tuple[tuple[type[BaseException], str], ...] = (
    (RequestTimeoutError, "timeout"),
    (KafkaOperationError, "send_failed"),
    (ClientClosedError, "closed"),
    (ProtocolError, "protocol_error"),
    (PendingLimitError, "pending_limit"),
)


class _Observed:
    """One call's metrics and CLIENT span, told how the call ends (see ``CallObserver``)."""

    __slots__ = ("events", "method", "metrics", "span", "started", "stream")

    def __init__(self, metrics: ClientMetrics, method: str, stream: bool, span: Any) -> None:
        self.metrics = metrics
        self.method = method
        self.stream = stream
        self.span = span
        self.events = 0
        self.started = time.perf_counter()

    def event(self) -> None:
        self.events += 1
        self.metrics.stream_event(self.method)

    def done(self, reply: Reply | None, error: BaseException | None) -> None:
        seconds = time.perf_counter() - self.started
        if self.span is None and reply is not None and reply.type != "error":  # the usual case
            self.metrics.call_finished(self.method, self.stream, "ok", None, seconds)
            return
        outcome, code, message = _outcome(reply, error)
        label = None if outcome == "ok" else (outcome if code is None else str(code))
        self.metrics.call_finished(self.method, self.stream, outcome, label, seconds)
        if self.span is not None:
            try:
                events = self.events if self.stream else None
                tracing.end_client_span(self.span, outcome, code, message, events)
            except Exception:  # a tracing failure must not fail the call or the reader
                logger.warning("ending the span of a %s call failed", self.method, exc_info=True)


def _as_send_params(message: MessageSendParams | Message | str) -> MessageSendParams:
    message = from_a2a_sdk(message)  # a2a-sdk's Message / MessageSendParams are welcome too
    if isinstance(message, MessageSendParams):
        return message
    if isinstance(message, str):
        message = Message.user_text(message)
    if isinstance(message, Message):
        return MessageSendParams(message=message)
    raise TypeError(f"expected MessageSendParams, Message or str, not {type(message).__name__}")


class KafkaClientTransport(TaskCalls):
    """A blocking A2A client that talks to an agent through Kafka.

    Requests go to the agent's request topic; replies come back on this client's
    own reply topic, read by one background thread that hands each reply to the
    caller waiting for its correlation id. One client is meant to be shared by
    every thread of a process (a Flask app, a worker): calls from many threads
    run concurrently over one producer and one reader.

    The client opens on first use (or :meth:`open`, or ``with``): it connects,
    creates its reply topic when missing, and positions its reader at the end of
    the topic before any request leaves, so no reply can be missed. ``close()``
    fails calls still waiting with ClientClosedError and stops the thread.

    Args:
        agent_card: the card of the agent this client calls (returned by :meth:`get_card`).
        bootstrap_servers: Kafka brokers, a list or a comma-separated string.
        request_topic: the agent's request topic.
        reply_topic_prefix: prefix of the client's reply topic name.
        reply_topic: a fixed reply topic instead of a fresh one.
        consumer_group_id: accepted for compatibility with the seed; not used.
        config: a complete :class:`~a2a_kafka_sync.config.ClientConfig` instead of
            the arguments above and ``settings``.
        **settings: any other :class:`~a2a_kafka_sync.config.ClientConfig` field
            (``timeout``, ``profile``, ``connect_timeout``, ...); every other key is
            a kafka-python setting (``security_protocol``, ``ssl_cafile``, ...).
    """

    def __init__(
        self,
        agent_card: AgentCard | None = None,
        bootstrap_servers: str | list[str] | None = None,
        request_topic: str | None = None,
        reply_topic_prefix: str | None = None,
        reply_topic: str | None = None,
        consumer_group_id: str | None = None,
        *,
        config: ClientConfig | None = None,
        **settings: Any,
    ) -> None:
        explicit = {
            "bootstrap_servers": bootstrap_servers,
            "request_topic": request_topic,
            "reply_topic_prefix": reply_topic_prefix,
            "reply_topic": reply_topic,
            "consumer_group_id": consumer_group_id,
        }
        self.config: ClientConfig = config_from(ClientConfig, config, explicit, settings)
        self.agent_card = agent_card or AgentCard(name=self.config.request_topic)
        self.protocol_version: str = self.config.protocol_version or protocol_version_for(
            self.agent_card
        )
        """The A2A version of this client's requests: ``config.protocol_version``, else the
        version the agent card offers first
        (:func:`~a2a_kafka_sync.interfaces.protocol_version_for`)."""
        self._extensions = ",".join(self.config.extensions) or None
        self.reply_topic = self.config.reply_topic or (
            f"{self.config.reply_topic_prefix}-{uuid.uuid4().hex}"
        )
        self._atexit = functools.partial(_close_at_exit, weakref.ref(self))
        self.metrics = ClientMetrics(
            enabled=self.config.metrics, in_flight=functools.partial(_pending_of, weakref.ref(self))
        )
        """This client's counters and latencies (:class:`~a2a_kafka_sync.metrics.ClientMetrics`)."""
        self._fresh_state(_State.UNOPENED)
        os.register_at_fork(after_in_child=functools.partial(_reset_after_fork, weakref.ref(self)))

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
        ``connect_timeout``, and ClientClosedError after :meth:`close`.
        """
        with self._lock:
            if self._state is _State.OPENED:
                return self
            if self._state is _State.CLOSED:
                raise ClientClosedError("the client is closed")
            self._producer, self._reader = self._connect()
            self._state = _State.OPENED
            atexit.register(self._atexit)
        return self

    def _connect(self) -> tuple[KafkaProducer, ReplyReader]:
        config = self.config
        overrides: dict[str, Any] = {}
        if "max_block_ms" not in config.kafka:
            overrides["max_block_ms"] = 10_000
        producer = build_producer(config, **overrides)
        try:
            if config.create_topics:
                ensure_topics(
                    config,
                    {
                        self.reply_topic: (
                            config.reply_topic_partitions,
                            {"retention.ms": str(config.reply_topic_retention_ms)},
                        ),
                        config.request_topic: (config.request_topic_partitions, {}),
                    },
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
        """Assign every partition of the reply topic and resolve its end offset now."""
        with translate_kafka_errors("reading reply topic metadata", topic=self.reply_topic):
            partitions = consumer.partitions_for_topic(self.reply_topic)
        if not partitions:
            raise KafkaOperationError("the reply topic does not exist", topic=self.reply_topic)
        assigned = [TopicPartition(self.reply_topic, p) for p in sorted(partitions)]
        with translate_kafka_errors("positioning on the reply topic", topic=self.reply_topic):
            consumer.assign(assigned)
            consumer.seek_to_end(*assigned)
            for partition in assigned:
                consumer.position(partition)

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

    def __repr__(self) -> str:
        return (
            f"<KafkaClientTransport {self._state.value} request_topic={self.config.request_topic!r}"
            f" reply_topic={self.reply_topic!r}>"
        )

    def on_push(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(event)`` for each push record the agent sends this client.

        Push records are unsolicited Messages, Tasks or task update events sent to
        this client's reply topic (``notification_type: push``). Callbacks run in
        order on a thread of their own (``a2a-kafka-push-dispatcher``), never on the
        reply reader, so they may block or fail without delaying replies.
        """
        self._push.add(callback)
        self._registry.activity.set()  # an idle reader starts reading push records

    @property
    def a2a_sdk(self) -> A2ASdkClient:
        """This client's calls with a2a-sdk's (v0.3) types in and out (needs ``a2a-sdk``)."""
        return A2ASdkClient(self)

    @property
    def pending(self) -> int:
        """How many calls are waiting for a reply right now."""
        return len(self._registry)

    # -- the calls ----------------------------------------------------------------------------

    def send_message(
        self,
        message: MessageSendParams | Message | str,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> Message | Task:
        """Send a message and block until the agent answers with a Message or a Task.

        ``message`` is a MessageSendParams, or a Message or plain text to wrap in
        one. Raises RequestTimeoutError when no reply comes within ``timeout``
        seconds, the agent's A2AError when it answers with an error.
        ``credentials`` (every call takes it) overrides the client's ``credentials``
        setting for this call: a string, a provider function, or None for none.
        """
        params = _as_send_params(message)
        return self._message_or_task(self._call("message_send", params, timeout, credentials))

    def submit(
        self,
        message: MessageSendParams | Message | str,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> PendingCall:
        """Send a message without waiting; the returned :class:`PendingCall` gives the answer.

        One thread can keep many calls in flight this way (a fan-out, a batch)
        without a thread per call. ``timeout`` is the call's deadline, as in
        :meth:`send_message`; ``PendingCall.result()`` waits at most until it.
        """
        seconds = self._timeout(timeout)
        params = _as_send_params(message)
        waiter = self._send(
            "message_send", params, stream=False, timeout=seconds, credentials=credentials
        )
        assert isinstance(waiter, Waiter)
        return PendingCall(self, waiter, seconds)

    def send_text(
        self,
        text: str,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
        **message_fields: Any,
    ) -> str | Task:
        """Send ``text`` as a user message; return the reply's text, or the Task the agent started.

        ``message_fields`` go to the Message (``context_id``, ``task_id``, ``metadata``...).
        """
        message = Message.user_text(text, **message_fields)
        result = self.send_message(message, timeout=timeout, credentials=credentials)
        return result.text if isinstance(result, Message) else result

    def send_message_streaming(
        self,
        message: MessageSendParams | Message | str,
        *,
        timeout: Timeout = USE_CLIENT_DEFAULT,
        resume: bool | int = False,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> ReplyStream:
        """Send a message and return an iterator over the agent's events as they arrive.

        The request is sent before this returns. Iterate the result (in a ``with``
        block, or call ``close()`` when stopping early): it yields Message, Task,
        TaskStatusUpdateEvent and TaskArtifactUpdateEvent objects in order and ends
        with the stream. ``timeout`` bounds the wait for each next event.
        ``resume=True`` (or a number of attempts, default 3) resubscribes after the
        last sequence seen when the stream breaks (:mod:`a2a_kafka_sync.client.resume`),
        so every task event is still yielded once, in order.
        """
        params = _as_send_params(message)
        return self._stream("message_send", params, timeout, credentials, resume=resume)

    # -- one path for every method -------------------------------------------------------------

    def _timeout(self, timeout: Timeout) -> float | None:
        return self.config.timeout if timeout is USE_CLIENT_DEFAULT else timeout

    def _send(
        self,
        method: str,
        params: A2ABaseModel,
        *,
        stream: bool,
        timeout: float | None,
        after_sequence: int | None = None,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> Waiter | StreamWaiter:
        if self._state is not _State.OPENED:
            self.open()
        if self._broken or self._suspect:
            self._recover()
        assert self._producer is not None
        correlation_id = new_id()
        deadline_ms = None if stream or timeout is None else int((time.time() + timeout) * 1000)
        headers = RequestHeaders(
            correlation_id=correlation_id,
            reply_topic=self.reply_topic,
            agent_id=self.config.agent_id,
            deadline_ms=deadline_ms,
            a2a_extensions=self._extensions,
            after_sequence=after_sequence,
            authorization=credentials_for(credentials, self.config.credentials),
        )
        value, record_headers = encode_request(
            method, params, headers, streaming=stream, version=self.protocol_version
        )
        topic = self.config.request_topic
        self._check_size(value, record_headers, correlation_id)
        observer = None
        if self.config.tracing:
            trace_headers, span = tracing.client_headers(method, topic, correlation_id, stream)
            record_headers += trace_headers
            if span is not None or self.metrics.enabled:
                observer = _Observed(self.metrics, method, stream, span)
        elif self.metrics.enabled:
            observer = _Observed(self.metrics, method, stream, None)
        try:
            waiter = self._registry.register(correlation_id, stream=stream, observer=observer)
        except BaseException as exc:
            if observer is not None:
                observer.done(None, exc)
            raise
        try:
            with translate_kafka_errors(
                f"sending {method}", correlation_id=correlation_id, topic=topic
            ):
                future = self._producer.send(topic, value=value, headers=record_headers)
        except BaseException as exc:
            self._registry.abandon(correlation_id, exc)
            if self._state is _State.CLOSED:  # closed while this send waited (for metadata)
                raise ClientClosedError(
                    "the client was closed", correlation_id=correlation_id
                ) from exc
            if isinstance(exc, KafkaOperationError):
                self._broken = True
            raise
        future.add_errback(self._on_send_failed, correlation_id, method)
        self.metrics.request_sent(method)
        return waiter

    def _check_size(
        self, value: bytes, headers: list[tuple[str, bytes]], correlation_id: str
    ) -> None:
        """Refuse, before anything is sent, a request the producer would refuse as too large."""
        assert self._producer is not None
        limit: int = self._producer.config["max_request_size"]
        size = record_size(None, value, headers)
        if size > limit:
            raise RequestTooLargeError(
                f"the request is {size} bytes, more than the producer's max_request_size "
                f"({limit}); it was not sent",
                correlation_id=correlation_id,
                topic=self.config.request_topic,
            )

    def _on_send_failed(self, correlation_id: str, method: str, exc: BaseException) -> None:
        error = KafkaOperationError(
            f"sending {method} failed: {type(exc).__name__}: {exc}",
            correlation_id=correlation_id,
            topic=self.config.request_topic,
        )
        error.__cause__ = exc
        self._broken = True  # the next call reconnects before it sends
        self._registry.fail(correlation_id, error)

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

    def _call(
        self,
        method: str,
        params: A2ABaseModel,
        timeout: Timeout,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
    ) -> Reply:
        seconds = self._timeout(timeout)
        waiter = self._send(method, params, stream=False, timeout=seconds, credentials=credentials)
        assert isinstance(waiter, Waiter)
        return self._await(waiter, seconds)

    def _await(self, waiter: Waiter, seconds: float | None) -> Reply:
        """The reply a waiter gets within ``seconds``; raises the error it carries."""
        try:
            reply: Reply = waiter.wait(seconds)
        except BaseException as exc:
            self._registry.abandon(waiter.correlation_id, exc)  # a timeout ends the call here
            if isinstance(exc, RequestTimeoutError):
                self._suspect = True
            if getattr(exc, "topic", "") is None:
                exc.topic = self.config.request_topic  # type: ignore[attr-defined]
            raise
        if reply.type == "error":
            raise reply.data
        return reply

    @staticmethod
    def _message_or_task(reply: Reply) -> Message | Task:
        if isinstance(reply.data, (Message, Task)):
            return reply.data
        raise ProtocolError(f"message_send answered with a {reply.type!r} reply")

    def _stream(
        self,
        method: str,
        params: A2ABaseModel,
        timeout: Timeout,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
        *,
        after_sequence: int | None = None,
        resume: bool | int = False,
    ) -> ReplyStream:
        seconds = self._timeout(timeout)
        waiter = self._send(
            method,
            params,
            stream=True,
            timeout=seconds,
            after_sequence=after_sequence,
            credentials=credentials,
        )
        assert isinstance(waiter, StreamWaiter)
        resumer = None
        if resume:
            attempts = DEFAULT_RESUME_ATTEMPTS if resume is True else int(resume)

            def reopen(task_id: str, after: int) -> ReplyStream:
                params = TaskIdParams(id=task_id)
                return self._stream(
                    "task_resubscribe", params, timeout, credentials, after_sequence=after
                )

            resumer = Resumer(reopen, attempts)
        return ReplyStream(self._registry, waiter, seconds, resumer)
