"""``card list`` and ``card resolve``: the agent cards on the discovery topic."""

from __future__ import annotations

import argparse
import json
import sys

from ..discovery import AgentDirectory
from .exits import PROG, ExitCode
from .options import add_options, connection_settings, positive_float
from .output import card_lines, card_table, json_line

__all__ = ["register", "run_list", "run_resolve"]

_EPILOG = """\
Servers publish their cards on the card topic when they start (a2a-kafka-sync serve,
KafkaServerApp(card_topic=...)), republish them while they run and remove them when they
stop; these commands read that topic. A card its server stopped renewing (a crash) is
stale after its time to live and left out, unless --all.

examples:
  a2a-kafka-sync card list
  a2a-kafka-sync card list --json | jq -r '.[].name'
  a2a-kafka-sync card list --all
  a2a-kafka-sync card resolve storyteller
  a2a-kafka-sync card resolve storyteller --json
  A2A_KAFKA_CARD_TOPIC=team-cards a2a-kafka-sync card list
"""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the cards as A2A JSON")
    parser.add_argument(
        "--all",
        action="store_true",
        dest="include_stale",
        help="also the stale cards: those their server stopped renewing (crashed)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        help="how long reading the card topic may take (default 10)",
    )
    add_options(parser, "bootstrap_servers", "card_topic", "profile", "connect_timeout", "verbose")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``card`` and its subcommands to ``commands`` (the top-level subparsers)."""
    card = commands.add_parser(
        "card",
        help="list or resolve the agent cards servers published",
        description="Read the agent cards servers published on the card topic.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = card.add_subparsers(
        title="card commands", dest="card_command", metavar="CARD_COMMAND", required=True
    )
    listing = actions.add_parser(
        "list",
        help="one line per published card: name, kafka:// address, description",
        description="List the published agent cards, sorted by name: name, kafka://\n"
        "address and description. --json prints them as one JSON array.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(listing)
    listing.set_defaults(run=run_list)
    resolve = actions.add_parser(
        "resolve",
        help="the card published under one agent name",
        description="Print the card published under NAME; --json prints all of it.\n"
        "A name with no card is an error (exit 5).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    resolve.add_argument("name", metavar="NAME", help="the agent's name")
    _add_arguments(resolve)
    resolve.set_defaults(run=run_resolve)


def _directory(args: argparse.Namespace) -> AgentDirectory:
    settings = connection_settings(args)
    if args.timeout is not None:
        settings["read_timeout"] = args.timeout
    return AgentDirectory(topic=args.card_topic, **settings)


def run_list(args: argparse.Namespace) -> int:
    """``card list``: every card on the topic, one line each (or a JSON array)."""
    with _directory(args) as directory:
        cards = directory.list(include_stale=args.include_stale)
        topic = directory.topic
    if args.json:
        print(json.dumps([card.to_wire() for card in cards]), flush=True)
    elif cards:
        print("\n".join(card_table(cards)), flush=True)
    else:
        print(f"{PROG}: no agent cards on {topic}", file=sys.stderr)
    return ExitCode.OK


def run_resolve(args: argparse.Namespace) -> int:
    """``card resolve NAME``: one card; AgentNotFoundError when there is none."""
    with _directory(args) as directory:
        card = directory.resolve(args.name, include_stale=args.include_stale)
    print(json_line(card) if args.json else "\n".join(card_lines(card)), flush=True)
    return ExitCode.OK
