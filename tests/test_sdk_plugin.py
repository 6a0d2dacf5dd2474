"""The a2a-sdk plugin, both ways, on a real broker, with whichever a2a-sdk line is installed.

tox runs this file twice: with a2a-sdk 0.3 (env ``sdk03``) and with a2a-sdk 1.x (env
``sdk1``). ``sdk`` below hides the differences of the two lines' types, so each test
says the same thing on both; the few that cannot are marked for their line.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
from helpers import wait_for

from a2a_kafka_sync import KafkaServerApp, Message, Task, TaskState
from a2a_kafka_sync.contrib.a2a_sdk import (
    A2ASdkHandler,
    client_factory,
    from_sdk_card,
    kafka_interface,
    sdk_line,
    to_sdk_card,
)
from a2a_kafka_sync.discovery import KAFKA_TRANSPORT, with_kafka_interface
from a2a_kafka_sync.errors import (
    InternalError,
    InvalidParamsError,
    RequestTimeoutError,
    TaskNotFoundError,
)
from a2a_kafka_sync.server import RequestContext
from a2a_kafka_sync.types import AgentCapabilities, AgentCard, TaskQueryParams

LINE = sdk_line()
LOOP_THREAD = "a2a-kafka-sdk-loop"
only_03 = pytest.mark.skipif(LINE != 0, reason="a2a-sdk 0.3 behaviour; a2a-sdk 1.x is installed")
only_1 = pytest.mark.skipif(LINE != 1, reason="a2a-sdk 1.x behaviour; a2a-sdk 0.3 is installed")

from a2a.client import ClientConfig  # noqa: E402
from a2a.server.agent_execution import AgentExecutor  # noqa: E402
from a2a.server.tasks import TaskUpdater  # noqa: E402

if LINE == 0:
    import a2a.types as pb
    from a2a.utils import new_agent_text_message, new_task
    from a2a.utils.errors import ServerError
else:
    from a2a.helpers.proto_helpers import new_task_from_user_message as new_task
    from a2a.helpers.proto_helpers import new_text_message
    from a2a.types import a2a_pb2 as pb


class sdk:
    """The few calls whose spelling differs between a2a-sdk 0.3 and 1.x."""

    @staticmethod
    def part(text: str) -> Any:
        return pb.Part(root=pb.TextPart(text=text)) if LINE == 0 else pb.Part(text=text)

    @staticmethod
    def text(parts: Any) -> str:
        return "".join(p.root.text if LINE == 0 else p.text for p in parts)

    @staticmethod
    def user_message(text: str) -> Any:
        role = pb.Role.user if LINE == 0 else pb.Role.ROLE_USER
        return pb.Message(role=role, parts=[sdk.part(text)], message_id=uuid.uuid4().hex)

    @staticmethod
    def agent_message(text: str, context: Any) -> Any:
        if LINE == 0:
            return new_agent_text_message(text, context.context_id, context.task_id)
        return new_text_message(text, context_id=context.context_id, task_id=context.task_id)

    @staticmethod
    def state(task: Any) -> str:
        if LINE == 0:
            return str(task.status.state.value).replace("-", "_")
        return str(pb.TaskState.Name(task.status.state)).removeprefix("TASK_STATE_").lower()

    @staticmethod
    def invalid_params(message: str) -> Exception:
        if LINE == 0:
            return ServerError(error=pb.InvalidParamsError(message=message))
        from a2a.utils.errors import InvalidParamsError as SdkInvalidParams

        return SdkInvalidParams(message)

    @staticmethod
    async def send(client: Any, text: str) -> list[tuple[str, Any]]:
        """Every event of ``client.send_message``, as (kind, object): message, task, status,
        artifact."""
        events: list[tuple[str, Any]] = []
        if LINE == 0:
            async for item in client.send_message(sdk.user_message(text)):
                if isinstance(item, pb.Message):
                    events.append(("message", item))
                else:
                    task, update = item
                    kind = "task" if update is None else update.kind.replace("-update", "")
                    # a copy: the client's task manager extends a first chunk's artifact
                    # in place as later chunks come
                    events.append((kind, (update or task).model_copy(deep=True)))
            return events
        request = pb.SendMessageRequest(message=sdk.user_message(text))
        async for response in client.send_message(request):
            kind = response.WhichOneof("payload").replace("_update", "")
            events.append((kind, getattr(response, response.WhichOneof("payload"))))
        return events

    @staticmethod
    async def get_task(client: Any, task_id: str) -> Any:
        if LINE == 0:
            return await client.get_task(pb.TaskQueryParams(id=task_id))
        return await client.get_task(pb.GetTaskRequest(id=task_id))

    @staticmethod
    async def cancel_task(client: Any, task_id: str) -> Any:
        if LINE == 0:
            return await client.cancel_task(pb.TaskIdParams(id=task_id))
        return await client.cancel_task(pb.CancelTaskRequest(id=task_id))

    @staticmethod
    def error_code(exc: BaseException) -> int:
        """The A2A code of an error an a2a-sdk client raised."""
        if LINE == 0:
            return int(exc.error.code)  # type: ignore[attr-defined]
        from a2a.utils.errors import JSON_RPC_ERROR_CODE_MAP

        return JSON_RPC_ERROR_CODE_MAP[type(exc)]


def config(**fields: Any) -> Any:
    """An a2a-sdk ClientConfig listing only Kafka, so the card's other interfaces are not used."""
    field = "supported_transports" if LINE == 0 else "supported_protocol_bindings"
    return ClientConfig(**{field: [KAFKA_TRANSPORT]}, **fields)


