"""The parser of ``a2a-kafka-sync``, and :func:`main`: run one command, return its exit code."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from types import FrameType

from .. import __version__
from ..errors import A2AKafkaError
from . import call, cards, local, serve
from .exits import INTERRUPTED, PROG, ExitCode, error_line, exit_code_for
from .options import add_options, apply_environment

__all__ = ["build_parser", "main"]

_EPILOG = """\
Every shared option is also read from the environment when it is not given; the command
line wins:
  A2A_KAFKA_BOOTSTRAP      --bootstrap-servers  (default localhost:9092)
  A2A_KAFKA_REQUEST_TOPIC  --request-topic      (default a2a-requests)
  A2A_KAFKA_PROFILE        --profile            (default none)
  A2A_KAFKA_CARD_TOPIC     --card-topic         (default a2a-agent-cards)
  A2A_KAFKA_REPLY_TOPIC    --reply-topic        (default a2a-reply-cli-<user>-<host>)

exit codes:
  0    ok (serve, dev-broker: stopped by Ctrl-C or SIGTERM)
  1    the agent answered with an A2A error (its code and message are printed)
  2    usage error: bad arguments, or a setting the library refused
  3    broker unavailable within --connect-timeout
  4    timeout: no reply (or next stream event) within --timeout
  5    any other error
  130  interrupted (Ctrl-C or SIGTERM)
  141  the output was closed early (... | head)

examples:
  a2a-kafka-sync dev-broker                         # then export what it prints
  a2a-kafka-sync serve myagents:echo --request-topic echo-agent
  a2a-kafka-sync send "hello" --request-topic echo-agent
  a2a-kafka-sync stream "tell me a story" --request-topic demo-storyteller
  a2a-kafka-sync card list

Run a2a-kafka-sync COMMAND --help for a command's options and examples.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command (``a2a-kafka-sync --help`` prints it)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve and call A2A agents over Apache Kafka from the shell.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_options(
        parser,
        "bootstrap_servers",
        "request_topic",
        "card_topic",
        "reply_topic",
        "profile",
        "connect_timeout",
        "verbose",
        top_level=True,
    )
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    serve.register(commands)
    call.register(commands)
    cards.register(commands)
    local.register(commands)
    return parser


def _configure_logging(verbose: int) -> None:
    """Log to stderr: warnings only by default (kafka-python's not at all), more with -v."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    kafka_level = {0: logging.CRITICAL, 1: logging.WARNING, 2: logging.INFO}.get(
        verbose, logging.DEBUG
    )
    detail = "%(asctime)s %(threadName)s " if verbose else ""
    logging.basicConfig(
        level=level, stream=sys.stderr, format=f"{detail}%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("kafka").setLevel(kafka_level)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    INTERRUPTED.set()
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While a command runs, SIGTERM interrupts it like Ctrl-C, so it closes what it opened."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _report(error: BaseException, *, verbose: int) -> int:
    code = exit_code_for(error)
    if verbose:
        traceback.print_exception(error)
    print(error_line(error), file=sys.stderr, flush=True)
    return code


def _output_closed() -> int:
    """stdout's reader went away: stop quietly (and keep Python's exit flush quiet too)."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return ExitCode.PIPE_CLOSED


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``a2a-kafka-sync`` with ``argv`` (default ``sys.argv[1:]``); return its exit code.

    The console script and ``python -m a2a_kafka_sync`` call it. Failures that are
    expected (the agent's A2A error, an unreachable broker, a timeout, a refused
    setting) print one line to stderr, ``a2a-kafka-sync: error: ...``, and the
    traceback only with ``-v``; the exit codes are those of :class:`ExitCode`.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error argparse printed
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or ExitCode.OK
        return ExitCode.USAGE
    apply_environment(args)
    _configure_logging(args.verbose)
    INTERRUPTED.clear()
    try:
        with _sigterm_interrupts():
            return int(args.run(args))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return ExitCode.INTERRUPTED
    except BaseException:
        if INTERRUPTED.is_set():  # the interrupt was swallowed below us; this came after it
            print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
            return ExitCode.INTERRUPTED
        return _failed(args)


def _failed(args: argparse.Namespace) -> int:
    """The exit code of the exception being handled (called inside an ``except`` block)."""
    error = sys.exc_info()[1]
    if isinstance(error, BrokenPipeError):
        return _output_closed()
    if isinstance(error, A2AKafkaError):
        return _report(error, verbose=args.verbose)
    if isinstance(error, Exception):  # a bug: say so, with its traceback
        traceback.print_exception(error)
        print(f"{PROG}: error: unexpected {type(error).__name__}: {error}", file=sys.stderr)
        return ExitCode.ERROR
    raise  # SystemExit and the like go on
