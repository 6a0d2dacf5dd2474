"""Push targets: a push URL is parsed once and checked as it will be used (issue 18, item 2).

The attacks of the issue, on the real broker: a kafka:// URL behind whitespace or a control
character, a push into the server's own topics or into another client's reply topic, a
webhook to loopback, private or link-local addresses, plain http://, file://. Each is refused
when it is set, with the error that names why, and nothing is written where it must not be.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import wait_for

from a2a_kafka_sync import ClientConfig, Message, RequestContext, ServerConfig, Task, TaskState
from a2a_kafka_sync._kafka import build_producer
from a2a_kafka_sync.client import push_config
from a2a_kafka_sync.config import build_config
from a2a_kafka_sync.errors import ForbiddenError, InvalidParamsError
from a2a_kafka_sync.server.push import PushNotifier, kafka_push_topic
from a2a_kafka_sync.server.push_targets import (
    PushTarget,
    check_webhook_address,
    parse_push_url,
)
from a2a_kafka_sync.types import PushNotificationConfig, TaskStatus

# -- parsing (pure) -------------------------------------------------------------------------------

SMUGGLED = [
    " kafka://victim",
    "\tkafka://victim",
    "\x00kafka://victim",
    "\nkafka://victim",
    "kafka://victim ",
    "kafka://vic tim",
    "https://hooks.example.com/a\r\nX-Injected: 1",
    "\u00a0https://hooks.example.com/a",  # a no-break space is whitespace too
]


@pytest.mark.parametrize("url", SMUGGLED)
def test_whitespace_and_control_characters_anywhere_are_refused(url: str) -> None:
    with pytest.raises(InvalidParamsError, match="whitespace or a control character"):
        parse_push_url(url)
    assert kafka_push_topic(url) is None


@pytest.mark.parametrize(
    "url, complaint",
    [
        ("file:///etc/passwd", "not file:"),
        ("gopher://h/x", "not gopher:"),
        ("javascript:alert(1)", "not javascript:"),
        ("hooks.example.com/a", "not none"),
        ("kafka://h:9092/a/b", "no valid Kafka topic"),
        ("kafka://", "no valid Kafka topic"),
        ("kafka://h:9092/..", "no valid Kafka topic"),
        ("kafka://t?x=1", "no valid Kafka topic"),
        ("kafka://" + "t" * 250, "no valid Kafka topic"),
        ("https:///path", "has no host"),
        ("https://h:99999/x", "cannot be parsed"),
    ],
)
def test_other_schemes_and_bad_targets_are_refused_with_the_reason(
    url: str, complaint: str
) -> None:
    with pytest.raises(InvalidParamsError, match=complaint):
        parse_push_url(url)


@pytest.mark.parametrize(
    "url, target",
    [
        ("https://hooks.example.com/a2a", PushTarget("https", host="hooks.example.com")),
        ("HTTPS://Hooks.Example.com/a2a", PushTarget("https", host="hooks.example.com")),
        ("http://127.0.0.1:8080/h", PushTarget("http", host="127.0.0.1")),
        ("kafka://my-topic", PushTarget("kafka", topic="my-topic")),
        ("kafka://broker:9092/my.topic_1", PushTarget("kafka", topic="my.topic_1")),
    ],
)
def test_clean_urls_parse_to_what_will_be_used(url: str, target: PushTarget) -> None:
    assert parse_push_url(url) == target


def test_an_error_never_shows_the_urls_user_info_or_query() -> None:
    with pytest.raises(InvalidParamsError) as caught:
        parse_push_url("gopher://user:pa55word@h/x?token=t0ken")
    assert "pa55word" not in caught.value.message and "t0ken" not in caught.value.message


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        "localhost",
        "LOCALHOST",
        "api.localhost",
    ],
)
def test_non_public_webhook_hosts_are_refused(host: str) -> None:
    assert check_webhook_address(host, resolve=False) is not None


@pytest.mark.parametrize("host", ["8.8.8.8", "2606:4700:4700::1111", "hooks.example.com"])
def test_public_addresses_and_unresolved_names_pass(host: str) -> None:
    assert check_webhook_address(host, resolve=False) is None


def _own_name() -> str:
    """This machine's name, which resolves to a loopback or private address (/etc/hosts)."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        pytest.skip(f"this machine's name {name} does not resolve")
    if all(ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses):
        pytest.skip(f"this machine's name {name} resolves to public addresses {addresses}")
    return name


