"""The Flask extension: one client per process, shared by request threads, errors as HTTP.

Every test that calls an agent serves it on the session's real broker and calls it through
Flask's test client, mostly through the example app ``docs/examples/flask_app.py``.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from helpers import library_threads

from a2a_kafka_sync import A2AKafkaError, Message, RequestContext
from a2a_kafka_sync.contrib import http_status
from a2a_kafka_sync.contrib.flask import A2AKafka, current_client, error_response
from a2a_kafka_sync.errors import A2AError, ConfigurationError, TaskNotFoundError

ROOT = Path(__file__).resolve().parent.parent


def _load_example() -> ModuleType:
    path = ROOT / "docs" / "examples" / "flask_app.py"
    spec = importlib.util.spec_from_file_location("flask_app_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _load_example()


def echo(message: Message) -> str:
    return f"echo: {message.text}"


@pytest.fixture
def settings(broker_settings: dict[str, Any], topic: str) -> dict[str, Any]:
    """The A2A_KAFKA dict pointing at the test's agent."""
    return {**broker_settings, "request_topic": topic, "timeout": 30}


@pytest.fixture
def example_app(settings: dict[str, Any], collect_garbage: None) -> Iterator[Flask]:
    """The example's app, configured for the test's agent; its client closed after."""
    app = example.create_app(settings)
    yield app
    example.a2a.close()


@pytest.fixture
def extension(collect_garbage: None) -> Iterator[Callable[..., A2AKafka]]:
    """Build A2AKafka extensions; each one's clients are closed after the test."""
    made: list[A2AKafka] = []

    def make(app: Flask | None = None, **settings: Any) -> A2AKafka:
        ext = A2AKafka(app, **settings)
        made.append(ext)
        return ext

    yield make
    for ext in made:
        ext.close()


def _app(settings: dict[str, Any] | None) -> Flask:
    app = Flask("test-app")
    if settings is not None:
        app.config["A2A_KAFKA"] = settings
    return app


def _reply_readers() -> int:
    return library_threads().count("a2a-kafka-reply-reader")


# -- the example app, end to end ---------------------------------------------------------------


@pytest.mark.slow
def test_the_example_answers_with_the_agents_reply(serve, example_app: Flask) -> None:
    serve(echo)

    response = example_app.test_client().post("/ask", data="hello")

    assert response.status_code == 200
    assert response.get_json() == {"reply": "echo: hello"}


def test_the_example_answers_503_at_once_and_logs_the_reason_when_no_broker_is_there(
    collect_garbage: None, caplog: pytest.LogCaptureFixture
) -> None:
    import socket
    import time

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    app = example.create_app({"bootstrap_servers": address, "request_topic": "web-agent"})
    try:
        took = []
        for _ in range(3):  # the first finds out; the others fail fast during the cool-down
            began = time.monotonic()
            response = app.test_client().post("/ask", data="anyone?")
            took.append(time.monotonic() - began)
            assert response.status_code == 503
            error = response.get_json()["error"]
            assert error["type"] == "BrokerUnavailableError"
            assert error["message"] == "the agent cannot be reached right now"  # no address
    finally:
        example.a2a.close()
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("A2A call")]
    assert len(logged) == 3 and all(address in m and "ECONNREFUSED" in m for m in logged)
    # Not connect_timeout (15 s) nor the client's timeout (20 s): the TCP refusal, at once.
    assert max(took) < 5, took


def _sse(body: str) -> list[tuple[str, Any]]:
    """(event name, decoded data) of each Server-Sent Event in ``body``."""
    found = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((fields["event"], json.loads(fields["data"])))
    return found


@pytest.mark.slow
def test_the_example_streams_each_agent_event_as_a_server_sent_event(
    serve, example_app: Flask
) -> None:
    serve(example.agent)

    response = example_app.test_client().post("/stream", data="one two three")

    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    events = _sse(response.get_data(as_text=True))
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
def test_an_agent_error_part_way_through_a_stream_ends_it_with_an_error_event(
    serve, example_app: Flask
) -> None:
    def fails_after_one(message: Message, context: RequestContext) -> Iterator[str]:
        yield "first"
        raise TaskNotFoundError("no such task")

    serve(fails_after_one)

    response = example_app.test_client().post("/stream", data="go")

    assert response.status_code == 200  # sent with the first event, before the error
    events = _sse(response.get_data(as_text=True))
    assert [name for name, _ in events] == [
        "task",
        "status-update",
        "artifact-update",
        "status-update",
        "error",
    ]
    assert events[3][1]["status"]["state"] == "failed"
    assert events[4][1] == {
        "error": {"type": "TaskNotFoundError", "message": "no such task", "code": -32001}
    }


