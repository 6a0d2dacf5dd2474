"""How a pydantic ValidationError reads in the message of the error a record is answered with.

Each error is ``path: message``; the input itself is never quoted (it may be huge, or a
secret), and pydantic's messages that would quote it are rewritten.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..types._wire import ABSENT

MAX_DETAIL = 200
"""The longest one error's message may be."""


def field_path(loc: tuple[int | str, ...], root: str = "") -> str:
    """A pydantic error location as a path under ``root``, list items by index, as the v1
    reader writes it (``params.message.parts[0].kind``)."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    if root:
        return f"{root}.{path}" if path else root
    return path or "<root>"


def errors_of(exc: ValidationError, root: str = "") -> list[tuple[str, str]]:
    """The errors of ``exc`` as (path, message): a discriminated union's errors at its
    discriminator (``parts.0.kind``), a field a request left out as ``Field required``."""
    out = []
    for err in exc.errors(include_url=False):
        loc, message = err["loc"], err["msg"]
        if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
            ctx: dict[str, Any] = err.get("ctx") or {}
            loc = (*loc, str(ctx.get("discriminator", "")).strip("'"))
            message = (
                "Field required"
                if err["type"] == "union_tag_not_found"
                else f"must be one of {ctx.get('expected_tags', '')}"
            )
        elif err.get("input") is ABSENT:
            message = "Field required"
        if len(message) > MAX_DETAIL:
            message = message[: MAX_DETAIL - 3] + "..."
        out.append((field_path(loc, root), message))
    return out


def summarise(exc: ValidationError, limit: int = 3, *, root: str = "") -> str:
    """The first ``limit`` errors of ``exc``, each as ``path: message`` (the path under
    ``root``), and how many more."""
    errors = errors_of(exc, root)
    text = "; ".join(f"{path}: {message}" for path, message in errors[:limit])
    if len(errors) > limit:
        text += f"; and {len(errors) - limit} more"
    return text
