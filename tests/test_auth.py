"""Caller authentication, per-principal task isolation, and secrets kept out of sight."""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from helpers import UNSERVED

from a2a_kafka_sync import KafkaServerApp
from a2a_kafka_sync.auth import (
    Principal,
    api_key_authenticator,
    bearer_authenticator,
    bearer_credentials,
    first_of,
)
from a2a_kafka_sync.client.tasks import push_config
from a2a_kafka_sync.config import ClientConfig
from a2a_kafka_sync.errors import (
    AuthenticatedExtendedCardNotConfiguredError,
    ConfigurationError,
    ForbiddenError,
    InvalidRequestError,
    TaskNotFoundError,
    UnauthenticatedError,
)
from a2a_kafka_sync.interfaces import KAFKA_BINDING, KAFKA_TRANSPORT, kafka_endpoint, kafka_url
from a2a_kafka_sync.server.context import RequestContext
from a2a_kafka_sync.server.tasks import InMemoryTaskStore, KafkaTaskStore, TaskStore
from a2a_kafka_sync.server.tasks.sqlite_store import SQLiteTaskStore
from a2a_kafka_sync.types import AgentCard, Message, Task, TaskState
from a2a_kafka_sync.wire import RequestHeaders, read_request_headers

SECRET_A = "key-alice-5f0c9e"
SECRET_B = "key-bob-93a1d7"
KEYS = api_key_authenticator({SECRET_A: "alice", SECRET_B: "bob"})
NO_HEADERS = RequestHeaders()


class Seen:
    """A handler that records who called it, and counts its calls."""

    def __init__(self) -> None:
        self.principals: list[Principal | None] = []
        self.lock = threading.Lock()

    def __call__(self, message: Message, context: RequestContext) -> str:
        with self.lock:
            self.principals.append(context.principal)
        who = context.principal.name if context.principal else "anonymous"
        return f"hello {who}"

    @property
    def calls(self) -> int:
        return len(self.principals)


# -- authenticators, without a broker ------------------------------------------------------------


def test_the_api_key_table_finds_each_key_and_nothing_else() -> None:
    assert KEYS(SECRET_A, NO_HEADERS) == Principal("alice", "apiKey")
    assert KEYS(SECRET_B, NO_HEADERS) == Principal("bob", "apiKey")
    assert KEYS("key-mallory", NO_HEADERS) is None
    assert KEYS(None, NO_HEADERS) is None
    assert KEYS("", NO_HEADERS) is None


def test_a_bearer_authenticator_reads_the_token_and_takes_principals_names_or_claims() -> None:
    tokens: dict[str, Any] = {
        "t-1": Principal("svc", "oauth"),
        "t-2": "carol",
        "t-3": {"sub": "dave", "scope": "read"},
        "t-4": {"scope": "no subject"},
    }
    auth = bearer_authenticator(tokens.get)
    assert auth("Bearer t-1", NO_HEADERS) == Principal("svc", "oauth")
    assert auth("bearer   t-2", NO_HEADERS) == Principal("carol", "bearer")
    dave = auth("Bearer t-3", NO_HEADERS)
    assert dave is not None and dave.name == "dave" and dave.claims["scope"] == "read"
    assert auth("Bearer t-4", NO_HEADERS) is None  # claims without a subject name nobody
    assert auth("Bearer unknown", NO_HEADERS) is None
    assert auth("t-2", NO_HEADERS) is None  # not a bearer credential: verify is not asked
    assert auth(None, NO_HEADERS) is None


def test_first_of_tries_each_authenticator_in_turn() -> None:
    either = first_of(bearer_authenticator({"tok": "erin"}.get), KEYS)
    assert either("Bearer tok", NO_HEADERS) == Principal("erin", "bearer")
    assert either(SECRET_A, NO_HEADERS) == Principal("alice", "apiKey")
    assert either("Bearer nope", NO_HEADERS) is None


def test_bearer_credentials_wrap_a_token_or_a_token_provider() -> None:
    assert bearer_credentials("abc") == "Bearer abc"
    provider = bearer_credentials(lambda: "fresh")
    assert callable(provider) and provider() == "Bearer fresh"


def test_a_principal_needs_a_name_and_keeps_its_claims_out_of_its_repr() -> None:
    with pytest.raises(ValueError):
        Principal("")
    principal = Principal("alice", "bearer", {"token_hint": "s3cr3t"})
    assert "s3cr3t" not in repr(principal) and "alice" in repr(principal)


