"""The validated settings of a client and of a server, and the named Kafka profiles.

One :class:`ClientConfig` or :class:`ServerConfig` is built (and checked) when a
client or server is constructed, then passed down unchanged; nothing reads
settings from anywhere else. kafka-python settings travel in ``kafka``, a dict
passed through to the producers, consumers and admin clients that accept each
key; a key that none of them knows is refused at construction.

Every field's description is the configuration reference (``docs/configuration.md``
is checked against it by a test).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ._kafka import check_kafka_settings
from ._redact import redact
from .auth import ClientAuthSettings, ServerAuthSettings
from .errors import ConfigurationError
from .types import AgentCard

__all__ = [
    "DEFAULT_TIMEOUT",
    "LOW_LATENCY",
    "MAX_TOPIC_NAME_LENGTH",
    "PROFILES",
    "ClientConfig",
    "ServerConfig",
    "TopicName",
    "build_config",
    "check_topic_name",
    "config_from",
    "is_topic_name",
]

DEFAULT_TIMEOUT = 20.0
"""Seconds a call waits for its reply when neither the call nor the client says otherwise.

20 s, below gunicorn's default worker timeout (30 s) with room for the view's own work, so
that an unconfigured web view answers a slow agent with a 504 instead of a killed worker.
"""

MAX_TOPIC_NAME_LENGTH = 249
"""The longest topic name Kafka accepts."""

_TOPIC_CHARACTERS = re.compile(r"[a-zA-Z0-9._-]+")


def check_topic_name(name: str) -> str:
    """Return ``name`` when Kafka accepts it as a topic name, else raise ValueError saying why.

    Kafka refuses an empty name, ``'.'`` and ``'..'``, names over 249 characters and any
    character outside ``[a-zA-Z0-9._-]``; the library refuses them at construction, not
    when the topic is first created or written.
    """
    if not name:
        raise ValueError("a Kafka topic name cannot be empty")
    if name in (".", ".."):
        raise ValueError(f"a Kafka topic name cannot be {name!r}")
    if len(name) > MAX_TOPIC_NAME_LENGTH:
        raise ValueError(
            f"a Kafka topic name is at most {MAX_TOPIC_NAME_LENGTH} characters, not {len(name)}"
        )
    if not _TOPIC_CHARACTERS.fullmatch(name):
        bad = sorted({c for c in name if not _TOPIC_CHARACTERS.fullmatch(c)})
        raise ValueError(
            "a Kafka topic name has only the characters [a-zA-Z0-9._-]; "
            f"{name!r} has {''.join(bad)!r}"
        )
    return name


def is_topic_name(name: str) -> bool:
    """True when Kafka accepts ``name`` as a topic name (:func:`check_topic_name`)."""
    try:
        check_topic_name(name)
    except ValueError:
        return False
    return True


TopicName = Annotated[str, AfterValidator(check_topic_name)]
"""A ``str`` field that must be a topic name Kafka accepts (:func:`check_topic_name`)."""

LOW_LATENCY = "low-latency"
"""Name of the profile for brokers that do not wake a waiting fetch (Tansu, the embedded broker).

Short fetch waits make each hop cost ~5 ms instead of ~250 ms on such a broker,
at the price of more fetch requests (broker and client CPU); short group
timeouts make a server's group join take about a second instead of five.
Real Apache Kafka answers a waiting fetch as soon as data arrives, so the
library's defaults (kafka-python's) suit it and this profile is not needed.
"""

PROFILES: dict[str, dict[str, Any]] = {
    LOW_LATENCY: {
        "fetch_max_wait_ms": 10,
        "linger_ms": 0,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 1200,
        "max_poll_interval_ms": 3000,
    },
}
"""Named sets of kafka-python settings; a config's ``kafka`` dict wins over its profile."""

KAFKA_DEFAULTS: dict[str, Any] = {
    "reconnect_backoff_max_ms": 1000,
}
"""kafka-python settings the library changes for every client it builds (a profile and
``kafka`` win over them). ``reconnect_backoff_max_ms``: kafka-python waits up to 30 s
between two attempts to reach a broker that went away, so a broker back after a restart
stayed unused for up to half a minute; 1 s is the Java client's default."""