def test_a_name_resolving_to_a_non_public_address_is_refused_when_resolved() -> None:
    name = _own_name()
    assert check_webhook_address(name, resolve=False) is None  # a name, not judged unresolved
    reason = check_webhook_address(name, resolve=True)
    assert reason is not None and "not a public address" in reason


def test_listed_push_topics_must_be_valid_and_not_internal() -> None:
    with pytest.raises(ValueError, match="not a valid Kafka topic"):
        ServerConfig(bootstrap_servers="b:9092", request_topic="r", push_topics=("a b",))
    with pytest.raises(ValueError, match="internal topic"):
        ServerConfig(bootstrap_servers="b:9092", request_topic="r", push_topics=("__x",))


# -- on the real broker ---------------------------------------------------------------------------


def waiting_agent(message: Message, context: RequestContext) -> str | None:
    """Asks for input first, so its task stays open for push configs."""
    if context.task.state is TaskState.submitted:
        context.task.requires_input("more?")
        return None
    return "done"


@pytest.fixture
def opened(serve: Any, connect: Any) -> Any:
    def make(**settings: Any) -> tuple[Any, Task]:
        serve(waiting_agent, **settings)
        client = connect()
        task = client.send_text("start")
        assert isinstance(task, Task)
        return client, task

    return make


@pytest.mark.slow
@pytest.mark.parametrize("url", SMUGGLED[:5])
def test_a_smuggled_kafka_url_is_refused_and_the_task_store_keeps_its_task(
    opened: Any, topic: str, url: str
) -> None:
    client, task = opened()
    with pytest.raises(InvalidParamsError) as caught:
        client.set_task_callback(push_config(task.id, url.replace("victim", topic)))
    assert caught.value.code == -32602
    assert client.list_task_callbacks(task.id) == []
    assert client.get_task(task.id).status.state is TaskState.input_required


@pytest.mark.slow
def test_file_urls_are_refused_when_set(opened: Any) -> None:
    client, task = opened()
    with pytest.raises(InvalidParamsError, match="not file:"):
        client.set_task_callback(push_config(task.id, "file:///etc/passwd"))


@pytest.mark.slow
def test_a_push_into_the_servers_own_topics_is_refused(opened: Any, topic: str) -> None:
    client, task = opened()
    for own in (topic, "a2a-agent-cards"):
        with pytest.raises(ForbiddenError, match="not allowed on this server"):
            client.set_task_callback(push_config(task.id, f"kafka://{own}"))


@pytest.mark.slow
def test_a_push_into_another_clients_reply_topic_is_refused(opened: Any, connect: Any) -> None:
    client, task = opened()
    other = connect()
    with pytest.raises(ForbiddenError, match="neither the caller's reply topic"):
        client.set_task_callback(push_config(task.id, f"kafka://{other.reply_topic}"))
    with pytest.raises(ForbiddenError):  # a reply-topic name that nobody has made, either
        client.set_task_callback(push_config(task.id, "kafka://a2a-reply-someone-else"))


@pytest.mark.slow
def test_a_push_to_the_callers_own_reply_topic_arrives(opened: Any) -> None:
    client, task = opened()
    received: list[Any] = []
    client.on_push(received.append)
    client.set_task_callback(push_config(task.id, f"kafka://{client.reply_topic}"))
    client.send_text("finish", task_id=task.id)
    assert wait_for(lambda: any(getattr(e, "id", None) == task.id for e in received), 30)


@pytest.mark.slow
def test_a_client_tells_the_pushes_it_asked_for_by_their_token(
    opened: Any, broker_settings: dict[str, Any]
) -> None:
    """Anyone who may write the reply topic can produce a push record into it; a callback
    registered with the config's token gets only the deliveries of that config."""
    from a2a_kafka_sync.server.push import encode_push

    client, task = opened()
    everything: list[Any] = []
    mine: list[Any] = []
    client.on_push(everything.append)
    client.on_push(mine.append, token="our-s3cret")
    forger = build_producer(build_config(ClientConfig, **broker_settings))
    try:
        forged = task.model_copy(update={"id": "forged"})
        for headers in ([], [("notification_token", b"a-guess")]):
            forger.send(
                client.reply_topic,
                encode_push(forged),
                headers=[("notification_type", b"push"), *headers],
            ).get(30)
    finally:
        forger.close(timeout=5)
    assert wait_for(lambda: len(everything) == 2, 30), everything
    client.set_task_callback(
        push_config(task.id, f"kafka://{client.reply_topic}", token="our-s3cret")
    )
    client.send_text("finish", task_id=task.id)
    assert wait_for(lambda: any(getattr(e, "id", None) == task.id for e in mine), 30)
    assert all(e.id == task.id for e in mine), mine
    assert {e.id for e in everything} == {"forged", task.id}


