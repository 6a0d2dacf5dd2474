"""``CallPath``: the one path every call of the client takes (``_send``, ``_call``, ``_stream``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import tracing
from .._kafka import (
    UNCHECKED_RECORD_BYTES,
    SizeLimit,
    library_error,
    record_size,
    size_limits,
    too_large,
    translate_kafka_errors,
)
from ..errors import (
    A2AKafkaError,
    BrokerUnavailableError,
    ClientClosedError,
    KafkaOperationError,
    RequestTimeoutError,
    RequestTooLargeError,
)
from ..types import TaskIdParams
from ..types._base import A2ABaseModel, new_id
from ..wire import Reply, RequestHeaders, encode_request
from .connection import ConnectionLifecycle, _State
from .correlation import StreamWaiter, Waiter
from .credentials import CallCredentials, credentials_for
from .observed import _Observed
from .resume import DEFAULT_RESUME_ATTEMPTS, Resumer
from .stream import ReplyStream
from .timeouts import USE_CLIENT_DEFAULT, Timeout

__all__ = ["CallPath"]

logger = logging.getLogger(__name__)


class CallPath(ConnectionLifecycle):
    """How every call of :class:`~a2a_kafka_sync.client.KafkaClientTransport` is sent and awaited.

    One request per call: its headers (version, credentials, extensions, trace
    context), the size check, its waiter registered with its ``_Observed`` before
    the record leaves, then the wait (``_call``) or the stream (``_stream``).
    """

    if TYPE_CHECKING:  # set by the transport's constructor
        protocol_version: str
        _extensions: str | None

    # -- one path for every method -------------------------------------------------------------

    def _timeout(self, timeout: Timeout) -> float | None:
        return self.config.timeout if timeout is USE_CLIENT_DEFAULT else timeout

    @staticmethod
    def _deadline(seconds: float | None) -> float | None:
        """The time.monotonic() by which a call of ``seconds`` ends (None: no limit)."""
        return None if seconds is None else time.monotonic() + seconds

    def _send(
        self,
        method: str,
        params: A2ABaseModel | Mapping[str, Any],
        *,
        stream: bool,
        timeout: float | None,
        deadline: float | None,
        after_sequence: int | None = None,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
        version: str | None = None,
        extensions: str | None = None,
    ) -> Waiter | StreamWaiter:
        """Send one request (``params`` a model, or a raw call's A2A JSON) in ``version``
        (default: the client's ``protocol_version``) with the ``a2a_extensions`` header
        ``extensions`` (default: the client's); returns its registered waiter."""
        self._ready(deadline, timeout)  # connecting counts against the call's deadline
        assert self._producer is not None
        correlation_id = new_id()
        deadline_ms = None if stream or timeout is None else int((time.time() + timeout) * 1000)
        headers = RequestHeaders(
            correlation_id=correlation_id,
            reply_topic=self.reply_topic,
            agent_id=self.config.agent_id,
            deadline_ms=deadline_ms,
            a2a_extensions=self._extensions if extensions is None else extensions,
            after_sequence=after_sequence,
            authorization=credentials_for(credentials, self.config.credentials),
        )
        value, record_headers = encode_request(
            method, params, headers, streaming=stream, version=version or self.protocol_version
        )
        topic = self.config.request_topic
        size = self._check_size(value, record_headers, correlation_id)
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
        waiter.sent = future
        future.add_errback(self._on_send_failed, correlation_id, method, size)
        self.metrics.request_sent(method)
        return waiter

    def _check_size(
        self, value: bytes, headers: list[tuple[str, bytes]], correlation_id: str
    ) -> int:
        """Refuse, before anything is sent, a request the producer or the broker would refuse
        as too large; returns its size.

        The broker's refusal would leave the producer failed for good (kafka-python
        3.0.12), failing the calls sent with it; so the request topic's limit is asked
        once, the first time a request is larger than 16 KiB, and again after a refusal.
        """
        assert self._producer is not None
        limit: int = self._producer.config["max_request_size"]
        size = record_size(None, value, headers)
        topic = self.config.request_topic
        if size > limit:
            raise RequestTooLargeError(
                f"the request is {size} bytes, more than the producer's max_request_size "
                f"({limit}); it was not sent",
                correlation_id=correlation_id,
                topic=topic,
            )
        takes = self._request_topic_limit(size)
        if takes is not None and size > takes.bytes:
            raise RequestTooLargeError(
                f"the request is {size} bytes, more than topic {topic} takes: {takes.bytes} "
                f"bytes ({takes.setting}); it was not sent",
                correlation_id=correlation_id,
                topic=topic,
            )
        return size

    def _request_topic_limit(self, size: int) -> SizeLimit | None:
        """The request topic's ``max.message.bytes``, asked once (None: not told, or not
        asked yet because every request so far was small), and again after the broker
        refused a request as too large."""
        if self._request_refused:
            self._request_refused = self._request_limit_asked = False
        elif self._request_limit_asked or size <= UNCHECKED_RECORD_BYTES:
            return self._request_limit
        topic = self.config.request_topic
        try:
            self._request_limit = size_limits(self.config, [topic]).topics.get(topic)
        except A2AKafkaError as exc:
            logger.debug("the max.message.bytes of %s could not be read: %s", topic, exc)
            self._request_limit = None
        self._request_limit_asked = True
        return self._request_limit

    def _on_send_failed(
        self, correlation_id: str, method: str, size: int, exc: BaseException
    ) -> None:
        self._broken = True  # the next call reconnects before it sends
        error: KafkaOperationError | RequestTooLargeError
        if too_large(exc):
            self._request_refused = True  # ask the limit again: it is less than we knew
        if too_large(exc) and size > UNCHECKED_RECORD_BYTES:  # else likely one sent with it
            error = RequestTooLargeError(
                f"the broker refused the request ({size} bytes) as too large: "
                f"{type(exc).__name__}; raise the topic's max.message.bytes or the brokers' "
                "message.max.bytes",
                correlation_id=correlation_id,
                topic=self.config.request_topic,
            )
        else:
            topic = self.config.request_topic
            error = library_error(
                exc,
                f"sending {method} failed",
                correlation_id=correlation_id,
                topic=topic,
                acl=f"Write on topic {topic!r}",
            )
        error.__cause__ = exc
        self._registry.fail(correlation_id, error)

    def _call(
        self,
        method: str,
        params: A2ABaseModel | Mapping[str, Any],
        timeout: Timeout,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
        *,
        version: str | None = None,
        extensions: str | None = None,
    ) -> Reply:
        seconds = self._timeout(timeout)
        deadline = self._deadline(seconds)
        waiter = self._send(
            method,
            params,
            stream=False,
            timeout=seconds,
            deadline=deadline,
            credentials=credentials,
            version=version,
            extensions=extensions,
        )
        assert isinstance(waiter, Waiter)
        return self._await(waiter, seconds, deadline)

    def _await(self, waiter: Waiter, seconds: float | None, deadline: float | None) -> Reply:
        """The reply a waiter gets by ``deadline`` (the call's ``seconds`` after it began);
        raises the error it carries, or the one :meth:`_timed_out` names."""
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            if not waiter.wait_done(left):
                raise self._timed_out(
                    waiter,
                    RequestTimeoutError(
                        f"no reply within {seconds}s", correlation_id=waiter.correlation_id
                    ),
                )
            reply: Reply = waiter.wait(0)
        except BaseException as exc:
            self._registry.abandon(waiter.correlation_id, exc)  # a timeout ends the call here
            if getattr(exc, "topic", "") is None:
                exc.topic = self.config.request_topic  # type: ignore[attr-defined]
            raise
        if reply.type == "error":
            raise reply.data
        return reply

    def _timed_out(
        self, waiter: Waiter | StreamWaiter, error: RequestTimeoutError
    ) -> A2AKafkaError:
        """What a call that timed out raises: BrokerUnavailableError when its request never
        reached a broker (the next call checks the brokers first, and fails fast while
        none is reachable), else ``error`` (the reply topic, and who reads the request
        topic, are checked in the background; the message says when no group read it at
        the last check).

        A request still waiting for its acknowledgement while the producer holds a live
        connection to a broker is on its way, not lost (a deadline shorter than one round
        trip): that is a plain timeout."""
        sent = waiter.sent
        if sent is None or sent.is_done or self._broker_connected():
            self._suspect = True
            self._presence.recheck()  # asked again, in the background, with the reply topic
            hint = self._presence.hint()
            if hint:
                error.message += hint
                error.args = (error.message,)
            return error
        self._unreachable = True
        servers = ",".join(self.config.bootstrap_servers)
        undelivered = BrokerUnavailableError(
            f"{error.message}, and the request was not delivered: no broker at {servers} "
            "acknowledged it (is the broker down?)",
            correlation_id=waiter.correlation_id,
            topic=self.config.request_topic,
        )
        undelivered.__cause__ = error
        return undelivered

    def _stream(
        self,
        method: str,
        params: A2ABaseModel | Mapping[str, Any],
        timeout: Timeout,
        credentials: CallCredentials = USE_CLIENT_DEFAULT,
        *,
        after_sequence: int | None = None,
        resume: bool | int = False,
        version: str | None = None,
        extensions: str | None = None,
    ) -> ReplyStream:
        seconds = self._timeout(timeout)
        deadline = self._deadline(seconds)
        waiter = self._send(
            method,
            params,
            stream=True,
            timeout=seconds,
            deadline=deadline,
            after_sequence=after_sequence,
            credentials=credentials,
            version=version,
            extensions=extensions,
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
        return ReplyStream(
            self._registry, waiter, seconds, resumer, first_by=deadline, on_timeout=self._timed_out
        )
