"""The per-call ``timeout`` argument: seconds, None (no limit), or the client's default."""

from __future__ import annotations

import enum

__all__ = ["USE_CLIENT_DEFAULT", "Timeout"]


class _UseClientDefault(enum.Enum):
    USE_CLIENT_DEFAULT = "USE_CLIENT_DEFAULT"

    def __repr__(self) -> str:
        return "USE_CLIENT_DEFAULT"


USE_CLIENT_DEFAULT = _UseClientDefault.USE_CLIENT_DEFAULT
"""Per-call ``timeout`` marker meaning "the client's timeout" (``None`` means no limit)."""

Timeout = float | None | _UseClientDefault
"""What a call's ``timeout`` accepts."""
