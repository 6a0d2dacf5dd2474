"""One request, start to end: decode, call the handler, produce every reply."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from typing import Any

from kafka import KafkaProducer
from kafka.future import Future

from .._kafka import translate_kafka_errors
from ..errors import A2AError, A2AKafkaError, InternalError, UnsupportedOperationError
from ..wire import (
    STREAM_COMPLETE,
    Request,
    RequestHeaders,
    decode_request,
    encode_error,
    encode_reply,
    read_request_headers,
    reply_headers,
)
from .context import RequestContext
from .handlers import HANDLER_METHODS

__all__ = ["Dispatcher"]

logger = logging.getLogger(__name__)


class Dispatcher:
    """Runs one request record through its handler and produces the replies, on a worker thread.

    :meth:`process` never raises: a bad record is answered with its A2A error
    (or logged and skipped when it names no reply topic), a handler's A2AError
    is answered with its code, and any other exception with InternalError
    (-32603). It returns the futures of the replies it produced; the app
    commits the request's offset once all of them are settled.
    """

    def __init__(
        self, handler: Any, producer: KafkaProducer, *, stream_complete_delay: float = 0.0
    ) -> None:
        self._handler = handler
        self._producer = producer
        self._stream_complete_delay = stream_complete_delay

    def process(self, record: Any) -> list[Future]:
        """Handle one request record; returns the futures of every reply it produced."""
        sent: list[Future] = []
        headers, error = read_request_headers(record.headers)
        if error is None:
            try:
                request = decode_request(record.value, headers)
            except A2AError as exc:
                error = exc
        if error is not None:
            self._refuse(record, headers, error, sent)
            return sent
        context = RequestContext.from_request(request)
        try:
            if request.streaming:
                self._stream(request, context, sent)
            else:
                result = self._call(request, context)
                self._send(headers, encode_reply(result, method=request.method.name), sent)
        except Exception as exc:  # a stream ends with exactly one error record
            self._send_error(headers, self._as_a2a_error(exc, headers), sent)
        return sent

    def _handler_method(self, name: str) -> Any:
        method = getattr(self._handler, name, None)
        if method is None:
            raise UnsupportedOperationError(f"this agent does not support {name}")
        return method

    def _call(self, request: Request, context: RequestContext) -> Any:
        unary, _ = HANDLER_METHODS[request.method.name]
        return self._handler_method(unary)(request.params, context)

    def _events(self, request: Request, context: RequestContext) -> Iterator[Any]:
        unary, streaming = HANDLER_METHODS[request.method.name]
        method = getattr(self._handler, streaming, None) if streaming else None
        if method is None:  # a handler object without the stream method: its unary answer
            yield self._handler_method(unary)(request.params, context)
            return
        yield from method(request.params, context)

    def _stream(self, request: Request, context: RequestContext, sent: list[Future]) -> None:
        headers = request.headers

        def emit(event: Any) -> None:
            """Send one event now; a failure is logged (the stream's end reports it)."""
            try:
                self._send(headers, encode_reply(event), sent)
            except _ReplyNotSent as exc:
                logger.warning("could not send a stream event to %s: %s", headers.reply_topic, exc)

        context = dataclasses.replace(context, emit=emit)
        for event in self._events(request, context):
            self._send(headers, encode_reply(event), sent)
        if self._stream_complete_delay and sent:
            time.sleep(self._stream_complete_delay)
        self._send(headers, encode_reply(STREAM_COMPLETE), sent)

    @staticmethod
    def _as_a2a_error(exc: Exception, headers: RequestHeaders) -> A2AError:
        if isinstance(exc, A2AError):
            return exc
        if isinstance(exc, _ReplyNotSent):
            logger.warning("could not send a reply to %s: %s", headers.reply_topic, exc.cause)
            return InternalError(f"reply not sent: {exc.cause.message}")
        logger.exception("handler failed on request %s", headers.correlation_id)
        return InternalError(f"{type(exc).__name__}: {exc}")

    def _refuse(
        self, record: Any, headers: RequestHeaders, error: A2AError, sent: list[Future]
    ) -> None:
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        if not headers.answerable:
            logger.warning(
                "dropped request %s at %s: %s (no reply topic to answer)",
                headers.correlation_id,
                where,
                error,
            )
            return
        logger.warning("refused request %s at %s: %s", headers.correlation_id, where, error)
        self._send_error(headers, error, sent)

    def _send_error(self, headers: RequestHeaders, error: A2AError, sent: list[Future]) -> None:
        try:
            self._send(headers, encode_error(error), sent)
        except Exception as exc:  # nothing more can be sent to this caller
            logger.warning(
                "could not send the error reply %s to %s: %s",
                headers.correlation_id,
                headers.reply_topic,
                exc,
            )

    def _send(self, headers: RequestHeaders, value: bytes, sent: list[Future]) -> None:
        """Produce one reply and add its future to ``sent``; raises _ReplyNotSent."""
        assert headers.correlation_id is not None and headers.reply_topic is not None
        partition = headers.reply_partition
        try:
            with translate_kafka_errors(
                "sending a reply", correlation_id=headers.correlation_id, topic=headers.reply_topic
            ):
                future: Future = self._producer.send(
                    headers.reply_topic,
                    value=value,
                    key=None if partition is not None else headers.correlation_id.encode(),
                    headers=reply_headers(headers.correlation_id, headers.trace_id),
                    partition=partition,
                )
        except A2AKafkaError as exc:
            raise _ReplyNotSent(exc) from exc
        sent.append(future)


class _ReplyNotSent(Exception):
    """A reply could not be produced (told apart from a handler's own library errors)."""

    def __init__(self, cause: A2AKafkaError) -> None:
        super().__init__(str(cause))
        self.cause = cause