@pytest.mark.slow
def test_the_agents_invalid_params_error_becomes_a_400_with_its_message(
    serve, example_app: Flask
) -> None:
    serve(example.agent)

    response = example_app.test_client().post("/ask", data="   ")

    assert response.status_code == 400
    assert response.get_json() == {
        "error": {"type": "InvalidParamsError", "message": "say something", "code": -32602}
    }


@pytest.mark.slow
def test_an_agent_crash_becomes_a_502_without_the_agents_internal_text(
    serve, example_app: Flask
) -> None:
    def crashes(message: Message) -> str:
        raise KeyError("secret-db-password")

    serve(crashes)

    response = example_app.test_client().post("/ask", data="hi")

    assert response.status_code == 502
    body = response.get_json()
    assert body["error"]["type"] == "InternalError"
    assert body["error"]["code"] == -32603
    assert "secret" not in response.get_data(as_text=True)


@pytest.mark.slow
def test_a_call_that_gets_no_reply_in_time_becomes_a_504(
    serve, settings: dict[str, Any], extension
) -> None:
    release = threading.Event()

    def stalls(message: Message) -> str:
        release.wait(30)
        return "late"

    serve(stalls)
    app = _app({**settings, "timeout": 0.5})
    ext = extension(app)
    app.register_error_handler(A2AKafkaError, error_response)

    @app.post("/ask")
    def ask() -> Any:
        return {"reply": ext.client.send_text("anyone?")}

    try:
        response = app.test_client().post("/ask")
    finally:
        release.set()

    assert response.status_code == 504
    assert response.get_json()["error"]["type"] == "RequestTimeoutError"


# -- one client per process, shared by threads ---------------------------------------------------


@pytest.mark.slow
def test_eight_request_threads_at_once_share_one_client_and_all_get_answers(
    serve, settings: dict[str, Any], extension
) -> None:
    together = threading.Barrier(8)

    def waits_for_all(message: Message) -> str:
        together.wait(30)  # answers only once 8 requests are in flight at once
        return f"echo: {message.text}"

    serve(waits_for_all, max_workers=8)
    app = _app(settings)
    ext = extension(app)
    used: list[Any] = []

    @app.post("/ask")
    def ask() -> Any:
        client = current_client()
        used.append(client)
        return {"reply": client.send_text(f"from {threading.current_thread().name}")}

    readers_before = _reply_readers()
    answers: dict[str, Any] = {}

    def request_in_a_thread() -> None:
        response = app.test_client().post("/ask")
        answers[threading.current_thread().name] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=request_in_a_thread, name=f"web-{i}") for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert answers == {f"web-{i}": (200, {"reply": f"echo: from web-{i}"}) for i in range(8)}
    assert len(used) == 8
    assert all(client is ext.client for client in used)
    assert _reply_readers() == readers_before + 1  # one client: one reader thread


@pytest.mark.slow
def test_the_client_is_built_on_first_use_and_connects_on_its_first_call(
    serve, settings: dict[str, Any], extension
) -> None:
    serve(echo)
    app = _app(settings)
    ext = extension(app)
    readers_before = _reply_readers()

    holder = ext._clients[app]
    assert holder.current is None  # init_app built nothing
    with app.app_context():
        client = ext.client
        assert holder.current is client
        assert _reply_readers() == readers_before  # built, not opened
        assert client.send_text("first") == "echo: first"
    assert _reply_readers() == readers_before + 1


@pytest.mark.slow
def test_close_closes_the_client_and_the_next_use_builds_a_new_one(
    serve, settings: dict[str, Any], extension
) -> None:
    serve(echo)
    app = _app(settings)
    ext = extension(app)
    with app.app_context():
        first = ext.client
        assert first.send_text("before") == "echo: before"
        readers = _reply_readers()

        ext.close()

        assert "closed" in repr(first)
        assert _reply_readers() == readers - 1  # its reader thread was stopped and joined
        second = ext.client
        assert second is not first
        assert second.send_text("after") == "echo: after"


def _call_in_forked_child(app: Flask, ext: A2AKafka, parent_client: Any, results: Any) -> None:
    try:
        with app.app_context():
            child_client = ext.client
            reply = app.test_client().post("/ask", data="from the child").get_json()
            results.put((child_client is not parent_client, reply))
        ext.close()
    except BaseException as exc:  # reported to the parent
        results.put(("error", repr(exc)))


@pytest.mark.slow
def test_a_forked_worker_builds_its_own_client_and_the_parents_keeps_working(
    serve, example_app: Flask
) -> None:
    serve(echo)
    client = example_app.test_client()
    assert client.post("/ask", data="parent").get_json() == {"reply": "echo: parent"}
    with example_app.app_context():
        parent_client = example.a2a.client

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(
        target=_call_in_forked_child, args=(example_app, example.a2a, parent_client, results)
    )
    child.start()
    own_client, reply = results.get(timeout=60)
    child.join(30)

    assert own_client is True
    assert reply == {"reply": "echo: from the child"}
    assert child.exitcode == 0
    with example_app.app_context():
        assert example.a2a.client is parent_client
    assert client.post("/ask", data="parent again").get_json() == {"reply": "echo: parent again"}


