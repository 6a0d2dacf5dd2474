"""The ACLs of docs/security.md, on a real Apache Kafka with SASL/SCRAM and the StandardAuthorizer.

One broker for the module: SASL_SSL (SCRAM-SHA-256 over Kafka's own TLS listener, the
hostname checked), ``allow.everyone.if.no.acl.found=false``. The ACL commands are read from
docs/security.md (the one source of truth) and applied with Kafka's own ``AclCommand``, to
a principal per scenario: with exactly the documented ACLs a server and a client work; with
one of them left out, the failure is a clear error naming what the broker refused.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shlex
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for
from kafka import TopicPartition
from tls_helpers import make_pki, require_tls_tools

from a2a_kafka_sync import (
    KafkaAuthenticationError,
    KafkaAuthorizationError,
    KafkaClientTransport,
    KafkaServerApp,
    Message,
    RequestTimeoutError,
)
from a2a_kafka_sync._kafka import build_consumer, build_producer, close_producer, ensure_topics
from a2a_kafka_sync.admin import delete_stale_reply_topics
from a2a_kafka_sync.config import ClientConfig, build_config
from a2a_kafka_sync.discovery import AgentDirectory
from a2a_kafka_sync.errors import BrokerUnavailableError
from a2a_kafka_sync.server.tasks import KafkaTaskStore
from a2a_kafka_sync.testing import ApacheKafka, TlsFiles

# The generous timeout covers starting the broker and applying the ACLs on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.apache_cluster, pytest.mark.timeout(600)]

SECURITY_MD = Path(__file__).resolve().parent.parent / "docs" / "security.md"
ACL_COMMAND = "org.apache.kafka.tools.AclCommand"

# The groups of commands in the docs, by the start of the comment above them.
CLIENT = "Client:"
CLIENT_CREATES = "Client that creates its reply topic"
SERVER = "Server:"
SERVER_CREATES = "Server that creates its topics"
STORES = "Server with a KafkaTaskStore"
STORES_CREATE = "Server that creates those topics too"
EXACTLY_ONCE = "Server with exactly_once=True"
OPERATORS = "Operators:"
SIZE_LIMITS = "Recommended: read the size limits"
OLD_BROKERS = "Brokers older than 2.8"  # cannot be tried on Kafka 4.1

DOC_CLIENT, DOC_AGENT = "web-app", "my-agent"  # the principals the docs' commands name


def documented_acls() -> dict[str, list[list[str]]]:
    """The ``kafka-acls.sh`` commands of the ACL section of docs/security.md, each as its
    arguments, grouped under the comment above them."""
    text = SECURITY_MD.read_text(encoding="utf-8")
    section = text[text.index("\n## ACLs") :]
    match = re.search(r"```text\n(.*?)```", section, flags=re.DOTALL)
    assert match, "docs/security.md's ACL section has no ```text block of commands"
    block = re.sub(r"\\\n\s*", " ", match.group(1))
    groups: dict[str, list[list[str]]] = {}
    title: str | None = None
    comment: list[str] = []
    for line in block.splitlines():
        if line.startswith("# "):
            comment.append(line[2:])
        elif line.startswith("$ kafka-acls.sh "):
            if comment:  # the comment above a run of commands titles them
                title, comment = " ".join(comment), []
                groups[title] = []
            assert title is not None, f"a command before any comment: {line}"
            groups[title].append(shlex.split(line[2:])[1:])
        else:
            comment = []
    return groups


def group(groups: dict[str, list[list[str]]], start: str) -> list[list[str]]:
    """The commands of the one group whose comment starts with ``start``."""
    found = [commands for title, commands in groups.items() if title.startswith(start)]
    assert len(found) == 1, f"docs/security.md has {len(found)} ACL groups starting {start!r}"
    return found[0]


def as_principals(
    commands: Iterable[list[str]], *, client: str = DOC_CLIENT, agent: str = DOC_AGENT
) -> list[list[str]]:
    """The docs' commands for another client principal and another agent: the server's
    principal is named like its agent, whose topics and group follow from its name."""
    return [
        [arg.replace(f"User:{DOC_CLIENT}", f"User:{client}").replace(DOC_AGENT, agent)
         for arg in command]
        for command in commands
    ]  # fmt: skip


def without(commands: list[list[str]], leave_out: Callable[[list[str]], bool]) -> list[list[str]]:
    """``commands`` but the one ``leave_out`` picks (exactly one, or the test is wrong)."""
    kept = [command for command in commands if not leave_out(command)]
    assert len(kept) == len(commands) - 1, "the command to leave out is not exactly one"
    return kept


def _has(*words: str) -> Callable[[list[str]], bool]:
    return lambda command: all(word in command for word in words)


def merged(commands: Iterable[list[str]]) -> list[list[str]]:
    """The same ACLs in fewer commands: those that differ only in their principal, as one."""
    principals: dict[tuple[str, ...], list[str]] = {}
    for command in commands:
        at = command.index("--allow-principal")
        rest = tuple(command[:at] + command[at + 2 :])
        if command[at + 1] not in principals.setdefault(rest, []):
            principals[rest].append(command[at + 1])
    result = []
    for rest, names in principals.items():
        at = rest.index("--add") + 1
        allow = [arg for name in names for arg in ("--allow-principal", name)]
        result.append([*rest[:at], *allow, *rest[at:]])
    return result


GROUPS = documented_acls()
USED_GROUPS: set[str] = set()


def docs(start: str) -> list[list[str]]:
    """A group of the docs' commands, remembered as used by a scenario."""
    USED_GROUPS.add(start)
    return group(GROUPS, start)


