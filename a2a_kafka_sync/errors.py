"""The one exception tree of a2a-kafka-sync.

Every error the library raises is an :class:`A2AKafkaError`::

    A2AKafkaError                       base of everything raised here
    ├── ConfigurationError              settings refused at construction (also a ValueError)
    ├── BrokerUnavailableError          no broker could be reached within the connect budget
    │   └── KafkaAuthenticationError    the brokers refused this process's credentials (SASL)
    ├── KafkaOperationError             a produce, fetch or admin call failed (cause: kafka-python)
    │   └── KafkaAuthorizationError     the broker's ACLs refused it: an ACL is missing
    ├── NoAgentError                    no agent serves the request topic: it does not exist, or
    │                                   no consumer group reads it (also a LookupError)
    ├── RequestTimeoutError             no reply within the timeout (also a builtin TimeoutError)
    ├── StreamGapError                  a task stream's sequence jumped: events this stream did
    │                                   not get (a resuming stream fills the gap itself)
    ├── ClientClosedError               used after close(), or closed while a call was waiting
    ├── PendingLimitError               the client already has max_pending calls waiting
    ├── ProtocolError                   a record that breaks the wire contract (docs/wire.md)
    ├── BrokerStartError                the embedded broker did not start (a2a_kafka_sync.testing)
    ├── CardSignatureError              an agent card's signatures do not verify with the trusted
    │                                   keys, or it has none (a2a_kafka_sync.signing)
    └── A2AError                        an A2A / JSON-RPC error with a code; raised by handlers on
        │                               the server, and raised to callers when the remote agent
        │                               answered with an ``error`` reply
        ├── JSONParseError              -32700
        ├── InvalidRequestError         -32600
        │   └── RequestTooLargeError    -32042 (extension): a request over a size limit
        ├── MethodNotFoundError         -32601
        ├── InvalidParamsError          -32602
        ├── InternalError               -32603
        ├── TaskNotFoundError           -32001
        ├── TaskNotCancelableError      -32002
        ├── PushNotificationNotSupportedError   -32003
        ├── UnsupportedOperationError   -32004
        ├── ContentTypeNotSupportedError        -32005
        ├── InvalidAgentResponseError   -32006
        ├── AuthenticatedExtendedCardNotConfiguredError   -32007
        ├── ExtensionSupportRequiredError       -32008 (A2A v1.0)
        ├── VersionNotSupportedError    -32009 (A2A v1.0)
        ├── UnauthenticatedError        -32040 (extension): no or invalid credentials
        └── ForbiddenError              -32041 (extension): authenticated, but not allowed

:meth:`A2AError.for_code` maps a code to its class (unknown codes give a plain
:class:`A2AError` that keeps the code), so a remote error is re-raised on the
client as the same class the handler raised on the server.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "A2AError",
    "A2AKafkaError",
    "AuthenticatedExtendedCardNotConfiguredError",
    "BrokerUnavailableError",
    "CardSignatureError",
    "ClientClosedError",
    "ConfigurationError",
    "ContentTypeNotSupportedError",
    "ExtensionSupportRequiredError",
    "ForbiddenError",
    "InternalError",
    "InvalidAgentResponseError",
    "InvalidParamsError",
    "InvalidRequestError",
    "JSONParseError",
    "KafkaAuthenticationError",
    "KafkaAuthorizationError",
    "KafkaOperationError",
    "MethodNotFoundError",
    "NoAgentError",
    "PendingLimitError",
    "ProtocolError",
    "PushNotificationNotSupportedError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "StreamGapError",
    "TaskNotCancelableError",
    "TaskNotFoundError",
    "UnauthenticatedError",
    "UnsupportedOperationError",
    "VersionNotSupportedError",
]


class A2AKafkaError(Exception):
    """Base of every error raised by a2a-kafka-sync.

    ``correlation_id`` and ``topic`` name the request and topic involved, when
    there is one.
    """

    def __init__(
        self, message: str, *, correlation_id: str | None = None, topic: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.correlation_id = correlation_id
        self.topic = topic

    def __str__(self) -> str:
        where = []
        if self.correlation_id:
            where.append(f"correlation_id={self.correlation_id}")
        if self.topic:
            where.append(f"topic={self.topic}")
        return f"{self.message} ({', '.join(where)})" if where else self.message


class ConfigurationError(A2AKafkaError, ValueError):
    """A setting was refused when the client or server was constructed."""


class BrokerUnavailableError(A2AKafkaError):
    """No Kafka broker could be reached: none takes a TCP connection (raised at once, and at
    once again during a short cool-down), none answered within ``connect_timeout``, the
    client was not connected within the call's timeout, or no broker acknowledged the
    request within it (the request was not delivered)."""


class KafkaAuthenticationError(BrokerUnavailableError):
    """The brokers refused this process's credentials (SASL authentication failed).

    Raised at once, without retrying until ``connect_timeout``: a wrong user name or
    password does not fix itself. The message carries the broker's reason.
    """


class KafkaOperationError(A2AKafkaError):
    """A Kafka operation (produce, fetch, topic creation) failed.

    ``__cause__`` is kafka-python's error.
    """


class KafkaAuthorizationError(KafkaOperationError):
    """The broker refused an operation because no ACL allows it to this principal.

    The message names the refusal (``TopicAuthorizationFailedError``,
    ``GroupAuthorizationFailedError``, ...) and the topic, group or transactional id,
    so an operator knows which ACL to add (docs/security.md, "ACLs").
    """


class NoAgentError(A2AKafkaError, LookupError):
    """No agent serves the request topic: the topic does not exist, or no consumer group
    reads it (no server is running). Raised by a call at once, before anything is sent,
    instead of a wait for the whole timeout; again at once during a short cool-down, then
    checked again, so a server that starts later is found (docs/errors.md).

    ``topic`` is the request topic; ``reason`` is ``"missing"`` (no such topic) or
    ``"unread"`` (no consumer group reads it).
    """

    def __init__(self, message: str, *, topic: str | None = None, reason: str = "missing") -> None:
        super().__init__(message, topic=topic)
        self.reason = reason

    def __reduce__(self) -> tuple[object, ...]:
        return _rebuild_no_agent, (self.message, self.topic, self.reason)


def _rebuild_no_agent(message: str, topic: str | None, reason: str) -> NoAgentError:
    return NoAgentError(message, topic=topic, reason=reason)


class RequestTimeoutError(A2AKafkaError, TimeoutError):
    """No reply (or, in a stream, no next event) arrived within the timeout."""


class StreamGapError(A2AKafkaError):
    """A task stream's next event is numbered past the one after the last it yielded: events
    in between were not delivered to this stream (after a server died mid-stream, its
    request is run again under the same task id, and the dead run's last events may not have
    reached the caller). A stream with ``resume=True`` fills the gap itself by resubscribing
    after its last sequence; without it, this error says where the gap is."""

    def __init__(self, message: str, *, after: int | None = None, got: int | None = None) -> None:
        super().__init__(message)
        self.after = after
        self.got = got

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_stream_gap, (self.message, self.after, self.got))


def _rebuild_stream_gap(message: str, after: int | None, got: int | None) -> StreamGapError:
    return StreamGapError(message, after=after, got=got)


class ClientClosedError(A2AKafkaError):
    """The client was closed, before the call or while the call was waiting."""


class PendingLimitError(A2AKafkaError):
    """The client already has ``max_pending`` calls waiting; this one was not sent."""


class ProtocolError(A2AKafkaError):
    """A record did not follow the wire contract (bad JSON, unknown reply type, wrong shape)."""


class CardSignatureError(A2AKafkaError):
    """An agent card was refused: no signature, or none that a trusted key verifies.

    ``agent_name`` names the card; ``problems`` says, signature by signature, why
    it failed (unknown key id, unsupported algorithm, changed after signing, ...).
    """

    def __init__(
        self,
        message: str,
        *,
        agent_name: str,
        problems: list[str] | None = None,
        topic: str | None = None,
    ) -> None:
        super().__init__(message, topic=topic)
        self.agent_name = agent_name
        self.problems = list(problems or [])


class A2AError(A2AKafkaError):
    """An A2A / JSON-RPC error: a ``code``, a human-readable message and optional ``data``.

    Handlers raise it (or a subclass) to answer a request with that error; the
    client raises it when the agent answered with an ``error`` reply.
    """

    code: int = -32603
    _registry: ClassVar[dict[int, type[A2AError]]] = {}

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        data: Any = None,
        correlation_id: str | None = None,
        topic: str | None = None,
    ) -> None:
        super().__init__(
            message or self.default_message(), correlation_id=correlation_id, topic=topic
        )
        if code is not None:
            self.code = code
        self.data = data

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        A2AError._registry.setdefault(cls.code, cls)

    @classmethod
    def default_message(cls) -> str:
        """The message used when none is given: the class docstring's first line."""
        return (cls.__doc__ or cls.__name__).strip().splitlines()[0].rstrip(".")

    @classmethod
    def for_code(
        cls,
        code: int,
        message: str | None = None,
        *,
        data: Any = None,
        correlation_id: str | None = None,
        topic: str | None = None,
    ) -> A2AError:
        """Build the error class registered for ``code``; an unknown code keeps its number."""
        error_class = cls._registry.get(code)
        if error_class is None:
            return A2AError(
                message, code=code, data=data, correlation_id=correlation_id, topic=topic
            )
        return error_class(message, data=data, correlation_id=correlation_id, topic=topic)

    def __str__(self) -> str:
        return f"[{self.code}] {super().__str__()}"


