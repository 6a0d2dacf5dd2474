"""Who is calling: principals, authenticators (server side) and credentials (client side).

A request carries the caller's credentials in its ``authorization`` header
(``Bearer <token>``, or an API key as it is). A server given an *authenticator*,
a plain function ``authenticator(credentials, headers) -> Principal | None``,
turns them into a :class:`Principal` before anything else is decoded; the
handler sees it as ``context.principal``, and the default handler keeps each
task for the principal that created it. A client sends the credentials of its
``credentials`` setting (a string, or a function called for every request), or
those a call passes. Credentials never appear in reprs, logs or error messages.

This module also holds the settings of both sides (mixed into
:class:`~a2a_kafka_sync.config.ClientConfig` and
:class:`~a2a_kafka_sync.config.ServerConfig`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from .wire import RequestHeaders

__all__ = [
    "Authenticator",
    "CredentialsSource",
    "Principal",
    "api_key_authenticator",
    "bearer_authenticator",
    "bearer_credentials",
    "first_of",
    "resolve_credentials",
]

Authenticator = Callable[[str | None, "RequestHeaders"], "Principal | None"]
"""``authenticator(credentials, headers)``: the caller's :class:`Principal`, or None when the
credentials (the ``authorization`` header, None when absent) are missing or not valid. It may
raise an :class:`~a2a_kafka_sync.errors.A2AError` (e.g. ``ForbiddenError``) to answer with it."""

CredentialsSource = str | Callable[[], str | None]
"""What a client sends in ``authorization``: a fixed string, or a function called for every
request (to refresh a token), returning the string or None (no header)."""

_BEARER = re.compile(r"bearer[ \t]+(\S+)[ \t]*", re.IGNORECASE)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    Attributes:
        name: who it is (a user, a service, a token's ``sub``); tasks are owned by
            this name, so an authenticator must give distinct callers distinct names
            across all its schemes.
        scheme: which security scheme of the agent card authenticated it
            (e.g. ``"bearer"``, ``"apiKey"``), or None.
        claims: whatever else the authenticator learned (a token's claims, roles);
            left out of the repr.
    """

    name: str
    scheme: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("a principal needs a non-empty name")


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def api_key_authenticator(
    keys: Mapping[str, str | Principal], *, scheme: str = "apiKey"
) -> Authenticator:
    """An authenticator that looks the ``authorization`` header up in a table of API keys.

    Args:
        keys: API key -> the principal it stands for (a :class:`Principal`, or a name).
            Only SHA-256 digests of the keys are kept, and they are compared in
            constant time.
        scheme: the principal's ``scheme`` (the name of the card's apiKey scheme).
    """
    table: list[tuple[bytes, Principal]] = [
        (_digest(key), who if isinstance(who, Principal) else Principal(who, scheme))
        for key, who in keys.items()
    ]

    def authenticate(credentials: str | None, headers: RequestHeaders) -> Principal | None:
        """The principal of a known API key, else None."""
        if not credentials:
            return None
        presented = _digest(credentials.strip())
        found = None
        for digest, principal in table:  # no early exit: the time does not tell which key
            if hmac.compare_digest(digest, presented):
                found = principal
        return found

    return authenticate


def bearer_authenticator(
    verify: Callable[[str], Principal | Mapping[str, Any] | str | None], *, scheme: str = "bearer"
) -> Authenticator:
    """An authenticator for ``authorization: Bearer <token>``; ``verify(token)`` checks the token.

    ``verify`` returns a :class:`Principal`, a name, a dict of claims (the
    principal is named after its ``sub``), or None for a token it refuses; it may
    also raise (the caller is then refused, and only the exception's type is logged).
    Credentials of another form give None without calling it.

    Args:
        verify: checks one token (a JWT library's decode, an introspection call, a table).
        scheme: the principal's ``scheme`` (the name of the card's http bearer scheme).
    """

    def authenticate(credentials: str | None, headers: RequestHeaders) -> Principal | None:
        """The principal ``verify`` finds for a bearer token, else None."""
        match = _BEARER.fullmatch(credentials or "")
        if match is None:
            return None
        found = verify(match.group(1))
        if found is None or isinstance(found, Principal):
            return found
        if isinstance(found, str):
            return Principal(found, scheme)
        subject = found.get("sub")
        if not isinstance(subject, str) or not subject:
            return None
        return Principal(subject, scheme, dict(found))

    return authenticate


def first_of(*authenticators: Authenticator) -> Authenticator:
    """An authenticator that asks each of ``authenticators`` in turn; the first principal wins.

    For a card that declares several schemes (say a bearer token or an API key).
    """

    def authenticate(credentials: str | None, headers: RequestHeaders) -> Principal | None:
        """The first principal any of the authenticators finds, else None."""
        for authenticator in authenticators:
            principal = authenticator(credentials, headers)
            if principal is not None:
                return principal
        return None

    return authenticate


def bearer_credentials(token: str | Callable[[], str]) -> CredentialsSource:
    """Client credentials ``Bearer <token>``, from a token or a function that returns one."""
    if isinstance(token, str):
        return f"Bearer {token}"
    return lambda: f"Bearer {token()}"


