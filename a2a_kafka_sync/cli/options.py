"""The options the commands share, and the environment variables behind them.

Each shared option is accepted before the command (``a2a-kafka-sync --profile low-latency
send hi``) and after it (``a2a-kafka-sync send hi --profile low-latency``); after wins.
An option not given on the command line is read from its environment variable.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from ..config import PROFILES

__all__ = [
    "ENVIRONMENT",
    "add_options",
    "apply_environment",
    "connection_settings",
    "positive_float",
    "positive_int",
]

ENVIRONMENT: dict[str, str] = {
    "bootstrap_servers": "A2A_KAFKA_BOOTSTRAP",
    "request_topic": "A2A_KAFKA_REQUEST_TOPIC",
    "profile": "A2A_KAFKA_PROFILE",
    "card_topic": "A2A_KAFKA_CARD_TOPIC",
    "reply_topic": "A2A_KAFKA_REPLY_TOPIC",
}
"""Option (its ``dest``) -> the environment variable read when the option is not given."""


def positive_float(text: str) -> float:
    """An argparse ``type``: a number of seconds greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
    return value


def positive_int(text: str) -> int:
    """An argparse ``type``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


_OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "bootstrap_servers": (
        ("--bootstrap-servers",),
        {
            "metavar": "HOST:PORT[,...]",
            "help": "Kafka brokers, comma-separated (env A2A_KAFKA_BOOTSTRAP; "
            "default localhost:9092)",
        },
    ),
    "request_topic": (
        ("--request-topic",),
        {
            "metavar": "TOPIC",
            "help": "the agent's request topic (env A2A_KAFKA_REQUEST_TOPIC; default a2a-requests)",
        },
    ),
    "profile": (
        ("--profile",),
        {
            "choices": sorted(PROFILES),
            "help": "a kafka-python settings profile; low-latency for the embedded broker "
            "(env A2A_KAFKA_PROFILE; default none)",
        },
    ),
    "card_topic": (
        ("--card-topic",),
        {
            "metavar": "TOPIC",
            "help": "the topic of the agent cards (env A2A_KAFKA_CARD_TOPIC; "
            "default a2a-agent-cards)",
        },
    ),
    "reply_topic": (
        ("--reply-topic",),
        {
            "metavar": "TOPIC",
            "help": "the topic replies come back on, shared with your other commands (env "
            "A2A_KAFKA_REPLY_TOPIC; default a2a-reply-cli-<user>-<host>, made when missing)",
        },
    ),
    "connect_timeout": (
        ("--connect-timeout",),
        {
            "type": positive_float,
            "metavar": "SECONDS",
            "help": "how long to keep trying to reach the brokers (default 15)",
        },
    ),
    "verbose": (
        ("-v", "--verbose"),
        {
            "action": "count",
            "help": "log what happens (-v: INFO, -vv: DEBUG, -vvv: kafka-python's DEBUG too) "
            "and show the traceback of a failure",
        },
    ),
}


def add_options(parser: argparse.ArgumentParser, *names: str, top_level: bool = False) -> None:
    """Add the shared options ``names`` (keys of the table above) to ``parser``.

    The top-level parser defines them with real defaults; a command's parser with
    ``SUPPRESS``, so an option left out after the command keeps the value given before it.
    """
    group = parser.add_argument_group("shared options")
    for name in names:
        flags, spec = _OPTIONS[name]
        if top_level:
            default: Any = 0 if name == "verbose" else None
        else:
            default = argparse.SUPPRESS
        group.add_argument(*flags, dest=name, default=default, **spec)


def apply_environment(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> None:
    """Fill each option of :data:`ENVIRONMENT` not given on the command line from its variable.

    An empty variable counts as unset.
    """
    environ = os.environ if environ is None else environ
    for dest, variable in ENVIRONMENT.items():
        if getattr(args, dest, None) is None and environ.get(variable):
            setattr(args, dest, environ[variable])


def connection_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings that reach the brokers (``bootstrap_servers``, ``profile``,
    ``connect_timeout``), for a client, a server or a directory; only those given."""
    settings: dict[str, Any] = {}
    if args.bootstrap_servers:
        settings["bootstrap_servers"] = args.bootstrap_servers
    if args.profile:
        settings["profile"] = args.profile
    if args.connect_timeout is not None:
        settings["connect_timeout"] = args.connect_timeout
    return settings
