"""The Django integration: settings.A2A_KAFKA, get_client(), the app, the error middleware.

Django is configured once, below, with minimal settings (no other test module uses it); each
test points ``A2A_KAFKA`` at its own agent with ``override_settings``. The views are those of
the example project ``docs/examples/django_app``, called through Django's test client and
answered by a real agent on the session's broker.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings as django_settings
from helpers import library_threads

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "django_app"

if not django_settings.configured:
    sys.path.insert(0, str(EXAMPLE))  # the example project's package, agentsite
    django_settings.configure(
        SECRET_KEY="only-for-tests",
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="agentsite.urls",
        DATABASES={},
        INSTALLED_APPS=["a2a_kafka_sync.contrib.django"],
        MIDDLEWARE=["a2a_kafka_sync.contrib.django.middleware.A2AErrorMiddleware"],
        A2A_KAFKA={},  # each test sets its own with override_settings
    )
    django.setup()

from django.apps import apps  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from a2a_kafka_sync import Message, RequestContext  # noqa: E402
from a2a_kafka_sync.contrib import http_status  # noqa: E402
from a2a_kafka_sync.contrib.django import close_client, get_client  # noqa: E402
from a2a_kafka_sync.errors import A2AError, InvalidParamsError  # noqa: E402

# -- a view of the tests' own, for what the example does not show -----------------------------

_used_clients: list[Any] = []


@csrf_exempt
def _recording_view(request: Any) -> JsonResponse:
    client = get_client()
    _used_clients.append(client)
    return JsonResponse({"reply": client.send_text(request.body.decode())})


urlpatterns = [path("record", _recording_view)]


def echo(message: Message) -> str:
    return f"echo: {message.text}"


def words(message: Message, context: RequestContext) -> Iterator[str]:
    if not message.text.strip():
        raise InvalidParamsError("say something")
    for word in message.text.split():
        yield f"you said: {word}"


@pytest.fixture
def a2a_kafka(broker_settings: dict[str, Any], topic: str, collect_garbage: None) -> Iterator[dict]:
    """settings.A2A_KAFKA pointing at the test's agent; its client is closed after."""
    value = {**broker_settings, "request_topic": topic, "timeout": 30}
    with override_settings(A2A_KAFKA=value):
        yield value
    close_client()


def _reply_readers() -> int:
    return library_threads().count("a2a-kafka-reply-reader")


def _sse(body: str) -> list[tuple[str, Any]]:
    found = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((fields["event"], json.loads(fields["data"])))
    return found


# -- the example's views, end to end ------------------------------------------------------------


@pytest.mark.slow
def test_the_example_view_answers_with_the_agents_reply(serve, a2a_kafka: dict) -> None:
    serve(echo)

    response = Client().post("/ask", data="hello", content_type="text/plain")

    assert response.status_code == 200
    assert response.json() == {"reply": "echo: hello"}


@pytest.mark.slow
def test_the_example_streams_each_agent_event_as_a_server_sent_event(
    serve, a2a_kafka: dict
) -> None:
    serve(words)

    response = Client().post("/stream", data="one two three", content_type="text/plain")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    body = b"".join(response.streaming_content).decode()
    response.close()
    events = _sse(body)
    # the generator's stream, A2A-shaped: its task, each piece a chunk of one artifact
    assert [name for name, _ in events] == [
        "task",
        "status-update",
        *["artifact-update"] * 4,
        "status-update",
    ]
    texts = [data["artifact"]["parts"][0]["text"] for _, data in events[2:6]]
    assert texts == ["you said: one", "you said: two", "you said: three", ""]
    assert events[-1][1]["status"]["state"] == "completed" and events[-1][1]["final"]


@pytest.mark.slow
def test_the_agents_invalid_params_error_becomes_a_400_through_the_middleware(
    serve, a2a_kafka: dict
) -> None:
    serve(words)

    response = Client().post("/ask", data="  ", content_type="text/plain")

    assert response.status_code == 400
    assert response.json() == {
        "error": {"type": "InvalidParamsError", "message": "say something", "code": -32602}
    }


