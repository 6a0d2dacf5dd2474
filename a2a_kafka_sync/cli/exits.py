"""Exit codes of the command line, and the one line a failure prints."""

from __future__ import annotations

import enum
import json
import threading

from ..errors import (
    A2AError,
    BrokerUnavailableError,
    ConfigurationError,
    NoAgentError,
    RequestTimeoutError,
)

__all__ = ["PROG", "ExitCode", "error_line", "exit_code_for"]

PROG = "a2a-kafka-sync"
"""The program name every message starts with."""


INTERRUPTED = threading.Event()
"""Set by the SIGINT/SIGTERM handler. kafka-python's network code catches BaseException, so
a KeyboardInterrupt raised while it runs on the caller's thread can be swallowed; waits check
this too, and the exit code is 130 whatever the command then raised."""


class ExitCode(enum.IntEnum):
    """What the exit status of ``a2a-kafka-sync`` means (the same for every command)."""

    OK = 0
    """Done; also ``serve`` and ``dev-broker`` when a signal stopped them."""
    AGENT_ERROR = 1
    """The agent answered with an A2A error (its code and message are printed)."""
    USAGE = 2
    """The command line was wrong (argparse's), or the library refused a setting given on it."""
    BROKER_UNAVAILABLE = 3
    """No Kafka broker answered within ``--connect-timeout``."""
    TIMEOUT = 4
    """No reply (for ``stream``, no next event) within ``--timeout``."""
    ERROR = 5
    """Any other failure: another library error, or an unexpected one (with its traceback)."""
    NO_AGENT = 6
    """No agent serves the request topic: it does not exist, or no consumer group reads it
    (said at once, not after ``--timeout``)."""
    INTERRUPTED = 130
    """Ctrl-C (SIGINT) or SIGTERM stopped a command that is not a server."""
    PIPE_CLOSED = 141
    """The program reading the output went away (``... | head``)."""


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code of a command that failed with ``error``."""
    if isinstance(error, A2AError):
        return ExitCode.AGENT_ERROR
    if isinstance(error, ConfigurationError):
        return ExitCode.USAGE
    if isinstance(error, BrokerUnavailableError):
        return ExitCode.BROKER_UNAVAILABLE
    if isinstance(error, RequestTimeoutError):
        return ExitCode.TIMEOUT
    if isinstance(error, NoAgentError):
        return ExitCode.NO_AGENT
    return ExitCode.ERROR


def error_line(error: BaseException) -> str:
    """The one line printed to stderr for ``error``: ``a2a-kafka-sync: error: ...``.

    An agent's A2A error shows its code, message and ``data`` (as JSON, when it has
    any); other errors show their text. Line breaks inside become spaces.
    """
    if isinstance(error, A2AError):
        text = f"the agent answered with error {error.code}: {error.message}"
        if error.data is not None:
            text += f" (data: {json.dumps(error.data, default=str)})"
    else:
        text = str(error) or type(error).__name__
    return f"{PROG}: error: {' '.join(text.split())}"
