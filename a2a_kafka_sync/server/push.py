"""Push notifications: webhook (or Kafka) delivery of task updates, and unsolicited push records.

:class:`PushNotifier` delivers a Task to its push configs on threads of its own
(scheduled fairly per target by :mod:`~a2a_kafka_sync.server.push_scheduler`),
keeping the order of the deliveries of each task to each target. :func:`send_push` writes one
push record (``{"type": "push_" + T, "data": D}``, header ``notification_type:
push``, no ``correlation_id``; see docs/wire.md) to a client's reply topic.
"""

from __future__ import annotations

import functools
import http.client
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import urlsplit

import tenacity
from kafka import KafkaProducer
from kafka.future import Future

from .._kafka import translate_kafka_errors
from ..errors import A2AError, InternalError
from ..types import Message, PushNotificationConfig, Task
from ..types.tasks import TaskArtifactUpdateEvent, TaskStatusUpdateEvent
from ..wire import (
    HEADER_NOTIFICATION_TOKEN,
    HEADER_NOTIFICATION_TYPE,
    V0_3,
    V1_0,
    encode_reply,
    push_payload,
)
from .producer import ServerProducer
from .push_scheduler import PushScheduler
from .push_targets import PushTarget, parse_push_url, push_target_error
from .push_versions import CONTENT_TYPES, config_version
from .webhook_http import WebhookAddressRefused, webhook_opener

if TYPE_CHECKING:
    from ..metrics import ServerMetrics

__all__ = [
    "PUSH_HEADERS",
    "PushNotifier",
    "encode_push",
    "kafka_push_topic",
    "send_push",
    "target_key",
]

logger = logging.getLogger(__name__)

PUSH_HEADERS: list[tuple[str, bytes]] = [(HEADER_NOTIFICATION_TYPE, b"push")]
"""The headers of a push record (and no ``correlation_id``)."""

_Event: TypeAlias = "Message | Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent"
_PUSH_TYPES: tuple[tuple[type[_Event], str], ...] = (
    (Message, "push_message"),
    (Task, "push_task"),
    (TaskStatusUpdateEvent, "push_task_status_update"),
    (TaskArtifactUpdateEvent, "push_task_artifact_update"),
)


def kafka_push_topic(url: str) -> str | None:
    """The topic of a ``kafka://topic`` or ``kafka://host:port/topic`` URL (the host is
    unused), or None when the URL is not such a clean URL (see push_targets)."""
    try:
        return parse_push_url(url).topic
    except A2AError:
        return None


def encode_push(event: _Event, version: str = V0_3) -> bytes:
    """The value of a push record in A2A ``version``: 0.3 ``{"type": "push_<kind>", "data":
    <event JSON>}`` (``docs/wire.md``); 1.0 ``{"type": "StreamResponse", "data":
    <StreamResponse>}``, a 1.0 record of ``docs/binding.md``. A client decodes either to
    the same event."""
    push_type = next((name for model, name in _PUSH_TYPES if isinstance(event, model)), None)
    if push_type is None:
        raise InternalError(f"{type(event).__name__} cannot be sent as a push notification")
    if version == V1_0:
        return encode_reply(event, method="message_send", version=V1_0, streaming=True)
    return b'{"type":"' + push_type.encode() + b'","data":' + event.to_json() + b"}"


def send_push(
    producer: KafkaProducer, reply_topic: str, event: _Event, *, partition: int | None = None
) -> Future:
    """Produce one unsolicited push record of ``event`` to a client's reply topic.

    The record's key is the event's task id when it has one. Returns the
    kafka-python future of the send; raises KafkaOperationError when it cannot
    be handed to the producer.
    """
    task_id = event.id if isinstance(event, Task) else getattr(event, "task_id", None)
    value = encode_push(event)
    with translate_kafka_errors("sending a push notification", topic=reply_topic):
        return producer.send(
            reply_topic,
            value=value,
            key=task_id.encode() if task_id and partition is None else None,
            headers=list(PUSH_HEADERS),
            partition=partition,
        )


def target_key(url: str, target: PushTarget) -> str:
    """The target a delivery is queued on: ``kafka://<topic>``, or a webhook's
    ``<scheme>://<host>:<port>`` (the port made explicit), so one slow receiver is one target."""
    if target.topic is not None:
        return f"kafka://{target.topic}"
    port = urlsplit(url).port or (443 if target.scheme == "https" else 80)
    return f"{target.scheme}://{(target.host or '').lower()}:{port}"