@pytest.mark.slow
def test_an_agent_crash_becomes_a_502_without_the_agents_internal_text(
    serve, a2a_kafka: dict
) -> None:
    def crashes(message: Message) -> str:
        raise KeyError("secret-db-password")

    serve(crashes)

    response = Client().post("/ask", data="hi", content_type="text/plain")

    assert response.status_code == 502
    assert response.json()["error"]["type"] == "InternalError"
    assert "secret" not in response.content.decode()


def test_no_broker_becomes_a_503(a2a_kafka: dict) -> None:
    unreachable = {"bootstrap_servers": "127.0.0.1:9", "connect_timeout": 0.5}
    with override_settings(A2A_KAFKA={**a2a_kafka, **unreachable}):
        response = Client().post("/ask", data="anyone?", content_type="text/plain")

    assert response.status_code == 503
    assert response.json()["error"]["type"] == "BrokerUnavailableError"


# -- one client per process ---------------------------------------------------------------------


@pytest.mark.slow
def test_eight_request_threads_at_once_share_one_client_and_all_get_answers(
    serve, a2a_kafka: dict
) -> None:
    together = threading.Barrier(8)

    def waits_for_all(message: Message) -> str:
        together.wait(30)  # answers only once 8 requests are in flight at once
        return f"echo: {message.text}"

    serve(waits_for_all, max_workers=8)
    _used_clients.clear()
    readers_before = _reply_readers()
    answers: dict[str, Any] = {}

    def request_in_a_thread() -> None:
        name = threading.current_thread().name
        response = Client().post("/record", data=name, content_type="text/plain")
        answers[name] = (response.status_code, response.json())

    with override_settings(ROOT_URLCONF=__name__):
        threads = [threading.Thread(target=request_in_a_thread, name=f"web-{i}") for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

    assert answers == {f"web-{i}": (200, {"reply": f"echo: web-{i}"}) for i in range(8)}
    assert len(_used_clients) == 8
    assert all(client is get_client() for client in _used_clients)
    assert _reply_readers() == readers_before + 1  # one client: one reader thread


@pytest.mark.slow
def test_changing_the_setting_closes_the_old_client_and_the_next_one_uses_the_new_value(
    serve, a2a_kafka: dict, broker_settings: dict[str, Any]
) -> None:
    serve(echo)
    first = get_client()
    assert first.send_text("one") == "echo: one"

    with override_settings(A2A_KAFKA={**a2a_kafka, "agent_id": "billing"}):
        assert "closed" in repr(first)
        second = get_client()
        assert second is not first
        assert second.config.agent_id == "billing"
        assert second.send_text("two") == "echo: two"

    assert "closed" in repr(second)
    assert get_client().config.agent_id is None


@pytest.mark.slow
def test_close_client_closes_it_and_the_next_get_client_builds_a_new_one(
    serve, a2a_kafka: dict
) -> None:
    serve(echo)
    first = get_client()
    assert first.send_text("before") == "echo: before"

    close_client()
    close_client()  # idempotent

    assert "closed" in repr(first)
    second = get_client()
    assert second is not first
    assert second.send_text("after") == "echo: after"


def _call_in_forked_child(parent_client: Any, results: Any) -> None:
    try:
        response = Client().post("/ask", data="from the child", content_type="text/plain")
        results.put((get_client() is not parent_client, response.json()))
        close_client()
    except BaseException as exc:  # reported to the parent
        results.put(("error", repr(exc)))


@pytest.mark.slow
def test_a_forked_worker_builds_its_own_client_and_the_parents_keeps_working(
    serve, a2a_kafka: dict
) -> None:
    serve(echo)
    parent_client = get_client()
    assert parent_client.send_text("parent") == "echo: parent"

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_call_in_forked_child, args=(parent_client, results))
    child.start()
    own_client, reply = results.get(timeout=60)
    child.join(30)

    assert own_client is True
    assert reply == {"reply": "echo: from the child"}
    assert child.exitcode == 0
    assert get_client() is parent_client
    assert parent_client.send_text("parent again") == "echo: parent again"