def sdk_card(broker_settings: dict[str, Any], topic: str, *, url: str = "") -> Any:
    card = AgentCard(name="echo", url=url, capabilities=AgentCapabilities(streaming=True))
    return to_sdk_card(with_kafka_interface(card, broker_settings["bootstrap_servers"], topic))


def client_settings(broker_settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in broker_settings.items() if v is not None and k != "bootstrap_servers"}


def _context(method: str) -> RequestContext:
    return RequestContext(
        correlation_id="c-1", method=method, params=None, streaming=False, reply_topic="r"
    )


# -- agents ----------------------------------------------------------------------------------------


def our_agent(message: Message, context: RequestContext) -> str | None:
    """This library's agent: echoes in a completed task; "wait" leaves the task waiting."""
    task = context.task
    task.start_work("on it")
    if message.text == "wait":
        task.requires_input("and then?")
        return None
    task.add_artifact(f"echo {message.text}", name="echo")
    return f"echo {message.text}"


class EchoExecutor(AgentExecutor):  # type: ignore[misc]
    """An a2a-sdk agent: "hello" gets a Message, "fail" and "boom" errors, "wait" a task left
    waiting, "hang" never answers, anything else a completed task with an artifact. Records
    the thread it runs on, and whether it was cancelled."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.cancelled = threading.Event()

    async def execute(self, context: Any, event_queue: Any) -> None:
        self.threads.append(threading.current_thread().name)
        text = context.get_user_input()
        if text == "fail":
            raise sdk.invalid_params("the executor refuses 'fail'")
        if text == "boom":
            raise RuntimeError("the executor broke")
        if text == "hang":
            try:
                await asyncio.Event().wait()  # until cancelled
            finally:
                self.cancelled.set()
        if text == "hello":
            await event_queue.enqueue_event(sdk.agent_message("echo hello", context))
            return
        task = context.current_task or new_task(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        await asyncio.sleep(0)  # a real await on the loop between two events
        if text == "wait":
            await updater.requires_input()
            return
        await updater.add_artifact([sdk.part(f"echo {text}")], name="echo")
        await updater.complete()

    async def cancel(self, context: Any, event_queue: Any) -> None:
        self.threads.append(threading.current_thread().name)
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


# -- the client side: an a2a-sdk Client over Kafka ------------------------------------------------


def test_a_card_listing_the_kafka_interface_gets_the_kafka_transport(broker_settings) -> None:
    card = sdk_card(broker_settings, "some-agent", url="https://agent.example/a2a")
    transport_module = "transport03" if LINE == 0 else "transport1"

    async def create() -> Any:
        client = client_factory(config()).create(card)
        transport = client._transport
        await client.close()
        return transport

    transport = asyncio.run(create())
    assert type(transport).__module__ == f"a2a_kafka_sync.contrib.a2a_sdk.{transport_module}"
    assert transport.bridge.client.config.request_topic == "some-agent"
    with pytest.raises(ValueError, match="no compatible transports"):
        client_factory(config()).create(to_sdk_card(AgentCard(name="http only", url="http://x")))


@pytest.mark.slow
def test_an_sdk_client_sends_streams_gets_and_cancels_over_kafka(serve, broker_settings, topic):
    serve(our_agent)
    card = sdk_card(broker_settings, topic)
    settings = client_settings(broker_settings)

    async def scenario() -> dict[str, Any]:
        unary = client_factory(config(streaming=False), **settings).create(card)
        streaming = client_factory(config(), **settings).create(card)
        try:
            seen: dict[str, Any] = {"one": await sdk.send(unary, "one")}
            seen["stream"] = await sdk.send(streaming, "two")
            task_id = seen["one"][-1][1].id
            seen["got"] = await sdk.get_task(unary, task_id)
            waiting = (await sdk.send(unary, "wait"))[-1][1]
            seen["waiting"] = waiting
            seen["canceled"] = await sdk.cancel_task(unary, waiting.id)
            seen["after"] = await sdk.get_task(unary, waiting.id)
            with pytest.raises(Exception) as caught:
                await sdk.get_task(unary, "no-such-task")
            seen["missing"] = caught.value
        finally:
            await unary.close()
            await streaming.close()
        return seen

    seen = asyncio.run(scenario())

    [(kind, task)] = seen["one"]
    assert kind == "task" and sdk.state(task) == "completed"
    assert sdk.text(task.artifacts[0].parts) == "echo one"
    kinds = [kind for kind, _ in seen["stream"]]
    assert kinds[0] == "task" and "artifact" in kinds and kinds[-1] == "status"
    assert sdk.state(seen["stream"][-1][1]) == "completed"
    assert seen["got"].id == task.id and sdk.state(seen["got"]) == "completed"
    assert sdk.state(seen["waiting"]) == "input_required"
    assert sdk.state(seen["canceled"]) == "canceled" and sdk.state(seen["after"]) == "canceled"
    assert sdk.error_code(seen["missing"]) == TaskNotFoundError.code
    assert isinstance(seen["missing"].__cause__, TaskNotFoundError)  # ours, kept as the cause


def words(message: Message, context: RequestContext) -> Any:
    """A generator agent: each word one piece of its streamed answer; "slow" pauses 2.5 s."""
    for word in message.text.split():
        if word == "slow":
            context.cancelled.wait(2.5)
        yield word


@pytest.mark.slow
def test_an_sdk_client_reads_a_generators_many_chunk_stream(serve, broker_settings, topic):
    # Before streams were A2A-shaped, a2a-sdk's client refused this one at its second event
    # ("received a streamed Message from server after first response").
    serve(words)
    card = sdk_card(broker_settings, topic)
    settings = client_settings(broker_settings)

    async def scenario() -> tuple[list[tuple[str, Any]], Any]:
        client = client_factory(config(), **settings).create(card)
        try:
            events = await sdk.send(client, "one two three")
            return events, await sdk.get_task(client, events[0][1].id)
        finally:
            await client.close()

    events, stored = asyncio.run(scenario())

    kinds = [kind for kind, _ in events]
    assert kinds == ["task", "status", "artifact", "artifact", "artifact", "artifact", "status"]
    chunks = [event for kind, event in events if kind == "artifact"]
    assert [sdk.text(c.artifact.parts) for c in chunks] == ["one", "two", "three", ""]
    assert [bool(c.append) for c in chunks] == [False, True, True, True]
    assert [bool(c.last_chunk) for c in chunks] == [False, False, False, True]
    assert len({c.artifact.artifact_id for c in chunks}) == 1
    assert sdk.state(events[1][1]) == "working" and sdk.state(events[-1][1]) == "completed"
    assert sdk.state(stored) == "completed"
    assert [sdk.text([p]) for p in stored.artifacts[0].parts] == ["one", "two", "three"]


@pytest.mark.slow
def test_an_sdk_client_reads_a_quiet_stream_kept_alive(serve, broker_settings, topic):
    serve(words, stream_keepalive=0.3)
    card = sdk_card(broker_settings, topic)
    settings = {**client_settings(broker_settings), "timeout": 1.0}  # < the 2.5 s pause

    async def scenario() -> list[tuple[str, Any]]:
        client = client_factory(config(), **settings).create(card)
        try:
            return await sdk.send(client, "before slow")
        finally:
            await client.close()

    events = asyncio.run(scenario())
    assert [kind for kind, _ in events] == ["task", "status", *["artifact"] * 3, "status"]
    assert [sdk.text(e.artifact.parts) for k, e in events if k == "artifact"] == [
        "before",
        "slow",
        "",
    ]


# -- the server side: an a2a-sdk AgentExecutor behind KafkaServerApp ---------------------------


@pytest.mark.slow
def test_an_sdk_executor_served_on_kafka_answers_our_client(serve, connect) -> None:
    executor = EchoExecutor()
    serve(A2ASdkHandler.for_executor(executor))
    client = connect()

    reply = client.send_message("hello")
    assert isinstance(reply, Message) and reply.text == "echo hello"

    task = client.send_message("unary")
    assert isinstance(task, Task) and task.status.state is TaskState.completed
    assert task.artifacts and task.artifacts[0].parts[0].text == "echo unary"

    with client.send_message_streaming("streamed") as stream:
        events = list(stream)
    assert isinstance(events[0], Task)
    assert events[-1].status.state is TaskState.completed
    assert any(getattr(e, "artifact", None) is not None for e in events)

    assert client.get_task(task.id).status.state is TaskState.completed
    waiting = client.send_message("wait")
    assert waiting.status.state is TaskState.input_required
    assert client.cancel_task(waiting.id).status.state is TaskState.canceled
    assert client.get_task(waiting.id).status.state is TaskState.canceled

    assert executor.threads and set(executor.threads) == {LOOP_THREAD}


@pytest.mark.slow
def test_errors_from_the_executor_arrive_as_a2a_errors(serve, connect) -> None:
    serve(A2ASdkHandler.for_executor(EchoExecutor()))
    client = connect()

    with pytest.raises(InvalidParamsError, match="refuses 'fail'") as caught:
        client.send_message("fail")
    assert caught.value.code == -32602
    with pytest.raises(TaskNotFoundError):
        client.get_task("no-such-task")
    with pytest.raises(InternalError):
        client.send_message("boom")


def test_the_loop_thread_runs_with_the_app_and_stops_with_it(broker_settings, topic) -> None:
    handler = A2ASdkHandler.for_executor(EchoExecutor())
    with pytest.raises(InternalError, match="not running"):
        handler.on_get_task(TaskQueryParams(id="t"), _context("task_get"))
    app = KafkaServerApp(handler, request_topic=topic, **broker_settings)

    app.start()
    thread = handler.loop.thread
    assert thread is not None and thread.name == LOOP_THREAD and thread.is_alive()
    app.stop(timeout=5)

    assert not thread.is_alive()
    assert [t.name for t in threading.enumerate() if t.name == LOOP_THREAD] == []
    with pytest.raises(Exception, match="cannot be started again"):
        handler.start()


@pytest.mark.slow
def test_a_hanging_executor_times_the_caller_out_and_is_cancelled_when_the_app_stops(
    broker_settings, topic, connect
) -> None:
    executor = EchoExecutor()
    handler = A2ASdkHandler.for_executor(executor)
    with KafkaServerApp(handler, request_topic=topic, **broker_settings) as app:
        assert app.wait_until_assigned(30)
        with pytest.raises(RequestTimeoutError):
            connect().send_message("hang", timeout=1.0)
        assert connect().send_message("hello").text == "echo hello"  # the loop is not stuck

    assert executor.cancelled.wait(10), "the executor was never cancelled"
    assert handler.loop.thread is not None and not handler.loop.thread.is_alive()


@pytest.mark.slow
def test_a_hanging_streaming_executor_is_cancelled_at_handler_timeout(serve, connect) -> None:
    executor = EchoExecutor()
    app = serve(A2ASdkHandler.for_executor(executor), handler_timeout=1, max_workers=1)
    client = connect()

    with pytest.raises(InternalError), client.send_message_streaming("hang") as stream:
        list(stream)

    assert executor.cancelled.wait(10), "the executor was never cancelled"
    assert wait_for(lambda: app._dispatcher._watchdog.stuck == 0, 10), "its worker is still held"
    with client.send_message_streaming("after") as stream:
        assert list(stream)[-1].status.state is TaskState.completed
    assert client.send_message("hello").text == "echo hello"

    executor.cancelled.clear()  # a unary call too (its caller would wait 30 s)
    with pytest.raises(InternalError):
        client.send_message("hang")
    assert executor.cancelled.wait(10), "the unary call's executor was never cancelled"
    assert wait_for(lambda: app._dispatcher._watchdog.stuck == 0, 10)


@pytest.mark.slow
def test_an_sdk_client_reaches_an_sdk_agent_through_kafka(serve, broker_settings, topic) -> None:
    executor = EchoExecutor()
    serve(A2ASdkHandler.for_executor(executor))
    card = sdk_card(broker_settings, topic)

    async def scenario() -> list[tuple[str, Any]]:
        client = client_factory(config(), **client_settings(broker_settings)).create(card)
        try:
            return await sdk.send(client, "end to end")
        finally:
            await client.close()

    events = asyncio.run(scenario())
    assert events[-1][0] == "status" and sdk.state(events[-1][1]) == "completed"
    artifacts = [e for kind, e in events if kind == "artifact"]
    assert artifacts and sdk.text(artifacts[0].artifact.parts) == "echo end to end"
    assert set(executor.threads) == {LOOP_THREAD}


# -- conversions at the edge ---------------------------------------------------------------------


def test_a_card_keeps_its_kafka_interface_through_the_sdk() -> None:
    ours = with_kafka_interface(AgentCard(name="a", url="http://a"), "localhost:9092", "agent-a")
    back = from_sdk_card(to_sdk_card(ours))
    assert back.name == "a" and back.url == "http://a"
    assert [(i.transport, i.url) for i in back.additional_interfaces or []] == [
        (KAFKA_TRANSPORT, "kafka://localhost:9092/agent-a")
    ]


def test_kafka_interface_is_the_sdks_interface_of_the_installed_line() -> None:
    interface = kafka_interface("localhost:9092", "agent-a")
    assert interface.url == "kafka://localhost:9092/agent-a"
    label = interface.transport if LINE == 0 else interface.protocol_binding
    assert label == KAFKA_TRANSPORT


@only_03
def test_on_03_an_agent_error_is_an_a2a_client_jsonrpc_error() -> None:
    from a2a.client.errors import A2AClientJSONRPCError, A2AClientTimeoutError

    from a2a_kafka_sync.contrib.a2a_sdk.convert import sdk_client_error
    from a2a_kafka_sync.errors import RequestTimeoutError

    error = sdk_client_error(TaskNotFoundError("gone", correlation_id="c-1"))
    assert isinstance(error, A2AClientJSONRPCError) and error.error.code == -32001
    assert isinstance(sdk_client_error(RequestTimeoutError("slow")), A2AClientTimeoutError)


@only_1
def test_on_1_an_agent_error_is_the_sdk_error_class_of_its_code() -> None:
    from a2a.client.errors import A2AClientTimeoutError
    from a2a.utils.errors import TaskNotFoundError as SdkTaskNotFound

    from a2a_kafka_sync.contrib.a2a_sdk.convert import sdk_client_error
    from a2a_kafka_sync.errors import RequestTimeoutError

    error = sdk_client_error(TaskNotFoundError("gone"))
    assert isinstance(error, SdkTaskNotFound) and error.message == "gone"
    assert isinstance(sdk_client_error(RequestTimeoutError("slow")), A2AClientTimeoutError)


def test_the_v0_3_interop_converts_both_ways_on_either_line() -> None:
    """types.sdk's to_a2a_sdk / from_a2a_sdk: a2a-sdk 0.3's own models, or under a2a-sdk
    1.x (whose a2a.types are protobuf) its v0.3 models in a2a.compat.v0_3.types."""
    from pydantic import BaseModel

    from a2a_kafka_sync.types.sdk import from_a2a_sdk, to_a2a_sdk

    ours = Message.user_text("hello", context_id="c-1")
    theirs = to_a2a_sdk(ours)
    assert isinstance(theirs, BaseModel)
    expected = "a2a.types" if LINE == 0 else "a2a.compat.v0_3.types"
    assert type(theirs).__module__ == expected
    assert from_a2a_sdk(theirs) == ours


# -- a2a-sdk 1.x: v1.0 end to end (tenant, paging, credentials, service parameters) -------------


class Recorder:
    """Our agent, keeping the context of every request it handles."""

    def __init__(self) -> None:
        self.contexts: list[RequestContext] = []

    def __call__(self, message: Message, context: RequestContext) -> str | None:
        self.contexts.append(context)
        return our_agent(message, context)


def run_1(broker_settings: dict[str, Any], topic: str, calls: Any, **options: Any) -> Any:
    """``calls(client)`` with an a2a-sdk 1.x client (non-streaming unless ``streaming``) of the
    agent on ``topic``; ``card`` and ``interceptors`` go to the factory's ``create``."""
    card = options.pop("card", None) or sdk_card(broker_settings, topic)
    interceptors = options.pop("interceptors", None)

    async def scenario() -> Any:
        factory = client_factory(config(**options), **client_settings(broker_settings))
        client = factory.create(card, interceptors=interceptors)
        try:
            return await calls(client)
        finally:
            await client.close()

    return asyncio.run(scenario())


