"""``serve``: import a handler and serve it with ``KafkaServerApp.run()``, in the foreground."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from ..config import ServerConfig
from ..errors import ConfigurationError
from ..server import KafkaServerApp
from ..types import AgentCapabilities, AgentCard
from .exits import PROG, ExitCode
from .options import add_options, connection_settings, positive_int

__all__ = ["load_handler", "register", "run_serve"]

_EPILOG = """\
HANDLER is MODULE:ATTRIBUTE, imported with the current directory importable: a plain
function fn(message, context) or fn(message), a generator function (a stream: a task,
each item it yields a chunk of its answer), or a handler object (a RequestHandler
subclass; a class is instantiated without arguments). The agent serves in the
foreground; Ctrl-C or SIGTERM stops it: requests in flight finish, offsets are
committed, and the exit code is 0.

On start the server publishes its agent card on the card topic (--no-card: none). The
card is named after the request topic unless --name says otherwise.

examples:
  # myagents.py:  def echo(message): return "echo: " + message.text
  a2a-kafka-sync serve myagents:echo --request-topic echo-agent
  a2a-kafka-sync serve myagents:echo --request-topic echo-agent \\
      --name echo --description "Says it back"
  A2A_KAFKA_BOOTSTRAP=kafka1:9092 a2a-kafka-sync serve billing.agents:Billing --max-workers 16
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to ``commands`` (the top-level subparsers)."""
    parser = commands.add_parser(
        "serve",
        help="serve an agent (a Python function or handler object) until stopped",
        description="Serve an agent from its request topic, in the foreground.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("handler", metavar="HANDLER", help="the agent, as MODULE:ATTRIBUTE")
    parser.add_argument(
        "--group", metavar="GROUP", help="consumer group (default a2a-server-<request topic>)"
    )
    parser.add_argument(
        "--max-workers", type=positive_int, metavar="N", help="handler threads (default 8)"
    )
    parser.add_argument(
        "--max-in-flight",
        type=positive_int,
        metavar="N",
        help="requests taken and not yet answered, at most (default 64; at least --max-workers)",
    )
    parser.add_argument("--name", help="the agent's name in its card (default: the request topic)")
    parser.add_argument("--description", help="the agent's description in its card")
    parser.add_argument(
        "--no-card", action="store_true", help="do not publish the agent card on start"
    )
    add_options(
        parser,
        "bootstrap_servers",
        "request_topic",
        "card_topic",
        "profile",
        "connect_timeout",
        "verbose",
    )
    parser.set_defaults(run=run_serve)


def load_handler(spec: str) -> Any:
    """Import the handler named by ``spec`` (``module:attribute``, dots allowed in both).

    The current directory is importable. A class that has ``on_message_send`` or
    ``on_message_send_stream`` is instantiated without arguments. Raises
    ConfigurationError when the spec is malformed, the module cannot be imported,
    the attribute is missing, or the object is neither callable nor a handler object.
    """
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise ConfigurationError(f"the handler {spec!r} is not MODULE:ATTRIBUTE, e.g. agents:echo")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # the user's module failed to import: say so in one line
        raise ConfigurationError(
            f"cannot import {module_name!r} for the handler: {type(exc).__name__}: {exc}"
        ) from exc
    for name in attribute.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise ConfigurationError(
                f"the handler {spec!r} does not exist: {module_name!r} has no {attribute!r}"
            ) from None
    is_handler_object = hasattr(target, "on_message_send") or hasattr(
        target, "on_message_send_stream"
    )
    if isinstance(target, type) and is_handler_object:
        return target()
    if not is_handler_object and not callable(target):
        raise ConfigurationError(
            f"the handler {spec!r} is a {type(target).__name__}, not a function, "
            "a generator function or a handler object"
        )
    return target


def _card(args: argparse.Namespace) -> AgentCard | None:
    """The card to serve with: None (the library's default card) unless named or described."""
    if args.name is None and args.description is None:
        return None
    default_topic: str = ServerConfig.model_fields["request_topic"].default
    return AgentCard(
        name=args.name or args.request_topic or default_topic,
        description=args.description or "",
        preferred_transport="KAFKA",
        capabilities=AgentCapabilities(streaming=True, push_notifications=True),
    )


def run_serve(args: argparse.Namespace) -> int:
    """``serve``: start the app, then ``run()`` it until SIGINT or SIGTERM; exit 0."""
    handler = load_handler(args.handler)
    settings: dict[str, Any] = connection_settings(args)
    if args.no_card:
        settings["card_topic"] = None
    elif args.card_topic:
        settings["card_topic"] = args.card_topic
    if args.max_workers is not None:
        settings["max_workers"] = args.max_workers
    if args.max_in_flight is not None:
        settings["max_in_flight"] = args.max_in_flight
    app = KafkaServerApp(
        handler,
        request_topic=args.request_topic,
        consumer_group_id=args.group,
        agent_card=_card(args),
        **settings,
    )
    try:
        app.start()
        config = app.config
        print(
            f"{PROG}: serving {args.handler} on {config.request_topic} as group "
            f"{config.group_id} at {','.join(config.bootstrap_servers)}; stop with Ctrl-C",
            file=sys.stderr,
            flush=True,
        )
        app.run()  # returns after SIGINT or SIGTERM, having stopped the app
    except KeyboardInterrupt:  # a signal before run() took SIGINT and SIGTERM over
        pass
    finally:
        app.stop()
    print(f"{PROG}: stopped serving {app.config.request_topic}", file=sys.stderr, flush=True)
    return ExitCode.OK