class JSONParseError(A2AError):
    """Invalid JSON payload."""

    code = -32700


class InvalidRequestError(A2AError):
    """Request payload validation error."""

    code = -32600


class MethodNotFoundError(A2AError):
    """Method not found."""

    code = -32601


class InvalidParamsError(A2AError):
    """Invalid parameters."""

    code = -32602


class InternalError(A2AError):
    """Internal error."""

    code = -32603


class TaskNotFoundError(A2AError):
    """Task not found."""

    code = -32001


class TaskNotCancelableError(A2AError):
    """Task cannot be canceled."""

    code = -32002


class PushNotificationNotSupportedError(A2AError):
    """Push Notification is not supported."""

    code = -32003


class UnsupportedOperationError(A2AError):
    """This operation is not supported."""

    code = -32004


class ContentTypeNotSupportedError(A2AError):
    """Incompatible content types."""

    code = -32005


class InvalidAgentResponseError(A2AError):
    """Invalid agent response."""

    code = -32006


class AuthenticatedExtendedCardNotConfiguredError(A2AError):
    """Authenticated Extended Card is not configured."""

    code = -32007


class ExtensionSupportRequiredError(A2AError):
    """An extension the agent requires was not declared by the client (A2A v1.0)."""

    code = -32008


class VersionNotSupportedError(A2AError):
    """The A2A protocol version of the request is not supported by the agent (A2A v1.0)."""

    code = -32009


# -- extensions: codes in JSON-RPC's implementation-defined server-error range (-32000..-32099),
# clear of A2A's -32001..-32009 (A2A leaves authentication to its HTTP bindings: 401 / 403).


class RequestTooLargeError(InvalidRequestError):
    """The request is larger than a size limit.

    Raised by the client before anything is sent (the record would exceed the
    producer's ``max_request_size``), or answered by a server whose
    ``max_request_bytes`` / ``max_header_bytes`` the record exceeds (it is not decoded).
    """

    code = -32042


class UnauthenticatedError(A2AError):
    """Authentication required: the request carried no valid credentials."""

    code = -32040


class ForbiddenError(A2AError):
    """Not allowed: the caller may not do this (or name this topic)."""

    code = -32041