@pytest.mark.slow
@only_1
def test_on_1_the_tenant_of_a_request_reaches_the_agent(serve, broker_settings, topic) -> None:
    # Through a2a-sdk's v0.3 compat layer (the transport before), the tenant was dropped.
    from a2a_kafka_sync.v1._json import extra

    agent = Recorder()
    serve(agent)

    async def calls(client: Any) -> Any:
        request = pb.SendMessageRequest(message=sdk.user_message("one"), tenant="acme")
        [response] = [r async for r in client.send_message(request)]
        task = response.task
        streamed = [
            r
            async for r in client.send_message(
                pb.SendMessageRequest(message=sdk.user_message("two"), tenant="acme-streaming")
            )
        ]
        got = await client.get_task(pb.GetTaskRequest(id=task.id, tenant="acme", history_length=1))
        return task, streamed, got

    task, streamed, got = run_1(broker_settings, topic, calls, streaming=False)
    assert sdk.state(task) == "completed" and got.id == task.id and len(got.history) == 1
    assert [extra(c.params, "tenant") for c in agent.contexts] == ["acme", "acme-streaming"]
    assert [c.method for c in agent.contexts] == ["message_send", "message_send"]
    assert sdk.state(streamed[-1].task) == "completed"

    streamed = run_1(
        broker_settings,
        topic,
        lambda client: _collect(
            client.send_message(
                pb.SendMessageRequest(message=sdk.user_message("three"), tenant="acme-s")
            )
        ),
    )
    assert agent.contexts[-1].streaming and extra(agent.contexts[-1].params, "tenant") == "acme-s"
    kinds = [r.WhichOneof("payload") for r in streamed]
    assert kinds[0] == "task" and "artifact_update" in kinds and kinds[-1] == "status_update"
    assert sdk.state(streamed[-1].status_update) == "completed"