def test_secrets_are_absent_from_the_reprs_of_config_client_headers_and_context() -> None:
    from a2a_kafka_sync import KafkaClientTransport

    config = ClientConfig(credentials=SECRET_A)
    assert SECRET_A not in repr(config) and SECRET_A not in str(config.model_dump())
    client = KafkaClientTransport(credentials=SECRET_A)
    assert SECRET_A not in repr(client) and SECRET_A not in repr(client.config)
    headers, error = read_request_headers(
        [("correlation_id", b"c"), ("reply_topic", b"a2a-reply-x"), ("authorization", b"k")]
    )
    assert error is None and headers.authorization == "k"
    assert "authorization" not in repr(headers)
    tagged = RequestHeaders(correlation_id="c", reply_topic="r", authorization=SECRET_A)
    assert SECRET_A not in repr(tagged)
    context = RequestContext("c", "message_send", None, False, "r", principal=Principal("alice"))
    assert SECRET_A not in repr(context) and "alice" in repr(context)


def test_the_server_refuses_a_store_that_cannot_keep_owners_when_it_authenticates() -> None:
    class Forgetful(InMemoryTaskStore):
        pass

    class NoOwners(TaskStore):  # a user's store written before owners existed
        save = get = delete = list_tasks = InMemoryTaskStore.save  # type: ignore[assignment]
        set_push_config = get_push_configs = delete_push_config = InMemoryTaskStore.save  # type: ignore[assignment]

    assert Forgetful().records_owners
    assert not NoOwners().records_owners
    with pytest.raises(ConfigurationError, match="task owners"):
        KafkaServerApp(lambda m: "x", task_store=NoOwners(), authenticator=KEYS)
    KafkaServerApp(lambda m: "x", task_store=NoOwners())  # without authentication: as before


def test_sqlite_task_owners_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    store = SQLiteTaskStore(path)
    store.set_owner("t-1", "alice")
    store.save(Task(id="t-1", context_id="c", status={"state": "working"}))
    store.save(Task(id="t-2", context_id="c", status={"state": "working"}))
    store.close()
    again = SQLiteTaskStore(path)
    assert again.get_owner("t-1") == "alice" and again.get_owner("t-2") is None
    assert [t.id for t in again.list_visible("bob")] == ["t-2"]
    assert [t.id for t in again.list_visible("alice")] == ["t-1", "t-2"]
    assert [t.id for t in again.list_visible(None)] == ["t-2"]
    again.delete("t-1")
    assert again.get_owner("t-1") is None
    again.close()
    with sqlite3.connect(path) as conn:  # the owner is beside the task, not inside its JSON
        (task_json,) = conn.execute("SELECT task_json FROM tasks WHERE id = 't-2'").fetchone()
    assert "alice" not in task_json


# -- on the broker ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_authenticated_call_reaches_the_handler_with_its_principal(serve, connect) -> None:
    seen = Seen()
    serve(seen, authenticator=KEYS)
    assert connect(credentials=SECRET_A).send_text("hi") == "hello alice"
    assert seen.principals == [Principal("alice", "apiKey")]


@pytest.mark.slow
def test_missing_or_bad_credentials_are_refused_and_the_handler_never_runs(
    serve, connect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="a2a_kafka_sync")
    seen = Seen()
    serve(seen, authenticator=KEYS)
    with pytest.raises(UnauthenticatedError) as missing:
        connect().send_text("hi")
    assert missing.value.code == -32040 and "authorization" in missing.value.message
    bad = "key-mallory-guessing"
    with pytest.raises(UnauthenticatedError) as refused:
        connect(credentials=bad).send_text("hi")
    assert refused.value.code == -32040
    assert seen.calls == 0
    assert bad not in str(refused.value)
    assert bad not in caplog.text and "refused request" in caplog.text


@pytest.mark.slow
def test_a_per_call_credential_beats_the_clients_provider(serve, connect) -> None:
    seen = Seen()
    serve(seen, authenticator=KEYS)
    client = connect(credentials=lambda: SECRET_B)
    assert client.send_text("1") == "hello bob"
    assert client.send_text("2", credentials=SECRET_A) == "hello alice"
    assert client.send_text("3", credentials=lambda: SECRET_A) == "hello alice"
    with pytest.raises(UnauthenticatedError):
        client.send_text("4", credentials=None)  # None: no credentials on this call
    assert [p.name if p else None for p in seen.principals] == ["bob", "alice", "alice"]