_AT_EXIT = textwrap.dedent(
    """
    import atexit, json, sys
    from flask import Flask
    from a2a_kafka_sync.contrib.flask import A2AKafka

    settings = json.loads(sys.argv[1])
    app = Flask("exit")
    app.config["A2A_KAFKA"] = settings
    a2a = A2AKafka(app)
    # Registered before the client opens, so it runs after the client's own hook (LIFO).
    atexit.register(lambda: print("at exit:", repr(a2a._clients[app].current), flush=True))
    with app.app_context():
        print("reply:", a2a.client.send_text("bye"), flush=True)
    """
)


@pytest.mark.slow
def test_an_open_client_is_closed_at_interpreter_exit(serve, settings: dict[str, Any]) -> None:
    serve(echo)

    done = subprocess.run(
        [sys.executable, "-c", _AT_EXIT, json.dumps(settings)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )

    assert done.returncode == 0, done.stderr
    assert "reply: echo: bye" in done.stdout
    assert re.search(r"at exit: <KafkaClientTransport closed ", done.stdout), done.stdout


# -- settings ------------------------------------------------------------------------------------


def test_settings_come_from_app_config_and_constructor_arguments_win(extension) -> None:
    app = _app({"bootstrap_servers": "kafka1:9092,kafka2:9092", "request_topic": "a", "timeout": 3})
    ext = extension(app, request_topic="b", client_id="billing-web")

    config = ext.get_client(app).config

    assert config.bootstrap_servers == ["kafka1:9092", "kafka2:9092"]
    assert config.request_topic == "b"
    assert config.timeout == 3
    assert config.kafka == {"client_id": "billing-web"}
    assert app.extensions["a2a_kafka"] is ext


def test_an_app_without_a2a_kafka_settings_gets_the_library_defaults(extension) -> None:
    app = _app(None)
    ext = extension(app)

    config = ext.get_client(app).config

    assert config.bootstrap_servers == ["localhost:9092"]
    assert config.request_topic == "a2a-requests"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"timeout": -1}, "timeout"),
        ({"fetch_max_wait": 10}, "fetch_max_wait"),  # a typo of a kafka-python setting
        ({"group_id": "x"}, "group_id"),  # managed by the library
        ({"agent_card": 42}, "agent_card"),
        ("localhost:9092", "must be a dict"),
    ],
)
def test_a_refused_setting_fails_at_init_app_naming_it(settings: Any, named: str) -> None:
    app = _app(settings)

    with pytest.raises(ConfigurationError, match=named):
        A2AKafka(app)
    assert "a2a_kafka" not in app.extensions


def test_one_extension_gives_each_app_of_a_factory_its_own_client(extension) -> None:
    ext = extension()
    first, second = _app({"request_topic": "first"}), _app({"request_topic": "second"})
    ext.init_app(first)
    ext.init_app(second)

    with first.app_context():
        assert ext.client.config.request_topic == "first"
        assert current_client() is ext.client
    with second.app_context():
        assert ext.client.config.request_topic == "second"
    assert ext.get_client(first) is not ext.get_client(second)


def test_the_client_outside_an_app_context_is_refused_unless_the_app_was_given(extension) -> None:
    bound = extension(_app({"request_topic": "bound"}))
    unbound = extension()
    unbound.init_app(_app({}))

    assert bound.client.config.request_topic == "bound"
    with pytest.raises(RuntimeError, match="no Flask application context"):
        _ = unbound.client


def test_current_client_in_an_app_without_the_extension_says_how_to_add_it() -> None:
    with _app({}).app_context(), pytest.raises(RuntimeError, match="no A2AKafka extension"):
        current_client()


def test_an_app_takes_one_extension_only(extension) -> None:
    app = _app({})
    extension(app)

    with pytest.raises(RuntimeError, match="already has an A2AKafka extension"):
        A2AKafka(app)


# -- the guide tells the truth -------------------------------------------------------------------


def test_the_status_table_of_the_flask_guide_is_what_http_status_answers() -> None:
    import a2a_kafka_sync.errors as errors

    text = (ROOT / "docs" / "flask.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (\d{3}) \|", text, flags=re.MULTILINE)
    assert len(rows) >= 10, "the guide's status table was not found"
    wrong = {
        name: (int(status), http_status(_instance(getattr(errors, name))))
        for name, status in rows
        if http_status(_instance(getattr(errors, name))) != int(status)
    }
    assert not wrong, f"rows whose status is not http_status()'s (guide, code): {wrong}"


def _instance(error_class: type[Exception]) -> Exception:
    if issubclass(error_class, A2AError):
        return error_class()
    return error_class("x")
