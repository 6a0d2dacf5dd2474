"""One page of ``task_list`` (A2A v1.0 ``ListTasks``): filters, order and cursors.

The tasks are sorted by their status timestamp, most recent first (ties by task
id, descending), as A2A v1.0 asks. A page token is an opaque cursor: the sort key
of the last task of the page before, so a task updated between two pages moves
to the front of the list instead of shifting the pages under the reader.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from datetime import datetime, timezone

from ...errors import InvalidParamsError
from ...types import ListTasksParams, Task, TaskPage

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "page_of"]

DEFAULT_PAGE_SIZE = 50
"""Tasks in a page when the caller gives no ``pageSize`` (A2A v1.0)."""

MAX_PAGE_SIZE = 100
"""The largest ``pageSize`` a caller may ask for (A2A v1.0)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_SortKey = tuple[float, str]


def _when(text: str | None) -> float:
    """Seconds since the epoch of an ISO 8601 timestamp; no timestamp sorts last."""
    if not text:
        return float("-inf")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return float("-inf")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH).total_seconds()


def _key(task: Task) -> _SortKey:
    return (_when(task.status.timestamp), task.id)


def _encode_token(key: _SortKey) -> str:
    raw = json.dumps([None if key[0] == float("-inf") else key[0], key[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> _SortKey:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        when, task_id = json.loads(raw)
        if not isinstance(task_id, str) or not (when is None or isinstance(when, (int, float))):
            raise ValueError(token)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidParamsError("pageToken is not a token this agent gave out") from None
    return (float("-inf") if when is None else float(when), task_id)


def _trimmed(task: Task, params: ListTasksParams) -> Task:
    update: dict[str, object] = {}
    if params.history_length is not None and task.history:
        keep = max(0, params.history_length)
        update["history"] = task.history[len(task.history) - keep :] if keep else []
    if params.include_artifacts is False and task.artifacts is not None:
        update["artifacts"] = None
    return task.model_copy(update=update) if update else task


def page_of(
    tasks: Iterable[Task], params: ListTasksParams, *, default_size: int | None = DEFAULT_PAGE_SIZE
) -> TaskPage:
    """The page of ``tasks`` that ``params`` asks for (filters, page size, page token).

    Without a ``pageSize`` a page holds ``default_size`` tasks (None: all of them,
    as a 0.3 ``task_list`` always did). Raises InvalidParamsError for a page size
    outside 1..100, a bad page token or a ``statusTimestampAfter`` that is not an
    ISO 8601 time.
    """
    size = default_size if params.page_size is None else params.page_size
    if size is not None and not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidParamsError(f"pageSize must be between 1 and {MAX_PAGE_SIZE}, not {size}")
    after = params.status_timestamp_after
    since = _when(after) if after else None
    if after and since == float("-inf"):
        raise InvalidParamsError(f"statusTimestampAfter is not an ISO 8601 time: {after[:40]!r}")
    chosen = [
        task
        for task in tasks
        if (params.context_id is None or task.context_id == params.context_id)
        and (params.status is None or task.status.state == params.status)
        and (since is None or _when(task.status.timestamp) >= since)
    ]
    chosen.sort(key=_key, reverse=True)
    start = 0
    if params.page_token:
        cursor = _decode_token(params.page_token)
        start = next((n for n, task in enumerate(chosen) if _key(task) < cursor), len(chosen))
    end = len(chosen) if size is None else start + size
    page = chosen[start:end]
    more = end < len(chosen)
    return TaskPage(
        tasks=[_trimmed(task, params) for task in page],
        next_page_token=_encode_token(_key(page[-1])) if more and page else "",
        page_size=len(page) if size is None else size,
        total_size=len(chosen),
    )
