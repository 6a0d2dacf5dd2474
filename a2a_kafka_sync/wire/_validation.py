"""How a pydantic ValidationError reads in the message of the error a record is answered with."""

from __future__ import annotations

from pydantic import ValidationError


def summarise(exc: ValidationError, limit: int = 3) -> str:
    """The first ``limit`` errors of ``exc``, each as ``path: message``, and how many more."""
    errors = exc.errors(include_url=False, include_input=False)
    text = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in errors[:limit]
    )
    if len(errors) > limit:
        text += f"; and {len(errors) - limit} more"
    return text
