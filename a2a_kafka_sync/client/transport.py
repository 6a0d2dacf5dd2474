"""``KafkaClientTransport``: blocking A2A calls over Kafka, safe to share between threads."""

from __future__ import annotations

import functools
import logging
import os
import weakref
from collections.abc import Callable
from typing import Any

from .._reply_topics import fresh_reply_topic
from ..config import ClientConfig, config_from
from ..errors import ClientClosedError, ProtocolError
from ..interfaces import protocol_version_for
from ..metrics import ClientMetrics
from ..types import AgentCard, Message, MessageSendParams, Task
from ..types.sdk import from_a2a_sdk
from ..wire import Reply
from .connection import _State
from .correlation import Waiter
from .credentials import CallCredentials
from .pending import PendingCall
from .raw import RawCalls
from .sdk_view import A2ASdkClient
from .stream import ReplyStream
from .tasks import TaskCalls
from .timeouts import USE_CLIENT_DEFAULT, Timeout

__all__ = ["USE_CLIENT_DEFAULT", "A2AKafkaClient", "KafkaClientTransport"]


logger = logging.getLogger(__name__)

_CLIENTS: weakref.WeakSet[KafkaClientTransport] = weakref.WeakSet()
"""Every client of this process still referenced: the one at-fork hook starts each over."""


def _reset_after_fork() -> None:
    """In a forked child: every client starts over (the parent's threads are not ours)."""
    for client in list(_CLIENTS):
        try:
            client._after_fork()
        except Exception:  # one client's failure must not leave the others the parent's
            logger.exception("resetting a client after fork failed")


os.register_at_fork(after_in_child=_reset_after_fork)  # once for the module, not per client


def _close_at_exit(ref: weakref.ReferenceType[KafkaClientTransport]) -> None:
    client = ref()
    if client is not None:
        client.close(timeout=1.0)


def _pending_of(ref: weakref.ReferenceType[KafkaClientTransport]) -> int:
    client = ref()
    return client.pending if client is not None else 0


def _as_send_params(message: MessageSendParams | Message | str) -> MessageSendParams:
    message = from_a2a_sdk(message)  # a2a-sdk's Message / MessageSendParams are welcome too
    if isinstance(message, MessageSendParams):
        return message
    if isinstance(message, str):
        message = Message.user_text(message)
    if isinstance(message, Message):
        return MessageSendParams(message=message)
    raise TypeError(f"expected MessageSendParams, Message or str, not {type(message).__name__}")


def _card_and_servers(
    agent_card: Any, bootstrap_servers: str | list[str] | None
) -> tuple[AgentCard | None, str | list[str] | None]:
    """The agent card and brokers of a constructor call, however its first argument was used.

    The first positional parameter is the agent card (the seed's order), but most
    first calls pass the brokers there: a str or a list of str is taken as
    ``bootstrap_servers`` when that is not given too. Anything else that is not a card
    raises TypeError saying what to write instead.
    """
    if agent_card is None or isinstance(agent_card, AgentCard):
        return agent_card, bootstrap_servers
    card = from_a2a_sdk(agent_card)  # a2a-sdk's AgentCard is welcome too
    if isinstance(card, AgentCard):
        return card, bootstrap_servers
    brokers = isinstance(agent_card, str) or (
        isinstance(agent_card, (list, tuple))
        and bool(agent_card)
        and all(isinstance(item, str) for item in agent_card)
    )
    if brokers and bootstrap_servers is None:
        return None, agent_card
    if brokers:
        raise TypeError(
            "KafkaClientTransport's first positional argument is the agent card, and "
            f"{agent_card!r} looks like the brokers, while bootstrap_servers is "
            f"{bootstrap_servers!r}. Write KafkaClientTransport(bootstrap_servers=..., "
            "request_topic=...)"
        )
    if isinstance(agent_card, ClientConfig):
        instead = "KafkaClientTransport(config=config)"
    else:
        instead = "KafkaClientTransport(bootstrap_servers=..., request_topic=..., agent_card=...)"
    raise TypeError(
        "KafkaClientTransport's first positional argument is the agent card (an AgentCard "
        f"or None), not {type(agent_card).__name__}. Write {instead}"
    )