# Each principal of the module and its ACLs, from the docs. Servers are named after their agent.
SCENARIOS: dict[str, list[list[str]]] = {
    # the documented ACLs, and the client of both agents below
    "my-agent": docs(SERVER) + docs(SERVER_CREATES) + docs(SIZE_LIMITS),
    "web-app": as_principals(docs(CLIENT) + docs(CLIENT_CREATES))
    + as_principals(docs(CLIENT), agent="eo-agent"),
    "eo-agent": as_principals(
        [
            *docs(SERVER),
            *docs(SERVER_CREATES),
            *docs(STORES),
            *docs(STORES_CREATE),
            *docs(EXACTLY_ONCE),
        ],
        agent="eo-agent",
    ),
    "ops": docs(OPERATORS),
    # topics created beforehand, no Create at all
    "pre-agent": as_principals(docs(SERVER), agent="pre-agent"),
    "pre-client": as_principals(docs(CLIENT), client="pre-client", agent="pre-agent"),
    # one documented ACL left out
    "no-create": as_principals(docs(SERVER), agent="no-create"),
    "no-group": as_principals(
        without(docs(SERVER), _has("--group")) + docs(SERVER_CREATES), agent="no-group"
    ),
    "no-write": as_principals(
        without(docs(CLIENT), _has("Write", "my-agent")) + docs(CLIENT_CREATES),
        client="no-write",
    ),
    "no-store": as_principals(
        docs(SERVER) + docs(SERVER_CREATES) + docs(STORES_CREATE), agent="no-store"
    ),
    "no-txn": as_principals(docs(SERVER) + docs(SERVER_CREATES), agent="no-txn"),
    "no-create-c": as_principals(docs(CLIENT), client="no-create-c"),
    "no-read": as_principals(
        without(docs(CLIENT), _has("Read", "a2a-reply")) + docs(CLIENT_CREATES), client="no-read"
    ),
    # the documented ACLs, one taken away while they run (REVOKED)
    "revoked-w": as_principals(docs(CLIENT) + docs(CLIENT_CREATES), client="revoked-w"),
    "revoked-r": as_principals(docs(CLIENT) + docs(CLIENT_CREATES), client="revoked-r"),
    "rev-agent": as_principals(docs(SERVER) + docs(SERVER_CREATES), agent="rev-agent"),
}