async def _collect(responses: Any) -> list[Any]:
    return [r async for r in responses]


@pytest.mark.slow
@only_1
def test_on_1_list_tasks_pages_with_page_size_and_token(serve, broker_settings, topic) -> None:
    # Through the compat layer, ListTasks had no paging: every task in one response.
    serve(our_agent)
    context_id = uuid.uuid4().hex

    async def calls(client: Any) -> Any:
        sent = []
        for text in ("a", "b", "c"):
            message = sdk.user_message(text)
            message.context_id = context_id
            [response] = await _collect(client.send_message(pb.SendMessageRequest(message=message)))
            sent.append(response.task.id)
        first = await client.list_tasks(pb.ListTasksRequest(context_id=context_id, page_size=2))
        second = await client.list_tasks(
            pb.ListTasksRequest(
                context_id=context_id, page_size=2, page_token=first.next_page_token
            )
        )
        return sent, first, second

    sent, first, second = run_1(broker_settings, topic, calls, streaming=False)
    assert len(first.tasks) == 2 and first.next_page_token and first.page_size == 2
    assert first.total_size == 3
    assert len(second.tasks) == 1 and second.next_page_token == ""
    assert sorted(t.id for t in [*first.tasks, *second.tasks]) == sorted(sent)


@pytest.mark.slow
@only_1
def test_on_1_the_auth_interceptors_bearer_token_is_the_calls_credentials(
    serve, broker_settings, topic
) -> None:
    from a2a.client.auth import AuthInterceptor
    from a2a.client.auth.credentials import CredentialService
    from a2a.client.errors import A2AClientError

    from a2a_kafka_sync.auth import bearer_authenticator
    from a2a_kafka_sync.errors import UnauthenticatedError

    agent = Recorder()
    serve(agent, authenticator=bearer_authenticator({"s3cret": "alice"}.get))
    card = sdk_card(broker_settings, topic)
    card.security_schemes["bearer"].http_auth_security_scheme.scheme = "Bearer"
    card.security_requirements.add().schemes["bearer"].list.append("")

    class Token(CredentialService):  # type: ignore[misc]
        def __init__(self, token: str | None) -> None:
            self.token = token

        async def get_credentials(self, scheme_name: str, context: Any) -> str | None:
            return self.token

    async def send(client: Any) -> Any:
        return await _collect(
            client.send_message(pb.SendMessageRequest(message=sdk.user_message("x")))
        )

    [response] = run_1(
        broker_settings,
        topic,
        send,
        card=card,
        interceptors=[AuthInterceptor(Token("s3cret"))],
        streaming=False,
    )
    assert sdk.state(response.task) == "completed"
    principal = agent.contexts[0].principal
    assert principal is not None and principal.name == "alice"

    for interceptors in ([AuthInterceptor(Token("wrong"))], None):
        with pytest.raises(A2AClientError, match="-32040") as caught:
            run_1(
                broker_settings, topic, send, card=card, interceptors=interceptors, streaming=False
            )
        assert isinstance(caught.value.__cause__, UnauthenticatedError)
    assert len(agent.contexts) == 1  # the refused calls never reached the agent


