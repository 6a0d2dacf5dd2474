"""The first constructor call works, and a wrong argument is refused at once with a
TypeError that says what to write, never an AttributeError deep inside (no broker)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from typing import Any

import pytest

from a2a_kafka_sync import (
    A2AKafkaClient,
    AgentCard,
    AgentDirectory,
    ClientConfig,
    DefaultRequestHandler,
    FunctionHandler,
    InMemoryTaskEventLog,
    InMemoryTaskStore,
    KafkaClientTransport,
    KafkaServerApp,
    Message,
    RequestContext,
    RequestHandler,
    ServerConfig,
)
from a2a_kafka_sync.admin import delete_stale_reply_topics, find_stale_reply_topics
from a2a_kafka_sync.server.push import PushNotifier
from a2a_kafka_sync.server.tasks import (
    KafkaTaskEventLog,
    KafkaTaskStore,
    KafkaTaskStoreConfig,
    SQLiteTaskStore,
)

# -- the client ----------------------------------------------------------------------------------


def test_the_brokers_as_the_first_argument_are_taken_as_bootstrap_servers() -> None:
    client = KafkaClientTransport("localhost:9092", request_topic="x")

    assert client.config.bootstrap_servers == ["localhost:9092"]
    assert client.config.request_topic == "x"
    assert client.agent_card.name == "x"  # the default card, not the brokers


def test_a_list_of_brokers_as_the_first_argument_is_taken_too() -> None:
    client = KafkaClientTransport(["a:9092", "b:9092"], request_topic="x")
    assert client.config.bootstrap_servers == ["a:9092", "b:9092"]


def test_the_agent_card_in_the_first_slot_still_works_as_in_the_seed() -> None:
    card = AgentCard(name="weather")
    client = KafkaClientTransport(card, "localhost:9092", "weather-requests")

    assert client.agent_card is card
    assert client.config.bootstrap_servers == ["localhost:9092"]
    assert client.config.request_topic == "weather-requests"


def test_brokers_in_both_first_slots_are_refused_naming_what_to_write() -> None:
    with pytest.raises(TypeError) as caught:
        KafkaClientTransport("localhost:9092", "my-agent")

    message = str(caught.value)
    assert "first positional argument is the agent card" in message
    assert "'localhost:9092'" in message and "'my-agent'" in message
    assert "KafkaClientTransport(bootstrap_servers=..., request_topic=...)" in message


@pytest.mark.parametrize("first", [42, {"name": "weather"}, b"localhost:9092", [1, 2]])
def test_anything_else_in_the_card_slot_is_a_type_error_naming_its_type(first: Any) -> None:
    with pytest.raises(TypeError, match=f"agent card .*not {type(first).__name__}"):
        KafkaClientTransport(first, request_topic="x")


def test_a_config_in_the_card_slot_is_told_to_go_to_config() -> None:
    with pytest.raises(TypeError, match=r"KafkaClientTransport\(config=config\)"):
        KafkaClientTransport(ClientConfig())


def test_a_config_of_the_wrong_class_is_refused() -> None:
    with pytest.raises(TypeError, match="config must be a ClientConfig, not ServerConfig"):
        KafkaClientTransport(config=ServerConfig())  # type: ignore[arg-type]


def test_a2a_kafka_client_is_the_same_class_exported_from_the_package() -> None:
    import a2a_kafka_sync
    import a2a_kafka_sync.client

    assert A2AKafkaClient is KafkaClientTransport
    assert a2a_kafka_sync.client.A2AKafkaClient is KafkaClientTransport
    assert "A2AKafkaClient" in a2a_kafka_sync.__all__
    client = A2AKafkaClient(bootstrap_servers="localhost:9092", request_topic="x")
    assert isinstance(client, KafkaClientTransport)


# -- the other constructors that take bootstrap_servers ------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda first: AgentDirectory(first), id="AgentDirectory"),
        pytest.param(lambda first: KafkaTaskStore(first), id="KafkaTaskStore"),
        pytest.param(lambda first: KafkaTaskEventLog(first), id="KafkaTaskEventLog"),
        pytest.param(lambda first: find_stale_reply_topics(first), id="find_stale_reply_topics"),
        pytest.param(
            lambda first: delete_stale_reply_topics(first, dry_run=True),
            id="delete_stale_reply_topics",
        ),
        pytest.param(lambda first: KafkaServerApp(lambda m: "x", first), id="KafkaServerApp"),
    ],
)
@pytest.mark.parametrize("first", [42, ClientConfig(), AgentCard(name="weather")])
def test_brokers_of_the_wrong_type_are_a_type_error_before_any_connection(
    build: Any, first: Any
) -> None:
    with pytest.raises(TypeError, match=r"bootstrap_servers must be a str .* or a list of str"):
        build(first)


def test_a_config_passed_positionally_is_told_to_go_to_config() -> None:
    with pytest.raises(TypeError, match=r"pass a KafkaTaskStoreConfig as config=\.\.\."):
        KafkaTaskStore(KafkaTaskStoreConfig())  # type: ignore[arg-type]


def test_a_task_store_config_of_the_wrong_class_is_refused() -> None:
    with pytest.raises(TypeError, match="config must be a KafkaTaskStoreConfig, not ClientConfig"):
        KafkaTaskStore(config=ClientConfig())  # type: ignore[arg-type]


def test_the_push_notifier_wants_a_producer() -> None:
    with pytest.raises(TypeError, match=r"the KafkaProducer .* not str"):
        PushNotifier("localhost:9092")  # type: ignore[arg-type]


def test_the_event_log_bounds_must_be_ints() -> None:
    with pytest.raises(TypeError, match="max_events_per_task must be an int, not str"):
        InMemoryTaskEventLog("1000")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        InMemoryTaskEventLog(0)


def test_the_sqlite_store_wants_a_path() -> None:
    with pytest.raises(TypeError):
        SQLiteTaskStore(42)  # type: ignore[arg-type]


# -- the server's arguments ----------------------------------------------------------------------


def test_the_brokers_in_the_handlers_slot_are_refused_naming_what_to_write() -> None:
    with pytest.raises(TypeError) as caught:
        KafkaServerApp("localhost:9092", request_topic="x")  # type: ignore[arg-type]
    message = str(caught.value)
    assert "first argument is the handler" in message and "'localhost:9092'" in message
    assert "KafkaServerApp(handler, bootstrap_servers=..., request_topic=...)" in message


def test_an_agent_card_that_is_not_one_is_refused() -> None:
    with pytest.raises(TypeError, match="agent_card must be an AgentCard, not str"):
        KafkaServerApp(lambda m: "x", agent_card="weather")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="extended_agent_card must be an AgentCard, not dict"):
        KafkaServerApp(lambda m: "x", extended_agent_card={})  # type: ignore[arg-type]


def test_a_task_store_class_or_a_non_store_is_refused() -> None:
    with pytest.raises(TypeError, match=r"the class InMemoryTaskStore, .* InMemoryTaskStore\("):
        KafkaServerApp(lambda m: "x", task_store=InMemoryTaskStore)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"task_store must be a TaskStore .* not dict"):
        KafkaServerApp(lambda m: "x", task_store={})  # type: ignore[arg-type]


def test_an_event_log_that_is_not_one_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"event_log must be .* not the class InMemoryTaskEventLog"):
        KafkaServerApp(lambda m: "x", event_log=InMemoryTaskEventLog)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not 'postgres'"):
        KafkaServerApp(lambda m: "x", event_log="postgres")


# -- handlers: the shapes that work, and the ones refused when the app is built -----------------


def one_arg(message: Message) -> str:
    return "ok"


def two_args(message: Message, context: RequestContext) -> str:
    return "ok"


def context_optional(message: Message, context: RequestContext | None = None) -> str:
    return "ok"


def variadic(*args: Any) -> str:
    return "ok"


def generator(message: Message) -> Iterator[str]:
    yield "ok"


def generator_with_context(message: Message, context: RequestContext) -> Iterator[str]:
    yield "ok"


class CallableObject:
    def __call__(self, message: Message) -> str:
        return "ok"


class Agent(RequestHandler):
    def on_message_send(self, params: Any, context: RequestContext) -> Any:
        return Message.agent_text("ok")


class DuckAgent:  # not a RequestHandler subclass: a handler object all the same
    def on_message_send_stream(self, params: Any, context: RequestContext) -> Iterator[Any]:
        yield Message.agent_text("ok")


@pytest.mark.parametrize(
    "handler",
    [
        one_arg,
        two_args,
        context_optional,
        variadic,
        generator,
        generator_with_context,
        lambda message: "ok",
        CallableObject(),
        functools.partial(two_args),
        str.upper,  # a builtin method: taken on trust
        Agent(),
        DuckAgent(),
    ],
    ids=lambda h: getattr(h, "__name__", type(h).__name__),
)
def test_every_supported_handler_shape_is_accepted(handler: Any) -> None:
    app = KafkaServerApp(handler, request_topic="x")
    if isinstance(handler, (Agent, DuckAgent)):
        assert app.handler is handler
    else:
        assert isinstance(app.handler, DefaultRequestHandler)


async def async_agent(message: Message) -> str:
    return "ok"


async def async_generator(message: Message) -> Any:
    yield "ok"


def three_args(message: Message, context: RequestContext, extra: Any) -> str:
    return "ok"


def no_args() -> str:
    return "ok"


def keyword_only(message: Message, *, user: str) -> str:
    return "ok"


class AsyncCallable:
    async def __call__(self, message: Message) -> str:
        return "ok"


class AsyncAgent(RequestHandler):
    async def on_message_send(self, params: Any, context: RequestContext) -> Any:  # type: ignore[override]
        return Message.agent_text("ok")


class AsyncStreamAgent(RequestHandler):
    async def on_message_send_stream(self, params: Any, context: RequestContext) -> Any:  # type: ignore[override]
        yield Message.agent_text("ok")


class BrokenAgent(RequestHandler):
    on_get_task = "not a method"  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (async_agent, r"the handler async_agent is async \(async def\)"),
        (async_generator, r"the handler async_generator is async"),
        (AsyncCallable(), r"is async \(async def\)"),
        (functools.partial(async_agent), r"is async"),
        (three_args, r"three_args needs 3 arguments \(message, context, extra\)"),
        (no_args, r"no_args takes no argument"),
        (keyword_only, r"keyword-only argument\(s\) user"),
        (Agent, r"the class Agent, not an instance of it: pass Agent\(\)"),
        (AsyncAgent(), r"AsyncAgent.on_message_send is async"),
        (AsyncStreamAgent(), r"AsyncStreamAgent.on_message_send_stream is async"),
        (BrokenAgent(), r"BrokenAgent.on_get_task is a str, not a method"),
        (42, r"the handler must be a function .* not int"),
        (None, r"the handler must be a function .* not NoneType"),
    ],
    ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", type(v).__name__),
)
def test_a_bad_handler_is_refused_when_the_app_is_built(handler: Any, expected: str) -> None:
    with pytest.raises(TypeError, match=expected):
        KafkaServerApp(handler, request_topic="x")


def test_a_coroutine_is_refused_and_closed_without_a_never_awaited_warning(
    recwarn: pytest.WarningsRecorder,
) -> None:
    coroutine = async_agent(Message.user_text("hi"))

    with pytest.raises(TypeError, match="the handler is a coroutine"):
        KafkaServerApp(coroutine, request_topic="x")  # type: ignore[arg-type]

    assert coroutine.cr_frame is None  # closed
    assert not [w for w in recwarn if "never awaited" in str(w.message)]


def test_the_adapters_refuse_bad_functions_the_same_way() -> None:
    with pytest.raises(TypeError, match="is async"):
        FunctionHandler(async_agent)
    with pytest.raises(TypeError, match="needs 3 arguments"):
        DefaultRequestHandler(three_args)
    with pytest.raises(TypeError, match="handler object"):
        FunctionHandler(Agent())  # type: ignore[arg-type]
    assert asyncio.iscoroutinefunction(async_agent)  # the case above really was async