# CallPath (under RawCalls) before TaskCalls: its _call and _stream replace the stubs of
# TaskCalls.
class KafkaClientTransport(RawCalls, TaskCalls):
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

    Besides the typed calls, :meth:`raw_call` and :meth:`raw_stream` send one A2A request
    by method name and params dict, in either version, and give back its raw result(s).

    Write the arguments as keywords: ``KafkaClientTransport(bootstrap_servers="kafka:9092",
    request_topic="my-agent")``. :class:`A2AKafkaClient` is the same class.

    Args:
        agent_card: the card of the agent this client calls (returned by :meth:`get_card`).
            It is the first positional parameter, as in the seed; a str or a list of str
            there is taken as ``bootstrap_servers`` (when that is not given as well), and
            anything else that is not an AgentCard raises TypeError.
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
        agent_card: AgentCard | str | list[str] | None = None,
        bootstrap_servers: str | list[str] | None = None,
        request_topic: str | None = None,
        reply_topic_prefix: str | None = None,
        reply_topic: str | None = None,
        consumer_group_id: str | None = None,
        *,
        config: ClientConfig | None = None,
        **settings: Any,
    ) -> None:
        card, bootstrap_servers = _card_and_servers(agent_card, bootstrap_servers)
        explicit = {
            "bootstrap_servers": bootstrap_servers,
            "request_topic": request_topic,
            "reply_topic_prefix": reply_topic_prefix,
            "reply_topic": reply_topic,
            "consumer_group_id": consumer_group_id,
        }
        self.config: ClientConfig = config_from(ClientConfig, config, explicit, settings)
        self.agent_card = card or AgentCard(name=self.config.request_topic)
        self.protocol_version: str = self.config.protocol_version or protocol_version_for(
            self.agent_card
        )
        """The A2A version of this client's requests: ``config.protocol_version``, else the
        version the agent card offers first
        (:func:`~a2a_kafka_sync.interfaces.protocol_version_for`)."""
        self._extensions = ",".join(self.config.extensions) or None
        self.reply_topic = self.config.reply_topic or fresh_reply_topic(
            self.config.reply_topic_prefix
        )
        self._atexit = functools.partial(_close_at_exit, weakref.ref(self))
        self.metrics = ClientMetrics(
            enabled=self.config.metrics, in_flight=functools.partial(_pending_of, weakref.ref(self))
        )
        """This client's counters and latencies (:class:`~a2a_kafka_sync.metrics.ClientMetrics`)."""
        self._fresh_state(_State.UNOPENED)
        _CLIENTS.add(self)  # for the module's at-fork hook

    def __repr__(self) -> str:
        return (
            f"<KafkaClientTransport {self._state.value} request_topic={self.config.request_topic!r}"
            f" reply_topic={self.reply_topic!r}>"
        )

    def on_push(self, callback: Callable[[Any], None], *, token: str | None = None) -> None:
        """Call ``callback(event)`` for each push record the agent sends this client.

        Push records are unsolicited Messages, Tasks or task update events sent to
        this client's reply topic (``notification_type: push``). Callbacks run in
        order on a thread of their own (``a2a-kafka-push-dispatcher``), never on the
        reply reader, so they may block or fail without delaying replies.

        With ``token``, the callback gets only the records carrying it: the deliveries of
        a ``kafka://`` push notification config set with that ``token``, never a record
        someone else with write access to the reply topic produced (docs/push.md).

        Callbacks outlive a fork: a forked child's client delivers to those registered
        before the fork once it opens again. Raises ClientClosedError after :meth:`close`.
        """
        if self._state is _State.CLOSED:
            raise ClientClosedError("the client is closed")
        self._push.add(callback, token)
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
        deadline = self._deadline(seconds)
        params = _as_send_params(message)
        waiter = self._send(
            "message_send",
            params,
            stream=False,
            timeout=seconds,
            deadline=deadline,
            credentials=credentials,
        )
        assert isinstance(waiter, Waiter)
        return PendingCall(self, waiter, seconds, deadline)

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

    @staticmethod
    def _message_or_task(reply: Reply) -> Message | Task:
        if isinstance(reply.data, (Message, Task)):
            return reply.data
        raise ProtocolError(f"message_send answered with a {reply.type!r} reply")


A2AKafkaClient = KafkaClientTransport
"""The short name of :class:`KafkaClientTransport`: the same class."""