@pytest.mark.slow
@only_1
def test_on_1_the_a2a_extensions_service_parameter_reaches_the_agent(
    serve, broker_settings, topic
) -> None:
    from a2a.client import ClientCallContext
    from a2a.client.service_parameters import ServiceParametersFactory, with_a2a_extensions

    agent = Recorder()
    serve(agent)
    uris = ["https://ext.example/b", "https://ext.example/a"]
    parameters = ServiceParametersFactory.create([with_a2a_extensions(uris)])

    async def calls(client: Any) -> Any:
        context = ClientCallContext(service_parameters=parameters)
        request = pb.SendMessageRequest(message=sdk.user_message("x"))
        await _collect(client.send_message(request, context=context))
        await _collect(client.send_message(pb.SendMessageRequest(message=sdk.user_message("y"))))

    run_1(broker_settings, topic, calls, streaming=False)
    assert [c.extensions for c in agent.contexts] == [tuple(sorted(uris)), ()]


def test_call_options_read_an_sdk_call_contexts_service_parameters() -> None:
    if LINE != 1:
        pytest.skip("a2a-sdk 1.x behaviour; a2a-sdk 0.3 is installed")
    from a2a.client import ClientCallContext

    from a2a_kafka_sync.client.timeouts import USE_CLIENT_DEFAULT
    from a2a_kafka_sync.contrib.a2a_sdk.transport1 import call_options

    assert call_options(None) == {
        "timeout": USE_CLIENT_DEFAULT,
        "credentials": USE_CLIENT_DEFAULT,
        "extensions": [],
    }
    context = ClientCallContext(
        timeout=2,
        service_parameters={"authorization": "Bearer t", "A2A-Extensions": "u1, u2", "X-Y": "z"},
    )
    assert call_options(context) == {
        "timeout": 2.0,
        "credentials": "Bearer t",
        "extensions": ["u1", "u2"],
    }
    api_key = ClientCallContext(service_parameters={"X-API-Key": "k"})
    assert call_options(api_key)["credentials"] is USE_CLIENT_DEFAULT
    assert call_options(api_key, ["x-api-key"])["credentials"] == "k"