def _safe_url(url: str) -> tuple[str, str]:
    """The scheme of ``url``, and ``url`` without user info, query or fragment (secrets)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "", "<unparsable url>"
    return parts.scheme, f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


class _DeliveryFailed(Exception):
    """A delivery attempt failed; ``retry`` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retry: bool, refused: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.refused = refused


class PushNotifier:
    """Delivers Tasks to their push notification configs, off the caller's thread.

    Deliveries are queued per target (a webhook's scheme, host and port; a
    ``kafka://`` topic) on a :class:`~a2a_kafka_sync.server.push_scheduler.PushScheduler`:
    at most ``workers`` threads (``<name>-<n>``, started on demand) in all and
    ``per_target`` deliveries of one target at once, the targets served in turn, so
    a slow or dead target holds at most ``per_target`` threads and slows only itself.
    The deliveries of one task to one target keep their order. At most
    ``max_queued_per_target`` deliveries wait for one target and ``max_queued`` in
    all; past a cap the oldest waiting one of the target at fault is dropped
    (WARNING, and ``metrics.push_dropped``).

    Each config gets the push in the A2A version of the request that set it
    (:mod:`~a2a_kafka_sync.server.push_versions`): the Task's JSON in 0.3, a
    ``StreamResponse`` in 1.0. ``http``/``https`` URLs get an HTTP POST of it, retried up to
    ``attempts`` times with exponential backoff from ``backoff`` s on connection
    errors, timeouts and 5xx (not on 4xx); each request is bounded by
    ``timeout`` s. ``kafka://topic`` and ``kafka://host:port/topic`` URLs get a
    push record (:func:`encode_push`) on that topic through ``producer`` (the host is not
    used), acknowledged within ``timeout`` s; given the app's
    :class:`~a2a_kafka_sync.server.producer.ServerProducer`, each push goes through the
    producer it holds at that moment (the app replaces a broken one). A URL that is not
    clean, or of another scheme, is logged and skipped (see
    :mod:`~a2a_kafka_sync.server.push_targets`); so is a webhook that is not ``https://``
    to a public address (its host resolved before each attempt), unless
    ``allow_insecure_webhooks``. Failures are logged at
    WARNING, without tokens or credentials. ``metrics`` (a ServerMetrics, optional)
    counts deliveries by outcome and drops by reason.
    """

    def __init__(
        self,
        producer: KafkaProducer | ServerProducer,
        *,
        workers: int = 8,
        per_target: int = 2,
        attempts: int = 3,
        timeout: float = 5.0,
        backoff: float = 0.2,
        max_queued: int = 10_000,
        max_queued_per_target: int = 1_000,
        name: str = "a2a-kafka-push",
        allow_insecure_webhooks: bool = False,
        metrics: ServerMetrics | None = None,
    ) -> None:
        if not callable(getattr(producer, "send", None)):
            raise TypeError(
                "PushNotifier's first argument is the KafkaProducer that sends kafka:// "
                f"pushes, not {type(producer).__name__}"
            )
        if attempts < 1 or timeout <= 0 or backoff < 0:
            raise ValueError("attempts must be >= 1, timeout > 0 and backoff >= 0")
        self._producer = (
            producer if isinstance(producer, ServerProducer) else ServerProducer(producer)
        )
        self._allow_insecure_webhooks = allow_insecure_webhooks
        self._attempts = attempts
        self._timeout = timeout
        self._backoff = backoff
        self._metrics = metrics
        self._opener = webhook_opener(public_only=not allow_insecure_webhooks)
        self._scheduler = PushScheduler(
            workers=workers,
            per_target=per_target,
            max_queued=max_queued,
            max_queued_per_target=max_queued_per_target,
            name=name,
            on_drop=metrics.push_dropped if metrics is not None else lambda reason: None,
        )
        self._abandon = self._scheduler.abandoned  # set when close() runs out of time

    @property
    def queued(self) -> int:
        """Deliveries waiting now (not counting those running)."""
        return self._scheduler.queued

    def notify(self, task: Task, configs: Sequence[PushNotificationConfig]) -> None:
        """Queue the delivery of ``task``, as it is now, to each config; returns at once.

        URLs of unsupported schemes are logged at WARNING and skipped. After
        :meth:`close` nothing is queued (a WARNING says so, and the drop is counted).
        """
        bodies: dict[tuple[bool, str], bytes] = {}  # snapshots: the task may change later
        for config in configs:
            try:
                target = parse_push_url(config.url)
            except A2AError as exc:
                logger.warning("push for task %s not delivered: %s", task.id, exc.message)
                self._count("refused")
                continue
            version = config_version(config)
            kind = (target.topic is not None, version)
            if kind not in bodies:
                bodies[kind] = (
                    encode_push(task, version) if kind[0] else push_payload(task, version)
                )
            copy = config.model_copy(deep=True)
            job = functools.partial(self._deliver, task.id, bodies[kind], copy, target)
            self._scheduler.submit(target_key(config.url, target), task.id, job)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop accepting, let queued deliveries finish for up to ``timeout`` s, end the threads.

        What is still queued at the bound is dropped (WARNING, counted as ``closed``)
        and retries stop (a request in flight ends within its own timeout).
        Idempotent; True when every thread has ended.
        """
        return self._scheduler.close(timeout)

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.push_delivered(outcome)

    def _deliver(
        self, task_id: str, body: bytes, config: PushNotificationConfig, target: PushTarget
    ) -> bool | None:
        """Deliver one push, with retries: True delivered, False the target failed it (the
        scheduler counts it against the target's health), None refused by the policy."""
        _, url = _safe_url(config.url)
        is_kafka = target.topic is not None
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(1 if is_kafka else self._attempts)
            | tenacity.stop_when_event_set(self._abandon),
            wait=tenacity.wait_exponential(multiplier=self._backoff, max=30.0),
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, _DeliveryFailed) and e.retry),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if target.topic is not None:
                        self._produce(task_id, body, target.topic, config.token)
                    else:
                        self._refuse_private(target)
                        self._post(body, config)
        except Exception as exc:
            text, auth = str(exc), config.authentication
            for secret in (config.token, auth.credentials if auth else None):
                text = text.replace(secret, "***") if secret else text
            logger.warning("push for task %s to %s failed: %s", task_id, url, text)
            refused = isinstance(exc, _DeliveryFailed) and exc.refused
            self._count("refused" if refused else "failed")
            return None if refused else False
        logger.debug("push for task %s delivered to %s", task_id, url)
        self._count("delivered")
        return True

    def _sleep(self, seconds: float) -> None:
        self._abandon.wait(seconds)  # close() running out of time cuts a backoff short

    def _post(self, body: bytes, config: PushNotificationConfig) -> None:
        headers = {"Content-Type": CONTENT_TYPES[config_version(config)]}
        if config.token:
            headers["X-A2A-Notification-Token"] = config.token
        auth = config.authentication
        if auth is not None and auth.schemes and auth.credentials:
            headers["Authorization"] = f"{auth.schemes[0]} {auth.credentials}"
        request = urllib.request.Request(config.url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            raise _DeliveryFailed(f"HTTP {exc.code}", retry=exc.code >= 500) from None
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out...
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            if isinstance(reason, WebhookAddressRefused):  # the name changed its address
                raise _DeliveryFailed(str(reason), retry=False, refused=True) from None
            text = f"{type(reason).__name__}: {reason}" if isinstance(reason, Exception) else reason
            raise _DeliveryFailed(str(text), retry=True) from None

    def _refuse_private(self, target: PushTarget) -> None:
        """Refuse (without retry) a webhook the policy forbids; its host resolved now, so a
        name that changed its address since the config was set is judged as it is."""
        error = push_target_error(
            target,
            reply_topic=None,
            push_topics=(),
            topic_allowed=lambda topic: True,
            allow_insecure_webhooks=self._allow_insecure_webhooks,
        )
        if error is not None:
            raise _DeliveryFailed(error.message, retry=False, refused=True)

    def _produce(self, task_id: str, value: bytes, topic: str, token: str | None) -> None:
        headers = list(PUSH_HEADERS)
        if token:  # the client tells the pushes it asked for by their config's token
            headers.append((HEADER_NOTIFICATION_TOKEN, token.encode()))
        with translate_kafka_errors("sending a push notification", topic=topic):
            producer = self._producer.current  # asked at each push: the app may replace it
            future = producer.send(topic, value=value, key=task_id.encode(), headers=headers)
            future.get(timeout=self._timeout)