def removal(commands: list[list[str]], pick: Callable[[list[str]], bool]) -> list[str]:
    """The command that takes away the one ACL of ``commands`` that ``pick`` picks."""
    (command,) = [command for command in commands if pick(command)]
    at = command.index("--add")
    return [*command[:at], "--remove", "--force", *command[at + 1 :]]


REVOKED = [
    removal(SCENARIOS["revoked-w"], _has("Write", "my-agent")),
    removal(SCENARIOS["revoked-r"], _has("Read", "a2a-reply")),
    removal(SCENARIOS["rev-agent"], _has("Read", "rev-agent")),
]
USERS = {"admin": f"admin-{uuid.uuid4().hex}"} | {name: f"{name}-pw-5e1" for name in SCENARIOS}


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    """Apache Kafka with SASL_SSL (SCRAM-SHA-256), the StandardAuthorizer, nothing allowed
    without an ACL, and the ACLs of every scenario applied with Kafka's AclCommand."""
    require_tls_tools(stunnel=False)
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    with ApacheKafka(users=USERS, tls=TlsFiles(pki.server_cert, pki.server_key, pki.ca)) as kafka:
        assert kafka.security_protocol == "SASL_SSL"
        commands = merged(command for acls in SCENARIOS.values() for command in acls)
        kafka.run_tool_batch(ACL_COMMAND, [pointed(kafka, command) for command in commands])
        yield kafka


def pointed(kafka: ApacheKafka, command: list[str]) -> list[str]:
    """A docs command pointed at the test broker (``kafka:9092`` there), as the super user."""
    at = command.index("--bootstrap-server")
    here = ["--bootstrap-server", kafka.bootstrap_servers]
    here += ["--command-config", str(kafka.client_properties())]
    return command[:at] + here + command[at + 2 :]


def settings(kafka: ApacheKafka, user: str, **extra: Any) -> dict[str, Any]:
    """A client's or server's settings as ``user``, the broker's hostname checked."""
    return {**kafka.settings(user=user), "ssl_check_hostname": True, **extra}