@pytest.mark.slow
def test_a_listed_push_topic_is_allowed(opened: Any) -> None:
    client, task = opened(push_topics=("team-task-updates",))
    stored = client.set_task_callback(push_config(task.id, "kafka://team-task-updates"))
    assert stored.push_notification_config.url == "kafka://team-task-updates"
    with pytest.raises(ForbiddenError):
        client.set_task_callback(push_config(task.id, "kafka://team-task-updates-2"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "url, complaint",
    [
        ("http://hooks.example.com/a2a", "must be https://"),
        ("https://127.0.0.1:8443/a2a", "127.0.0.1 is not a public address"),
        ("https://169.254.169.254/latest/meta-data", "not a public address"),
        ("https://[::1]/a2a", "not a public address"),
        ("https://localhost/a2a", "localhost is this machine"),
    ],
)
def test_insecure_webhooks_are_refused_by_default(opened: Any, url: str, complaint: str) -> None:
    client, task = opened()
    with pytest.raises(ForbiddenError, match=complaint) as caught:
        client.set_task_callback(push_config(task.id, url))
    assert caught.value.code == -32041
    assert "allow_insecure_webhooks" in caught.value.message


@pytest.mark.slow
def test_a_public_https_webhook_is_accepted(opened: Any) -> None:
    client, task = opened()
    stored = client.set_task_callback(push_config(task.id, "https://hooks.example.com/a2a"))
    assert stored.push_notification_config.url == "https://hooks.example.com/a2a"


@pytest.mark.slow
def test_insecure_webhooks_are_allowed_when_the_server_says_so(opened: Any) -> None:
    client, task = opened(allow_insecure_webhooks=True)
    stored = client.set_task_callback(push_config(task.id, "http://127.0.0.1:9/a2a"))
    assert stored.push_notification_config.url == "http://127.0.0.1:9/a2a"


@pytest.fixture
def producer(broker_settings: dict[str, Any]) -> Iterator[Any]:
    built = build_producer(build_config(ClientConfig, **broker_settings))
    yield built
    built.close(timeout=5)


def test_the_notifier_refuses_a_non_public_webhook_at_delivery(
    producer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    name = _own_name()
    caplog.set_level(logging.WARNING, "a2a_kafka_sync.server.push")
    notifier = PushNotifier(producer, backoff=0.01)
    try:
        task = Task(id="t-1", context_id="c", status=TaskStatus(state="working"))
        # a name that resolves to loopback passes the set-time check (names are not resolved
        # there); the delivery resolves it and refuses
        notifier.notify(task, [PushNotificationConfig(url=f"https://{name}/hook")])
        notifier.notify(task, [PushNotificationConfig(url=" kafka://x")])
        assert wait_for(lambda: len(caplog.records) >= 2, 10)
    finally:
        notifier.close(timeout=5)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "whitespace or a control character" in text
    assert f"{name} resolves to" in text and "not a public address" in text


def test_a_name_that_rebinds_to_loopback_after_the_check_is_never_connected_to(
    producer: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name resolves to a public address for the check before the
    delivery, then to loopback. The connection resolves once and connects only to what it
    checked, so the listener on loopback is never reached (before: the check passed, the
    connection resolved again and reached it)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    real = socket.getaddrinfo
    answers = iter(["8.8.8.8"])  # the first answer is public; every later one is loopback

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return real(host, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    caplog.set_level(logging.WARNING, "a2a_kafka_sync.server.push")
    notifier = PushNotifier(producer, backoff=0.01, attempts=1)
    accepted = 0
    try:
        task = Task(id="t-1", context_id="c", status=TaskStatus(state="working"))
        notifier.notify(task, [PushNotificationConfig(url=f"https://rebind.example:{port}/h")])
        assert wait_for(lambda: len(caplog.records) >= 1, 10)
        try:
            while True:
                listener.accept()[0].close()
                accepted += 1
        except OSError:  # nothing more to accept within 0.2 s
            pass
    finally:
        notifier.close(timeout=5)
        listener.close()
    assert accepted == 0
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "rebind.example resolves to 127.0.0.1, not a public address" in text