_AT_EXIT = textwrap.dedent(
    """
    import atexit, json, sys
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["a2a_kafka_sync.contrib.django"], A2A_KAFKA=json.loads(sys.argv[1])
    )
    django.setup()
    from a2a_kafka_sync.contrib.django import get_client

    client = get_client()
    # Registered before the client opens, so it runs after the client's own hook (LIFO).
    atexit.register(lambda: print("at exit:", repr(client), flush=True))
    print("reply:", client.send_text("bye"), flush=True)
    """
)


@pytest.mark.slow
def test_an_open_client_is_closed_at_interpreter_exit(serve, a2a_kafka: dict) -> None:
    serve(echo)

    done = subprocess.run(
        [sys.executable, "-c", _AT_EXIT, json.dumps(a2a_kafka)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )

    assert done.returncode == 0, done.stderr
    assert "reply: echo: bye" in done.stdout
    assert re.search(r"at exit: <KafkaClientTransport closed ", done.stdout), done.stdout


# -- settings -----------------------------------------------------------------------------------


def test_the_settings_dict_reaches_the_client() -> None:
    value = {
        "bootstrap_servers": "kafka1:9092,kafka2:9092",
        "request_topic": "billing-agent",
        "timeout": 3,
        "client_id": "billing-web",
        "agent_card": {"name": "billing-web", "url": "https://example.com/a2a"},
    }
    with override_settings(A2A_KAFKA=value):
        client = get_client()
        assert client.config.bootstrap_servers == ["kafka1:9092", "kafka2:9092"]
        assert client.config.request_topic == "billing-agent"
        assert client.config.timeout == 3
        assert client.config.kafka == {"client_id": "billing-web"}
        assert client.agent_card.name == "billing-web"


def test_without_the_setting_the_library_defaults_apply() -> None:
    close_client()
    with override_settings():
        del django_settings.A2A_KAFKA
        apps.get_app_config("a2a_kafka").ready()  # a missing setting is not an error
        assert get_client().config.bootstrap_servers == ["localhost:9092"]
        assert get_client().config.request_topic == "a2a-requests"
    close_client()


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"timeout": -1}, "timeout"),
        ({"fetch_max_wait": 10}, "fetch_max_wait"),  # a typo of a kafka-python setting
        ({"group_id": "x"}, "group_id"),  # managed by the library
        ({"agent_card": {"url": "x"}}, "agent_card"),
        ("localhost:9092", "must be a dict"),
    ],
)
def test_the_app_refuses_a_bad_setting_at_start_up_naming_it(value: Any, named: str) -> None:
    with override_settings(A2A_KAFKA=value):
        with pytest.raises(ImproperlyConfigured, match=rf"settings\.A2A_KAFKA: .*{named}"):
            apps.get_app_config("a2a_kafka").ready()
        with pytest.raises(ImproperlyConfigured):
            get_client()


@pytest.mark.slow
def test_django_setup_itself_fails_on_a_bad_setting() -> None:
    script = textwrap.dedent(
        """
        import django
        from django.conf import settings

        settings.configure(
            INSTALLED_APPS=["a2a_kafka_sync.contrib.django"], A2A_KAFKA={"timeout": "soon"}
        )
        django.setup()
        """
    )

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )

    assert done.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured: settings.A2A_KAFKA" in done.stderr
    assert "timeout" in done.stderr


def test_the_app_is_installed_under_its_label() -> None:
    config = apps.get_app_config("a2a_kafka")

    assert config.name == "a2a_kafka_sync.contrib.django"


# -- the guide tells the truth ------------------------------------------------------------------


def test_the_status_table_of_the_django_guide_is_what_http_status_answers() -> None:
    import a2a_kafka_sync.errors as errors

    text = (ROOT / "docs" / "django.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (\d{3}) \|", text, flags=re.MULTILINE)
    assert len(rows) >= 10, "the guide's status table was not found"

    def instance(error_class: type[Exception]) -> Exception:
        return error_class() if issubclass(error_class, A2AError) else error_class("x")

    wrong = {
        name: (int(status), http_status(instance(getattr(errors, name))))
        for name, status in rows
        if http_status(instance(getattr(errors, name))) != int(status)
    }
    assert not wrong, f"rows whose status is not http_status()'s (guide, code): {wrong}"