def complaints(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the library logged at WARNING or worse during the test (a refusal it retried
    would show here even when the test's calls succeed). The rescue of a group join that
    kafka-python 3.0.12 finished and did not apply (server/group_join.py, a few starts in a
    hundred, ACLs or not) is no complaint about the ACLs."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("a2a_kafka_sync")
        and record.levelno >= logging.WARNING
        and not record.getMessage().startswith("kafka-python finished a group join")
    ]


def echo(message: Message) -> str:
    return f"echo: {message.text}"


def words(message: Message) -> Iterator[str]:
    yield from message.text.split()


@pytest.fixture(scope="module")
def my_agent(kafka: ApacheKafka) -> Iterator[KafkaServerApp]:
    """The agent ``my-agent`` served as ``my-agent``, with exactly the documented ACLs."""
    app = KafkaServerApp(words, request_topic="my-agent", **settings(kafka, "my-agent")).start()
    try:
        assert app.wait_until_assigned(30), "the server got no partitions within 30 s"
        yield app
    finally:
        app.stop(timeout=5)


def test_every_documented_acl_group_is_tried_here() -> None:
    untried = [title for title in GROUPS if not title.startswith((*USED_GROUPS, OLD_BROKERS))]
    assert not untried, f"ACL groups of docs/security.md that no scenario applies: {untried}"


def test_with_the_documented_acls_a_client_and_a_server_answer_stream_and_share_a_card(
    kafka: ApacheKafka, my_agent: KafkaServerApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="a2a_kafka_sync")
    with KafkaClientTransport(request_topic="my-agent", **settings(kafka, "web-app")) as client:
        assert client.send_text("hello acls") == "acls"  # a generator's last message answers
        assert list(client.send_message_streaming("a b c").texts()) == ["a", "b", "c"]
    with AgentDirectory(**settings(kafka, "web-app")) as directory:
        card = directory.resolve("my-agent")  # published by the server at start()
    assert card.name == "my-agent"
    assert complaints(caplog) == []


def test_with_the_documented_acls_a_request_without_a_reply_topic_is_dead_lettered(
    kafka: ApacheKafka, my_agent: KafkaServerApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="a2a_kafka_sync")
    admin = build_config(ClientConfig, **settings(kafka, "admin"))
    producer = build_producer(admin)
    try:
        producer.send("my-agent", value=b'{"not": "answerable"}').get(timeout=10)
    finally:
        close_producer(producer, 5)
    consumer = build_consumer(admin, group_id=None, enable_auto_commit=False)
    try:
        dead_letters = TopicPartition("my-agent.dead-letters", 0)
        consumer.assign([dead_letters])
        consumer.seek_to_beginning(dead_letters)
        deadline, records = time.monotonic() + 30, []
        while not records and time.monotonic() < deadline:
            records = [r for batch in consumer.poll(500).values() for r in batch]
    finally:
        consumer.close()
    assert [record.value for record in records] == [b'{"not": "answerable"}']
    assert [line for line in complaints(caplog) if not line.startswith("dropped request")] == []


def test_with_the_documented_acls_exactly_once_with_kafka_task_store_and_event_log(
    kafka: ApacheKafka, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="a2a_kafka_sync")
    from a2a_kafka_sync.types import TaskState, TaskStatus, TaskStatusUpdateEvent

    def count(message: Message) -> Iterator[TaskStatusUpdateEvent]:
        for i in range(3):
            yield TaskStatusUpdateEvent(
                task_id="t",
                context_id="c",
                status=TaskStatus(state=TaskState.working, message=Message.agent_text(str(i))),
                final=i == 2,
            )

    server = settings(kafka, "eo-agent")
    store = KafkaTaskStore(**server)
    app = KafkaServerApp(
        count,
        request_topic="eo-agent",
        exactly_once=True,
        task_store=store,
        event_log="kafka",
        **server,
    ).start()
    try:
        assert app.wait_until_assigned(30)
        client_settings = settings(kafka, "web-app", isolation_level="read_committed")
        with KafkaClientTransport(request_topic="eo-agent", **client_settings) as client:
            task, *events = list(client.send_message_streaming("count"))
            assert [e.status.message.text for e in events] == ["0", "1", "2"]
            stored = client.get_task(task.id)  # from the KafkaTaskStore
            assert stored.id == task.id
    finally:
        app.stop(timeout=5)
    assert complaints(caplog) == []


def test_topics_created_beforehand_need_no_create_acl(
    kafka: ApacheKafka, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="a2a_kafka_sync")
    reply_topic = "a2a-reply-pre-client"
    ensure_topics(
        build_config(ClientConfig, **settings(kafka, "admin")),
        {
            name: (1, {"cleanup.policy": "compact"} if name == "a2a-agent-cards" else {})
            for name in ("pre-agent", "pre-agent.dead-letters", "a2a-agent-cards", reply_topic)
        },
    )
    server = settings(kafka, "pre-agent", create_topics=False)
    with KafkaServerApp(echo, request_topic="pre-agent", **server) as app:
        assert app.wait_until_assigned(30)
        client = settings(kafka, "pre-client", create_topics=False, reply_topic=reply_topic)
        with KafkaClientTransport(request_topic="pre-agent", **client) as caller:
            assert caller.send_text("no create") == "echo: no create"
    assert complaints(caplog) == []


def test_with_the_documented_acls_an_operator_deletes_stale_reply_topics(
    kafka: ApacheKafka, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="a2a_kafka_sync")
    stale = f"a2a-reply-stale-{uuid.uuid4().hex[:8]}"
    admin = build_config(ClientConfig, **settings(kafka, "admin"))
    ensure_topics(admin, {stale: (1, {})})
    producer = build_producer(admin)
    try:
        producer.send(stale, value=b"an old reply").get(timeout=10)  # its age is read (Read)
    finally:
        close_producer(producer, 5)
    operator = settings(kafka, "ops")
    del operator["bootstrap_servers"], operator["profile"]
    deleted = delete_stale_reply_topics(
        kafka.bootstrap_servers, prefix="a2a-reply-stale", older_than=0, **operator
    )
    assert deleted == [stale]
    assert complaints(caplog) == []


# -- one documented ACL left out --------------------------------------------------------------


def test_a_server_without_create_fails_at_start_naming_the_topic(kafka: ApacheKafka) -> None:
    app = KafkaServerApp(echo, request_topic="no-create", **settings(kafka, "no-create"))
    with pytest.raises(KafkaAuthorizationError) as caught:
        app.start()
    message = str(caught.value)
    assert "TopicAuthorizationFailedError" in message and "'no-create'" in message
    assert "Create on topic 'no-create'" in message
    assert caught.value.topic == "no-create"
    assert not isinstance(caught.value.__cause__, TimeoutError)  # the refusal, not a wait
    assert not app.running


def test_a_server_without_read_on_its_group_stops_with_one_clear_error(
    kafka: ApacheKafka, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="a2a_kafka_sync")
    app = KafkaServerApp(echo, request_topic="no-group", **settings(kafka, "no-group")).start()
    try:
        with pytest.raises(KafkaAuthorizationError) as caught:
            app.wait_until_assigned(30)
        message = str(caught.value)
        assert "GroupAuthorizationFailedError" in message
        assert "'a2a-server-no-group'" in message and "Read on group" in message
        assert not app._thread.is_alive()  # it stopped polling: nothing more to log
        time.sleep(1.5)  # three retry rounds of the old loop: the log stays as it was
        ours = [r for r in caplog.records if r.name.startswith("a2a_kafka_sync")]
        loud = [r for r in ours if r.levelno >= logging.WARNING]
        assert [r.getMessage() for r in loud] == [f"stopped serving: {caught.value}"]
        assert not any(r.exc_info for r in ours)
        with pytest.raises(KafkaAuthorizationError):
            app.run()  # a supervisor running it sees the same failure
    finally:
        app.stop(timeout=2)


def test_a_server_without_the_acls_of_its_kafka_task_store_fails_at_start(
    kafka: ApacheKafka,
) -> None:
    server = settings(kafka, "no-store")
    app = KafkaServerApp(
        echo, request_topic="no-store", task_store=KafkaTaskStore(**server), **server
    )
    with pytest.raises(KafkaAuthorizationError) as caught:
        app.start()
    message = str(caught.value)
    assert message.startswith("checking access to topic 'a2a-tasks': ")
    assert "it needs Read and Write on topic 'a2a-tasks'" in message
    assert not app.running


def test_an_exactly_once_server_without_write_on_its_transactional_ids_fails_at_start(
    kafka: ApacheKafka,
) -> None:
    server = settings(kafka, "no-txn", exactly_once=True)
    app = KafkaServerApp(echo, request_topic="no-txn", **server)
    with pytest.raises(KafkaAuthorizationError) as caught:
        app.start()
    message = str(caught.value)
    assert "TransactionalIdAuthorizationFailedError" in message
    assert "Write on the transactional ids with the prefix 'a2a-a2a-server-no-txn'" in message
    assert not app.running


def test_a_client_without_write_on_the_request_topic_fails_its_first_call(
    kafka: ApacheKafka, my_agent: KafkaServerApp
) -> None:
    client = KafkaClientTransport(request_topic="my-agent", **settings(kafka, "no-write"))
    try:
        with pytest.raises(KafkaAuthorizationError) as caught:
            client.send_text("hi", timeout=30)
    finally:
        client.close()
    message = str(caught.value)
    assert "TopicAuthorizationFailedError" in message and "'my-agent'" in message
    assert "it needs Write on topic 'my-agent'" in message
    assert caught.value.topic == "my-agent"


def test_acls_taken_away_while_running_fail_what_needs_them_naming_the_refusal(
    kafka: ApacheKafka, my_agent: KafkaServerApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="a2a_kafka_sync")
    client_settings = settings(kafka, "revoked-w"), settings(kafka, "revoked-r")
    server = KafkaServerApp(echo, request_topic="rev-agent", **settings(kafka, "rev-agent"))
    with contextlib.ExitStack() as stack:
        writer, reader = (
            stack.enter_context(KafkaClientTransport(request_topic="my-agent", **options))
            for options in client_settings
        )
        stack.enter_context(server)
        assert server.wait_until_assigned(30)
        assert writer.send_text("w") == "w" and reader.send_text("r") == "r"
        kafka.run_tool_batch(ACL_COMMAND, [pointed(kafka, c) for c in REVOKED])

        with pytest.raises(KafkaAuthorizationError) as sending:
            writer.send_text("after", timeout=30)
        message = str(sending.value)
        assert message.startswith("sending message_send failed: TopicAuthorizationFailedError")
        assert "Write on topic 'my-agent'" in message and sending.value.correlation_id

        with pytest.raises(KafkaAuthorizationError) as reading:
            reader.send_text("after", timeout=30)  # answered, but the reply cannot be read
        message = str(reading.value)
        assert message.startswith("reading the reply topic: TopicAuthorizationFailedError")
        assert f"Read on topic '{reader.reply_topic}'" in message

        assert wait_for(lambda: not server._thread.is_alive(), 30), "the server kept polling"
        with pytest.raises(KafkaAuthorizationError) as serving:
            server.wait_until_assigned(0)
        assert "TopicAuthorizationFailedError (rev-agent)" in str(serving.value)
    assert not any(isinstance(e, RequestTimeoutError) for e in (sending.value, reading.value))
    ours = [r for r in caplog.records if r.name.startswith("a2a_kafka_sync")]
    assert not any(r.exc_info for r in ours)  # one clear line each, no traceback loops


def test_a_client_without_create_on_its_reply_topic_fails_to_open(
    kafka: ApacheKafka, my_agent: KafkaServerApp
) -> None:
    client = KafkaClientTransport(request_topic="my-agent", **settings(kafka, "no-create-c"))
    with pytest.raises(KafkaAuthorizationError) as caught:
        client.open()
    message = str(caught.value)
    assert "TopicAuthorizationFailedError" in message and f"'{client.reply_topic}'" in message
    assert f"Create on topic '{client.reply_topic}'" in message
    client.close()


def test_a_client_without_read_on_its_reply_topic_fails_to_open(
    kafka: ApacheKafka, my_agent: KafkaServerApp
) -> None:
    client = KafkaClientTransport(request_topic="my-agent", **settings(kafka, "no-read"))
    with pytest.raises(KafkaAuthorizationError) as caught:
        client.open()
    message = str(caught.value)
    assert "TopicAuthorizationFailedError" in message and f"'{client.reply_topic}'" in message
    assert f"it needs Read on topic '{client.reply_topic}'" in message
    client.close()


def test_a_wrong_password_fails_with_the_sasl_refusal_within_connect_timeout(
    kafka: ApacheKafka, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = {**settings(kafka, "web-app"), "sasl_plain_password": "not-the-password-7c"}
    started = time.monotonic()
    with pytest.raises(KafkaAuthenticationError) as caught:
        KafkaClientTransport(request_topic="my-agent", connect_timeout=10.0, **wrong).open()
    elapsed = time.monotonic() - started
    assert isinstance(caught.value, BrokerUnavailableError)
    message = str(caught.value)
    assert message.startswith("SASL authentication to Kafka at ")
    assert "user 'web-app'" in message and "socket disconnected" not in message
    # the broker's refusal, or (when kafka-python 3.0.12 dropped it with the connection's
    # end) the connection closed during the SASL exchange, as Kafka does after refusing
    assert (
        "SaslAuthenticationFailedError" in message
        or "closed the connection during the SASL exchange" in message
    )
    assert "not-the-password-7c" not in message + caplog.text
    assert elapsed < 10.0 + 5.0  # connect_timeout, plus a margin for a loaded machine
