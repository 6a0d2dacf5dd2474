"""Recent requests by correlation id: so a redelivered request is answered again, not run again."""

from __future__ import annotations

import enum
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ..wire import RequestHeaders

__all__ = ["CachedReply", "RequestLedger", "Seen", "ledger_key"]


class Seen(enum.Enum):
    """What the ledger knows of a correlation id."""

    NEW = "new"
    RUNNING = "running"
    ANSWERED = "answered"


class CachedReply(NamedTuple):
    """One reply sent for a request: its value, and the ``sequence`` header it went with (a
    stream's task event), so a redelivery replays the stream with the same numbers."""

    value: bytes
    sequence: int | None = None


def ledger_key(headers: RequestHeaders) -> str:
    """The ledger's key of a request: its correlation id, reply topic and credentials.

    A redelivery is the same record, so it finds its replies; a request that copies
    someone's correlation id but names another reply topic or carries other
    credentials is a new request, and never gets the cached replies of the first.
    """
    key = f"{headers.correlation_id}\x1f{headers.reply_topic}"
    if headers.authorization:
        key += "\x1f" + hashlib.sha256(headers.authorization.encode()).hexdigest()[:32]
    return key


class _Entry:
    __slots__ = ("cached", "followers", "replies", "running", "size")

    def __init__(self) -> None:
        self.followers: list[Callable[[bool], None]] = []
        self.running = True
        self.cached = True
        self.replies: list[CachedReply] = []
        self.size = 0


_ENTRY_OVERHEAD = 200
"""Bytes an entry costs besides its key and replies (the entry, its dict slot), roughly."""


class RequestLedger:
    """A bounded window of recent correlation ids, with the replies sent to each.

    Kafka delivers at least once: after a rebalance or a restart a request may
    come back. A request still running is not started twice; one already
    answered gets its cached replies sent again. The window keeps at most
    ``max_entries`` ids and ``max_bytes`` of keys and reply values, oldest out first; a
    request whose replies outgrow ``max_bytes / 8`` keeps its id but not its
    replies, so a redelivery of it runs again. Thread-safe.
    """

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entry_limit = max(1, max_bytes // 8)
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, correlation_id: str) -> tuple[Seen, list[CachedReply]]:
        """Register a request about to run; or say it is running, or answered (with replies)."""
        with self._lock:
            entry = self._entries.get(correlation_id)
            if entry is not None:
                if entry.running:
                    return Seen.RUNNING, []
                if entry.cached:
                    self._entries.move_to_end(correlation_id)
                    return Seen.ANSWERED, list(entry.replies)
                self._drop(correlation_id)  # answered, replies not kept: run it again
            self._entries[correlation_id] = _Entry()
            self._bytes += len(correlation_id) + _ENTRY_OVERHEAD  # keys count too
            self._evict()
            return Seen.NEW, []

    def record(self, correlation_id: str, value: bytes, sequence: int | None = None) -> None:
        """Keep one reply value sent for the request, with its ``sequence`` header (None: it
        had none), while the window has room."""
        with self._lock:
            entry = self._entries.get(correlation_id)
            if entry is None or not entry.cached:
                return
            if entry.size + len(value) > self._entry_limit:
                self._bytes -= entry.size
                entry.cached, entry.replies, entry.size = False, [], 0
                return
            entry.replies.append(CachedReply(value, sequence))
            entry.size += len(value)
            self._bytes += len(value)
            self._evict()

    def follow(self, correlation_id: str, callback: Callable[[bool], None]) -> None:
        """Call ``callback(answered)`` when the running request ends (at once if it is not
        running): ``answered`` False when that run sent nothing (it moved to another server,
        see :mod:`.moved`), so the duplicate must be run itself.

        A duplicate of a running request is finished only then, so its offset is
        not committed before the original's replies are sent.
        """
        with self._lock:
            entry = self._entries.get(correlation_id)
            if entry is not None and entry.running:
                entry.followers.append(callback)
                return
        callback(entry is not None)

    def finish(self, correlation_id: str, *, answered: bool = True) -> None:
        """The request ended; without ``answered`` (nothing sent) it is forgotten."""
        with self._lock:
            entry = self._entries.get(correlation_id)
            if entry is None:
                return
            followers, entry.followers = entry.followers, []
            if not answered:
                self._drop(correlation_id)
            else:
                entry.running = False
        for callback in followers:
            callback(answered)

    def _drop(self, correlation_id: str) -> None:
        entry = self._entries.pop(correlation_id)
        self._bytes -= entry.size + len(correlation_id) + _ENTRY_OVERHEAD

    def _evict(self) -> None:
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            if self._entries[oldest].running and len(self._entries) <= self.max_entries:
                break  # only finished entries give their bytes back
            self._drop(oldest)
