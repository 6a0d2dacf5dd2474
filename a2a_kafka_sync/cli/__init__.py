"""The ``a2a-kafka-sync`` command line: serve an agent, call one, read agent cards.

::

    a2a-kafka-sync serve MODULE:HANDLER   serve a function or handler object until stopped
    a2a-kafka-sync send TEXT              send a message, print the reply
    a2a-kafka-sync stream TEXT            print a streamed reply's events as they arrive
    a2a-kafka-sync card list              the agent cards published for discovery
    a2a-kafka-sync card resolve NAME      one agent's card
    a2a-kafka-sync dev-broker             the embedded broker, in the foreground
    a2a-kafka-sync demo                   python -m a2a_kafka_sync.demo

``python -m a2a_kafka_sync`` is the same program. Each command is a module of this
package: ``serve`` (the server side), ``call`` (``send`` and ``stream``, the client
side), ``cards``, ``local`` (``dev-broker`` and ``demo``); ``entry`` holds the parser
and :func:`main`, ``options`` the shared options and their environment variables,
``exits`` the exit codes, ``output`` and ``progress`` what the terminal shows.
"""

from .entry import build_parser, main
from .exits import ExitCode

__all__ = ["ExitCode", "build_parser", "main"]