@pytest.mark.slow
def test_the_credentials_provider_is_called_for_every_request(serve, connect) -> None:
    tokens = iter(["t1", "t2", "t3"])
    asked: list[str] = []

    def provider() -> str:
        asked.append(token := next(tokens))
        return f"Bearer {token}"

    seen = Seen()
    serve(seen, authenticator=bearer_authenticator(lambda token: f"user-of-{token}"))
    client = connect(credentials=provider)
    assert [client.send_text("x") for _ in range(3)] == [
        "hello user-of-t1",
        "hello user-of-t2",
        "hello user-of-t3",
    ]
    assert asked == ["t1", "t2", "t3"]


@pytest.mark.slow
def test_anonymous_callers_are_served_when_allowed_and_bad_credentials_still_are_not(
    serve, connect
) -> None:
    seen = Seen()
    serve(seen, authenticator=KEYS, allow_anonymous=True)
    assert connect().send_text("hi") == "hello anonymous"
    assert connect(credentials=SECRET_B).send_text("hi") == "hello bob"
    with pytest.raises(UnauthenticatedError):
        connect(credentials="not-a-key").send_text("hi")
    assert seen.principals == [None, Principal("bob", "apiKey")]


@pytest.mark.slow
def test_an_authenticator_may_forbid_and_one_that_fails_refuses(serve, connect, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="a2a_kafka_sync")

    def picky(credentials: str | None, headers: RequestHeaders) -> Principal | None:
        if credentials == "blocked":
            raise ForbiddenError("this caller is blocked")
        if credentials == "crash":
            raise RuntimeError(f"cannot parse {credentials}-token-text")
        return Principal("anyone")

    seen = Seen()
    serve(seen, authenticator=picky)
    client = connect()
    with pytest.raises(ForbiddenError) as forbidden:
        client.send_text("x", credentials="blocked")
    assert forbidden.value.code == -32041
    with pytest.raises(UnauthenticatedError):
        client.send_text("x", credentials="crash")
    assert "crash-token-text" not in caplog.text and "RuntimeError" in caplog.text
    assert seen.calls == 0
    assert client.send_text("x", credentials="ok") == "hello anyone"


# -- tasks belong to their creator ----------------------------------------------------------------


def ask_for_more(message: Message, context: RequestContext) -> None:
    """Start a task and leave it waiting for input (not terminal, not running)."""
    context.task.requires_input("more?")


@pytest.fixture(params=["memory", "sqlite", "kafka"])
def task_store(request: pytest.FixtureRequest, tmp_path: Path, broker_settings) -> TaskStore:
    if request.param == "memory":
        return InMemoryTaskStore()
    if request.param == "sqlite":
        return SQLiteTaskStore(tmp_path / "tasks.db")
    topic = f"test-tasks-{uuid.uuid4().hex[:12]}"
    return KafkaTaskStore(**broker_settings, topic=topic)  # started and closed by the app


@pytest.mark.slow
def test_another_principals_task_is_not_found_by_any_task_method(
    serve, connect, task_store: TaskStore
) -> None:
    serve(ask_for_more, authenticator=KEYS, task_store=task_store)
    alice, bob = connect(credentials=SECRET_A), connect(credentials=SECRET_B)
    task = alice.send_text("start")
    assert isinstance(task, Task) and task.status.state is TaskState.input_required
    hook = push_config(task.id, "https://hooks.example.com/a2a", id="h1")
    assert alice.set_task_callback(hook).push_notification_config.id == "h1"

    denied = {
        "get": lambda: bob.get_task(task.id),
        "cancel": lambda: bob.cancel_task(task.id),
        "resubscribe": lambda: list(bob.resubscribe(task.id)),
        "message": lambda: bob.send_text("hijack", task_id=task.id),
        "push set": lambda: bob.set_task_callback(push_config(task.id, "https://evil.example")),
        "push get": lambda: bob.get_task_callback(task.id, "h1"),
        "push list": lambda: bob.list_task_callbacks(task.id),
        "push delete": lambda: bob.delete_task_callback(task.id, "h1"),
    }
    for what, call in denied.items():
        with pytest.raises(TaskNotFoundError) as caught:
            call()
        assert caught.value.code == -32001, what
        assert caught.value.message == f"task {task.id} not found", what  # as for no task

    assert [t.id for t in bob.list_tasks()] == []
    assert [t.id for t in alice.list_tasks()] == [task.id]
    assert alice.get_task(task.id).status.state is TaskState.input_required  # untouched
    configs = alice.list_task_callbacks(task.id)
    assert [c.push_notification_config.id for c in configs] == ["h1"]  # bob changed nothing
    assert alice.cancel_task(task.id).status.state is TaskState.canceled