def resolve_credentials(source: CredentialsSource | None) -> str | None:
    """The header value of a credentials setting: the string, or what the provider returns now."""
    value = source() if callable(source) else source
    if value is not None and not isinstance(value, str):
        raise TypeError(f"a credentials provider must return str or None, not {type(value)}")
    return value or None


# -- settings, mixed into ClientConfig and ServerConfig ----------------------------------------

DEFAULT_REPLY_TOPIC_PATTERN = r"a2a-reply[-._].+"
"""The reply topics a server answers to by default: those of the clients' default
``reply_topic_prefix`` (``a2a-reply-<hex>`` here). The seed's prefix is the same
(``a2a-reply``) but how its clients join it to the rest of the name is not written
down, so ``-``, ``.`` and ``_`` are accepted."""


class ClientAuthSettings(BaseModel):
    """The client's authentication setting (a part of ``ClientConfig``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    credentials: str | Callable[[], str | None] | None = Field(
        default=None,
        repr=False,
        exclude=True,
        description="Sent in the authorization header of every request: a string "
        "('Bearer <token>', or an API key), or a function called for each request that "
        "returns one (or None: no header). Each call can override it (credentials=). "
        "Never shown in reprs or logs.",
    )


class ServerAuthSettings(BaseModel):
    """The server's authentication and abuse settings, push limits included (a part of
    ``ServerConfig``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow_anonymous: bool = Field(
        default=False,
        description="With an authenticator: serve requests that carry no credentials, with "
        "context.principal None (their tasks are everybody's). Invalid credentials are "
        "refused (-32040) either way. Without an authenticator every request is anonymous.",
    )
    reply_topic_pattern: str | None = Field(
        default=DEFAULT_REPLY_TOPIC_PATTERN,
        description="Regular expression a request's reply_topic (and a kafka:// push config's "
        "topic) must match in full; a request naming another topic gets no reply and is "
        "dead-lettered. Never allowed: the request, dead-letter and card topics, the task "
        "store's topic, names starting '__'. None: any other topic.",
    )
    push_topics: tuple[str, ...] = Field(
        default=(),
        description="Topics a kafka:// push config may name besides the caller's own reply "
        "topic (which is always allowed when reply_topic_pattern allows it). Any other topic "
        "is refused with -32041, so a caller cannot have task updates written into another "
        "client's reply topic or an unrelated topic. Never the server's own topics.",
    )
    allow_insecure_webhooks: bool = Field(
        default=False,
        description="Development only: allow webhook push configs over plain http:// and to "
        "loopback, private, link-local and other non-public addresses. Off: such a config is "
        "refused when it is set (-32041), and a webhook whose host resolves to a non-public "
        "address is not called.",
    )
    max_push_configs_per_task: int = Field(
        default=10,
        ge=1,
        description="Push notification configs one task may have; setting one more (a new "
        "id) is answered with -32602 naming the cap, and stores nothing. Replacing a "
        "config (the same id) is always allowed.",
    )
    push_workers: int = Field(
        default=8,
        ge=1,
        description="Threads that deliver push notifications, at most (started as deliveries "
        "need them): a2a-kafka-push-0 ...",
    )
    push_per_target: int = Field(
        default=2,
        ge=1,
        description="Push deliveries to one target (a webhook's scheme, host and port; a "
        "kafka:// topic) that run at once, at most: a target that is slow or never answers "
        "holds at most this many of the push_workers threads, and the other targets are "
        "served in turn by the rest.",
    )
    push_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds each push attempt may take (an HTTP request, or the broker's "
        "acknowledgement of a kafka:// record); a webhook gets at most 3 attempts.",
    )
    max_push_queue: int = Field(
        default=10_000,
        ge=1,
        description="Push deliveries waiting to run, at most, in all; past it the oldest "
        "waiting delivery of the target with the most waiting is dropped (WARNING, "
        "a2a_kafka_server_push_dropped_total{reason=queue_full}).",
    )
    max_push_queue_per_target: int = Field(
        default=1_000,
        ge=1,
        description="Push deliveries waiting for one target, at most; past it the target's "
        "oldest waiting delivery is dropped (WARNING, "
        "a2a_kafka_server_push_dropped_total{reason=target_full}).",
    )
    max_request_bytes: int | None = Field(
        default=1_048_576,
        ge=1,
        description="Largest request record value the server decodes (bytes); a larger one "
        "is answered with -32042 without being decoded. None: no limit.",
    )
    max_header_bytes: int | None = Field(
        default=1_048_576,
        ge=1,
        description="Largest total size of a request record's headers (names and values, "
        "bytes); a request over it is answered with -32042 and not decoded. None: no limit.",
    )

    @field_validator("push_topics")
    @classmethod
    def _valid_topics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for topic in value:
            from .config import is_topic_name  # config builds on this module

            if not is_topic_name(topic):
                raise ValueError(f"{topic!r} is not a valid Kafka topic name")
            if topic.startswith("__"):
                raise ValueError(f"{topic!r} is an internal topic")
        return value

    @field_validator("reply_topic_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value