class _CommonConfig(BaseModel):
    # hide_input_in_errors: a refused setting's error must not echo a password given with it
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    bootstrap_servers: list[str] = Field(
        default=["localhost:9092"],
        description="Kafka brokers to bootstrap from, as a list or a comma-separated string.",
    )
    request_topic: TopicName = Field(
        default="a2a-requests",
        description="Topic the agent's requests travel on (the agent's address).",
    )
    request_topic_partitions: int = Field(
        default=4,
        ge=1,
        description="Partitions of the request topic when this side creates it; "
        "the most server processes that can share the load.",
    )
    create_topics: bool = Field(
        default=True,
        description="Create the topics this side uses when they are missing: a server its "
        "request topic (and the others it uses), a client its reply topic (and its request "
        "topic only with create_request_topic).",
    )
    connect_timeout: float = Field(
        default=15.0,
        gt=0,
        description="Seconds spent retrying (with backoff) to reach the brokers when "
        "opening, before BrokerUnavailableError is raised.",
    )
    profile: str | None = Field(
        default=None,
        description="Name of a kafka-python settings profile from PROFILES "
        "(e.g. 'low-latency' for the embedded broker); ``kafka`` wins over it.",
    )
    kafka: dict[str, Any] = Field(
        default_factory=dict,
        description="kafka-python settings passed through to every producer, consumer and "
        "admin client that accepts them (security_protocol, ssl_*, sasl_*, fetch_max_wait_ms...).",
    )

    @field_validator("bootstrap_servers", mode="before")
    @classmethod
    def _split_servers(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not value:
            raise ValueError("at least one bootstrap server is needed")
        return value

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        if value is not None and value not in PROFILES:
            raise ValueError(f"unknown profile {value!r}; known: {sorted(PROFILES)}")
        return value

    @field_validator("kafka")
    @classmethod
    def _known_kafka_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_kafka_settings(value)
        return value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The fields repr() and str() show, with secrets (passwords, tokens, credentials,
        in ``kafka`` too) replaced by ``'***'``."""
        yield from redact(dict(super().__repr_args__())).items()

    def kafka_settings(self) -> dict[str, Any]:
        """The kafka-python settings in force: :data:`KAFKA_DEFAULTS`, the profile's over
        them, then ``kafka`` over both."""
        settings = dict(KAFKA_DEFAULTS)
        settings.update(PROFILES[self.profile] if self.profile else {})
        settings.update(self.kafka)
        settings["bootstrap_servers"] = list(self.bootstrap_servers)
        return settings


_C = TypeVar("_C", bound=_CommonConfig)


class ClientConfig(_CommonConfig, ClientAuthSettings):
    """Settings of a :class:`~a2a_kafka_sync.KafkaClientTransport`."""

    reply_topic_prefix: TopicName = Field(
        default="a2a-reply",
        description="Prefix of the client's own reply topic, named '<prefix>-<hex>' (32 hex "
        "digits laid out as a UUID version 7: the time it was named, then random ones; so "
        "the prefix is at most 216 characters, of a topic name's 249).",
    )
    reply_topic: TopicName | None = Field(
        default=None,
        description="A fixed reply topic instead of a fresh one per client. The client reads "
        "all of its partitions and ignores replies to other clients' correlation ids.",
    )
    reply_topic_partitions: int = Field(
        default=1, ge=1, description="Partitions of the reply topic when the client creates it."
    )
    delete_reply_topic_on_close: bool = Field(
        default=True,
        description="Delete the reply topic at close() when this client created it: its fresh "
        "'<prefix>-<hex>' topic, which no one else reads and no later process reuses (a fixed "
        "reply_topic is never deleted). A long-lived client closes once, at the end of its "
        "process, so its topic lives as long as it does. Bounded by close()'s timeout; a "
        "failure (broker down, no Delete ACL) is logged, never raised, and leaves the topic to "
        "a2a_kafka_sync.admin's cleanup. False: keep it.",
    )
    reply_topic_retention_ms: int = Field(
        default=3_600_000,
        ge=1,
        description="retention.ms of a reply topic the client creates, so the topic of a "
        "client that died does not grow forever.",
    )
    create_request_topic: bool = Field(
        default=False,
        description="With create_topics, also create the request topic when it is missing "
        "(request_topic_partitions). Off: the server owns its request topic, and a call to "
        "one that does not exist raises NoAgentError at once instead of leaving a topic "
        "behind (docs/errors.md).",
    )
    check_agent: bool = Field(
        default=True,
        description="Before sending, check that a consumer group reads the request topic (or "
        "read it before: a server restarting); none: NoAgentError at once. False sends "
        "anyway, for a server that starts later. A missing request topic fails either way.",
    )
    consumer_group_id: str | None = Field(
        default=None,
        description="Accepted for compatibility with the seed's constructor and not used: the "
        "reply topic is read by manual partition assignment, which joins no group.",
    )
    agent_id: str | None = Field(
        default=None, description="The caller's agent name, sent in the agent_id header."
    )
    protocol_version: Literal["0.3", "1.0"] | None = Field(
        default=None,
        description="The A2A protocol version the client speaks. None: the first version the "
        "agent card's Kafka interfaces offer (supportedInterfaces, in the agent's order), "
        "else 0.3, which every peer speaks (the asyncio implementation and servers older "
        "than 1.0 support included). See docs/binding.md.",
    )
    extensions: list[str] = Field(
        default=[],
        description="URIs of the A2A extensions the client uses, sent with every request in "
        "the a2a_extensions header; an agent that requires one the client does not declare "
        "answers -32008 (ExtensionSupportRequiredError).",
    )
    max_pending: int = Field(
        default=10_000,
        ge=1,
        description="Calls that may wait for replies at once; one more raises "
        "PendingLimitError before anything is sent (backpressure, bounded memory).",
    )
    timeout: float | None = Field(
        default=DEFAULT_TIMEOUT,
        description="Default seconds a call waits for its reply (for a stream: for each next "
        "event); None waits without limit. Each call can override it. 20 s: below gunicorn's "
        "default worker timeout (30 s), with room for the view's own work, so a web view "
        "waiting on a slow agent answers 504 instead of being killed.",
    )
    metrics: bool = Field(
        default=True,
        description="Count calls, outcomes, latencies and stream events in client.metrics "
        "(see docs/observability.md); False: nothing is counted.",
    )
    tracing: bool = Field(
        default=True,
        description="Send a W3C traceparent with each request when a trace is current "
        "(OpenTelemetry's, or continue_trace()), and wrap each call in an OpenTelemetry "
        "CLIENT span when a tracer provider is set; False: neither.",
    )

    @field_validator("reply_topic_prefix")
    @classmethod
    def _room_for_the_suffix(cls, value: str) -> str:
        longest = MAX_TOPIC_NAME_LENGTH - len("-") - 32
        if len(value) > longest:
            raise ValueError(
                f"a reply topic prefix is at most {longest} characters, not {len(value)}: the "
                f"reply topic adds '-' and 32 hex digits, and a topic name is at most "
                f"{MAX_TOPIC_NAME_LENGTH}"
            )
        return value

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("timeout must be positive or None")
        return value


class ServerConfig(_CommonConfig, ServerAuthSettings):
    """Settings of a :class:`~a2a_kafka_sync.KafkaServerApp`."""

    consumer_group_id: str | None = Field(
        default=None,
        min_length=1,
        description="Consumer group of the server processes that share the request topic; "
        "default 'a2a-server-<request_topic>', one group per agent (a group whose members "
        "read different topics leaves some of them without partitions).",
    )
    group_instance_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=249,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Static group membership (KIP-345): a name unique to this server process "
        "within its group and kept across its restarts (a StatefulSet pod's name, a host name). "
        "A process restarted within the session timeout gets its partitions back without a "
        "rebalance; but a static member that crashes or stops does not leave the group, so its "
        "partitions wait the whole session timeout before another server takes them. "
        "None: a dynamic member.",
    )
    max_workers: int = Field(default=8, ge=1, description="Threads of the pool that runs handlers.")
    max_in_flight: int = Field(
        default=64,
        ge=1,
        description="Requests taken from Kafka and not yet answered, at most; past it the "
        "server pauses consumption instead of buffering.",
    )
    commit_interval: float = Field(
        default=0.1,
        ge=0,
        description="Seconds between offset commits while serving (0: after every poll). "
        "Only finished requests are ever committed; a longer interval means fewer commit "
        "requests, and more requests answered again by another instance after a crash.",
    )
    handler_timeout: float | None = Field(
        default=None,
        gt=0,
        description="Seconds a handler call may take; past it the caller gets an error "
        "(-32603), the handler's context.cancelled is set and its request is finished, while "
        "other requests keep running on spare threads. None: no limit.",
    )
    resubscribe_idle_timeout: float | None = Field(
        default=300.0,
        gt=0,
        description="Seconds a resubscription (tasks/resubscribe, a resumed stream) waits for "
        "its task's next event before it ends with -32603 (data.reason 'no_progress'), so a "
        "task whose worker died never holds a worker thread and its request's offset for "
        "ever; a client with resume=True resubscribes. None: wait without limit.",
    )
    drain_timeout: float = Field(
        default=10.0,
        ge=0,
        description="Seconds stop() waits for in-flight requests to finish and their "
        "offsets to be committed.",
    )
    dead_letters: bool = Field(
        default=True,
        description="Send request records that cannot be answered (no reply topic or "
        "correlation id) to the dead-letter topic, with the reason in headers.",
    )
    dead_letter_topic: TopicName | None = Field(
        default=None,
        description="The dead-letter topic; default '<request_topic>.dead-letters'.",
    )
    expired_requests: Literal["answer", "drop"] = Field(
        default="answer",
        description="What to do with a request whose deadline_ms has passed before it "
        "runs: answer it with an error (-32603), or drop it (logged). Neither runs it.",
    )
    exactly_once: bool = Field(
        default=False,
        description="Commit each request's replies and its offset in one Kafka transaction "
        "(clients then read with isolation_level='read_committed'). Replies, stream events "
        "included, become visible when their transaction commits, each poll round.",
    )
    dedupe_window: int = Field(
        default=10_000,
        ge=0,
        description="How many recent correlation ids the server remembers, so a redelivered "
        "request is answered from its cached replies (or skipped while it still runs) "
        "instead of running twice; 0 turns this off.",
    )
    reply_cache_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=0,
        description="Bytes of reply values kept for that window; a request whose replies "
        "are larger than an eighth of it is remembered without its replies.",
    )
    card_topic: TopicName | None = Field(
        default="a2a-agent-cards",
        description="Compacted topic the server publishes its agent card on at start, keyed "
        "by agent name, for discovery (AgentDirectory); None publishes nothing. A failed "
        "publish is logged, not fatal.",
    )
    card_interval: float | None = Field(
        default=30.0,
        gt=0,
        description="Seconds between two publications of the card while the server runs (a "
        "heartbeat); the card is published with a time to live of three intervals, after "
        "which readers hide it (a crashed server's). None publishes it once, for ever. A "
        "clean stop removes the card unless other members of the group still serve.",
    )
    card_signer: Callable[[AgentCard], AgentCard] | None = Field(
        default=None,
        description="Signs the card the server publishes, once its Kafka interface is added "
        "(a2a_kafka_sync.signing.card_signer(key, key_id=...)); None publishes it unsigned, "
        "or as signed by you (docs/signed_cards.md).",
    )
    stream_complete_delay: float = Field(
        default=0.0,
        ge=0,
        description="Seconds to hold back stream_complete after a stream's last event, for "
        "old clients that stop reading at stream_complete (see docs/wire.md); 0 = off.",
    )
    stream_keepalive: float | None = Field(
        default=5.0,
        ge=0,
        description="Seconds a stream may stay quiet once its task exists before the server "
        "sends the task's status again (same state, final false, the keepalive header), so "
        "a slow agent does not trip the caller's per-event timeout; this library's client "
        "drops it. Keep it well under the clients' timeout. 0 or None: off (also off with "
        "exactly_once).",
    )
    metrics: bool = Field(
        default=True,
        description="Count requests, outcomes, handler latencies, stream events, dead letters "
        "and the consumer lag in app.metrics (see docs/observability.md); False: nothing is "
        "counted and the lag is not asked for.",
    )
    error_detail: Literal["redacted", "full"] = Field(
        default="redacted",
        description="How much of a handler's unexpected exception (anything but an A2AError) "
        "its caller is told, in the -32603 InternalError it gets: 'redacted', the exception's "
        "class and the request's correlation id, not its message (which may hold data or "
        "secrets); 'full', its class and message too. The server logs the whole exception, "
        "with its traceback, at ERROR either way. An A2AError the handler raises goes to the "
        "caller as it is, message included.",
    )
    tracing: bool = Field(
        default=True,
        description="Run each handler inside an OpenTelemetry SERVER span (a child of the "
        "caller's) when a tracer provider is set, or else in the caller's trace context, so "
        "the calls it makes continue the trace; False: neither (trace headers are still "
        "shown to the handler and copied onto replies).",
    )

    @field_validator("group_instance_id")
    @classmethod
    def _usable_instance_id(cls, value: str | None) -> str | None:
        if value in (".", ".."):
            raise ValueError("group_instance_id cannot be '.' or '..'")
        return value

    @model_validator(mode="after")
    def _workers_fit(self) -> ServerConfig:
        if self.max_in_flight < self.max_workers:
            raise ValueError("max_in_flight must be at least max_workers")
        return self

    @model_validator(mode="after")
    def _dead_letter_name_fits(self) -> ServerConfig:
        name = self.dead_letter_topic_name
        if name is not None and self.dead_letter_topic is None:
            try:
                check_topic_name(name)
            except ValueError as exc:
                raise ValueError(
                    f"the default dead-letter topic {name[:40]!r}... is no topic name "
                    f"({exc}): set dead_letter_topic, or a shorter request_topic"
                ) from None
        return self

    @property
    def dead_letter_topic_name(self) -> str | None:
        """The dead-letter topic in force, or None when dead letters are off."""
        if not self.dead_letters:
            return None
        return self.dead_letter_topic or f"{self.request_topic}.dead-letters"

    @property
    def group_id(self) -> str:
        """The consumer group in force: ``consumer_group_id`` or the per-agent default."""
        return self.consumer_group_id or f"a2a-server-{self.request_topic}"


def build_config(config_class: type[_C], **settings: Any) -> _C:
    """Build a config from keyword settings: the config's own fields, and kafka-python
    settings for every other key (merged into ``kafka``).

    Raises ConfigurationError, naming each refused setting, and TypeError when
    ``bootstrap_servers`` is not a str or a list of str (a config object or an agent card
    passed in its place, say).
    """
    if "bootstrap_servers" in settings:
        _check_servers_type(settings["bootstrap_servers"])
    fields = {k: v for k, v in settings.items() if k in config_class.model_fields}
    passthrough = {k: v for k, v in settings.items() if k not in config_class.model_fields}
    if passthrough:
        fields["kafka"] = {**fields.get("kafka", {}), **passthrough}
    try:
        return config_class(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: "
            + err["msg"].removeprefix("Value error, ")
            for err in exc.errors(include_url=False)
        )
        raise ConfigurationError(f"invalid {config_class.__name__}: {problems}") from exc


def _check_servers_type(value: Any) -> None:
    """Raise TypeError, saying what to write instead, unless ``value`` can be brokers."""
    if isinstance(value, str):
        return
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return
    hint = ""
    if isinstance(value, _CommonConfig):
        hint = f"; pass a {type(value).__name__} as config=..."
    elif isinstance(value, AgentCard):
        hint = "; pass an agent card as agent_card=..."
    raise TypeError(
        "bootstrap_servers must be a str ('host1:9092,host2:9092') or a list of str, "
        f"not {type(value).__name__}{hint}"
    )


def config_from(
    config_class: type[_C], config: _C | None, explicit: dict[str, Any], settings: dict[str, Any]
) -> _C:
    """The config a constructor was given: ``config`` itself, or one built (with
    :func:`build_config`) from its explicit arguments that are not None and ``settings``.

    Raises TypeError when both a config object and loose settings are passed, or when
    ``config`` is not a ``config_class``.
    """
    given = {key: value for key, value in explicit.items() if value is not None}
    if config is not None:
        if not isinstance(config, config_class):
            raise TypeError(
                f"config must be a {config_class.__name__}, not {type(config).__name__}"
            )
        if given or settings:
            raise TypeError("pass either config or individual settings, not both")
        return config
    return build_config(config_class, **given, **settings)