@pytest.mark.slow
def test_anonymous_tasks_are_everybodys_and_owned_tasks_hidden_from_anonymous(
    serve, connect
) -> None:
    serve(ask_for_more, authenticator=KEYS, allow_anonymous=True)
    anonymous, alice = connect(), connect(credentials=SECRET_A)
    shared = anonymous.send_text("start")
    owned = alice.send_text("start")
    assert isinstance(shared, Task) and isinstance(owned, Task)
    assert alice.get_task(shared.id).id == shared.id
    with pytest.raises(TaskNotFoundError):
        anonymous.get_task(owned.id)
    assert [t.id for t in anonymous.list_tasks()] == [shared.id]
    assert sorted(t.id for t in alice.list_tasks()) == sorted([shared.id, owned.id])


@pytest.mark.slow
def test_without_an_authenticator_credentials_are_ignored_and_tasks_shared(serve, connect) -> None:
    seen = Seen()
    serve(seen)
    assert connect(credentials="anything").send_text("hi") == "hello anonymous"
    assert seen.principals == [None]


def test_an_oversized_request_is_refused_by_the_client_before_it_is_sent(connect) -> None:
    client = connect(max_request_size=10_000, **UNSERVED)  # a request sent would time out
    with pytest.raises(InvalidRequestError) as caught:
        client.send_text("x" * 20_000, credentials=SECRET_A)
    assert caught.value.code == -32042
    assert "max_request_size" in caught.value.message and SECRET_A not in str(caught.value)
    assert caught.value.correlation_id and client.pending == 0
    assert client.metrics.value("requests_sent") == 0


@pytest.mark.slow
@pytest.mark.parametrize("version", ["0.3", "1.0"])
def test_the_extended_card_is_refused_to_anonymous_callers_and_carries_the_agents_address(
    serve, connect, broker_settings, topic, version: str
) -> None:
    seen = Seen()
    extended = AgentCard(name="vault", description="the full menu")
    serve(seen, authenticator=KEYS, allow_anonymous=True, extended_agent_card=extended)
    anonymous = connect(protocol_version=version)
    assert anonymous.send_text("hi") == "hello anonymous"  # anonymous callers are served...
    with pytest.raises(UnauthenticatedError) as refused:
        anonymous.get_card(extended=True)  # ...but not with the extended card
    assert refused.value.code == -32040 and "authenticated callers" in refused.value.message

    card = connect(protocol_version=version, credentials=SECRET_A).get_card(extended=True)
    assert (card.name, card.description) == ("vault", "the full menu")
    servers = broker_settings["bootstrap_servers"]
    servers = servers if isinstance(servers, list) else servers.split(",")
    assert kafka_endpoint(card) == (servers, topic)  # a client that swaps it in still reaches it
    url = kafka_url(servers, topic)
    assert [(i.url, i.protocol_binding) for i in card.supported_interfaces or []] == [
        (url, KAFKA_BINDING),
        (url, KAFKA_BINDING),
    ]
    if version == "0.3":  # v1.0 JSON has only supportedInterfaces
        assert (card.url, card.preferred_transport) == (url, KAFKA_TRANSPORT)


@pytest.mark.slow
def test_without_an_authenticator_the_extended_card_is_everybodys_and_warned_about(
    serve, connect, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    serve(Seen(), extended_agent_card=AgentCard(name="open", description="all of it"))
    assert "every caller gets it" in caplog.text
    assert connect().get_card(extended=True).description == "all of it"
    other = f"no-card-{uuid.uuid4().hex[:8]}"
    serve(Seen(), authenticator=KEYS, request_topic=other)
    with pytest.raises(AuthenticatedExtendedCardNotConfiguredError):  # authenticated, none set
        connect(credentials=SECRET_A, request_topic=other).get_card(extended=True)


def test_a_card_that_asks_for_security_without_an_authenticator_is_warned_about(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="a2a_kafka_sync")
    card = AgentCard(
        name="vault",
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        security=[{"bearer": []}],
    )
    KafkaServerApp(lambda m: "x", agent_card=card, authenticator=KEYS)
    assert "no authenticator" not in caplog.text
    KafkaServerApp(lambda m: "x", agent_card=card)
    assert "'vault' declares security requirements" in caplog.text