def test_a_result_that_is_not_its_response_type_is_an_a2a_client_error() -> None:
    if LINE != 1:
        pytest.skip("a2a-sdk 1.x behaviour; a2a-sdk 0.3 is installed")
    from a2a.client.errors import A2AClientError

    from a2a_kafka_sync.contrib.a2a_sdk.transport1 import parse_result

    task = parse_result({"id": "t-1", "status": {"state": "TASK_STATE_WORKING"}}, pb.Task)
    assert task.id == "t-1" and sdk.state(task) == "working"
    assert parse_result(None, pb.ListTasksResponse) == pb.ListTasksResponse()
    with pytest.raises(A2AClientError, match="not a Task"):
        parse_result({"id": "t-1", "notAField": 1}, pb.Task)


@pytest.mark.slow
@only_1
def test_on_1_push_configs_and_the_extended_card_travel_as_v1(serve, broker_settings, topic):
    # Coverage of the transport's other methods as v1.0 raw calls (the compat layer's
    # transport passed this too): each result parses as its response type, Empty included.
    extended = AgentCard(name="echo (extended)", url="", capabilities=AgentCapabilities())
    serve(our_agent, extended_agent_card=extended)

    async def calls(client: Any) -> Any:
        [response] = await _collect(
            client.send_message(pb.SendMessageRequest(message=sdk.user_message("wait")))
        )
        task_id = response.task.id
        config = pb.TaskPushNotificationConfig(
            task_id=task_id,
            id="p-1",
            url="https://hooks.example.com/a2a",
            token="tok",
            authentication=pb.AuthenticationInfo(scheme="Bearer", credentials="c"),
        )
        created = await client.create_task_push_notification_config(config)
        got = await client.get_task_push_notification_config(
            pb.GetTaskPushNotificationConfigRequest(task_id=task_id, id="p-1")
        )
        listed = await client.list_task_push_notification_configs(
            pb.ListTaskPushNotificationConfigsRequest(task_id=task_id)
        )
        await client.delete_task_push_notification_config(
            pb.DeleteTaskPushNotificationConfigRequest(task_id=task_id, id="p-1")
        )
        after = await client.list_task_push_notification_configs(
            pb.ListTaskPushNotificationConfigsRequest(task_id=task_id)
        )
        card = await client.get_extended_agent_card(pb.GetExtendedAgentCardRequest())
        return config, created, got, listed, after, card

    config, created, got, listed, after, card = run_1(
        broker_settings, topic, calls, streaming=False
    )
    assert created == config and got == config
    assert list(listed.configs) == [config] and list(after.configs) == []
    assert card.name == "echo (extended)"
