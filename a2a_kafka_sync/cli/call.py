"""``send`` and ``stream``: call an agent and print what it answers."""

from __future__ import annotations

import argparse
import os
import sys
import time

from .._reply_topics import cli_reply_topic
from ..client import KafkaClientTransport
from ..config import DEFAULT_TIMEOUT
from ..errors import RequestTimeoutError
from ..types import Message
from .exits import INTERRUPTED, ExitCode
from .options import add_options, connection_settings, positive_float
from .output import event_lines, json_line, reply_lines
from .progress import Progress

__all__ = ["register", "run_send", "run_stream"]

_SEND_EPILOG = """\
The reply's text is printed. When the agent answers with a Task, its id and state are
printed (with the status message, if any), then the text of each of its artifacts;
continue the task with --task-id. --json prints the reply as A2A JSON, on one line.

examples:
  a2a-kafka-sync send "hello" --request-topic echo-agent
  a2a-kafka-sync send "I want a pizza" --request-topic pizza --context-id table-7
  a2a-kafka-sync send "large" --request-topic pizza --task-id 5f0c...
  a2a-kafka-sync send "hello" --json | jq -r .parts[0].text
  A2A_KAFKA_BOOTSTRAP=kafka1:9092 a2a-kafka-sync send "report" --timeout 120
"""

_STREAM_EPILOG = """\
Each event is printed as it arrives: a Message's text, a task's state (for the Task and
its status updates, with the status message), the text of each artifact chunk. While it
waits, a progress line is drawn on stderr when stderr is a terminal. --json prints each
event as A2A JSON, one object per line. --timeout bounds the wait for each next event.

examples:
  a2a-kafka-sync stream "Tell me a story." --request-topic demo-storyteller
  a2a-kafka-sync stream "summarise" --json | jq -c 'select(.kind == "artifact-update")'
"""


def _add_call_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", metavar="TEXT", help="the text of the user message")
    parser.add_argument("--json", action="store_true", help="print A2A JSON instead of text")
    parser.add_argument("--task-id", metavar="ID", help="continue this task (the agent's task id)")
    parser.add_argument("--context-id", metavar="ID", help="the conversation's context id")
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="how long to wait for the reply (stream: for each next event; default "
        f"{DEFAULT_TIMEOUT:g}, the client's)",
    )
    parser.add_argument(
        "--a2a-version",
        dest="protocol_version",
        choices=["0.3", "1.0"],
        help="the A2A protocol version to speak (default 0.3). Credentials for an agent "
        "that authenticates its callers come from the environment variable "
        f"{CREDENTIALS_VARIABLE} (e.g. 'Bearer <token>'), never from an option, which "
        "other users could read in the process list",
    )
    add_options(
        parser,
        "bootstrap_servers",
        "request_topic",
        "reply_topic",
        "profile",
        "connect_timeout",
        "verbose",
    )


CREDENTIALS_VARIABLE = "A2A_KAFKA_CREDENTIALS"
"""The environment variable ``send`` and ``stream`` take the caller's credentials from."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``send`` and ``stream`` to ``commands`` (the top-level subparsers)."""
    send = commands.add_parser(
        "send",
        help="send a message and print the reply",
        description="Send a user message to an agent and print its reply.",
        epilog=_SEND_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_call_arguments(send)
    send.set_defaults(run=run_send)
    stream = commands.add_parser(
        "stream",
        help="send a message and print the events of the reply as they arrive",
        description="Send a user message to an agent as a stream, and print each event\n"
        "of the reply as it arrives.",
        epilog=_STREAM_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_call_arguments(stream)
    stream.set_defaults(run=run_stream)


_SLICE = 0.2
"""How often a waiting ``send`` looks whether it was interrupted."""


def _client(args: argparse.Namespace) -> KafkaClientTransport:
    """The command's client. Its reply topic is one per user and host (or ``--reply-topic``),
    made once and shared by every command of that user: a command leaves no topic behind,
    and each reads only the replies to its own request (from the topic's end on)."""
    return KafkaClientTransport(
        request_topic=args.request_topic,
        reply_topic=args.reply_topic or cli_reply_topic(),
        timeout=args.timeout,
        protocol_version=args.protocol_version,
        credentials=os.environ.get(CREDENTIALS_VARIABLE) or None,
        **connection_settings(args),
    )


def _message(args: argparse.Namespace) -> Message:
    return Message.user_text(args.text, task_id=args.task_id, context_id=args.context_id)


def run_send(args: argparse.Namespace) -> int:
    """``send``: one request, one reply printed; the agent's A2A error is raised."""
    with _client(args) as client:
        call = client.submit(_message(args))
        deadline = time.monotonic() + args.timeout
        # In slices: an interrupt that kafka-python's network code swallowed still ends it.
        while not call.wait(max(0.0, min(_SLICE, deadline - time.monotonic()))):
            if INTERRUPTED.is_set():
                call.cancel()
                raise KeyboardInterrupt
            if time.monotonic() >= deadline:
                call.cancel()
                raise RequestTimeoutError(
                    f"no reply within {args.timeout}s", correlation_id=call.correlation_id
                )
        reply = call.result(timeout=0)
    lines = [json_line(reply)] if args.json else reply_lines(reply)
    print("\n".join(lines), flush=True)
    return ExitCode.OK


def run_stream(args: argparse.Namespace) -> int:
    """``stream``: print each event as it arrives; the agent's A2A error ends it, raised."""
    with _client(args) as client:
        events = client.send_message_streaming(_message(args))
        label = f"events from {client.config.request_topic}"
        with events, Progress(sys.stderr, label) as progress:
            for event in events:
                with progress.printing():
                    lines = [json_line(event)] if args.json else event_lines(event)
                    if lines:
                        print("\n".join(lines), flush=True)
    return ExitCode.OK
