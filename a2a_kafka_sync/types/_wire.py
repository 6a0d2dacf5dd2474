"""Strict reading of a request's params from the wire; convenience everywhere else.

Building a model in Python keeps its conveniences (a fresh ``messageId``, ``kind``
filled in, ``"5"`` read as 5). Reading the params of a *request* record must not invent
what the caller did not send: :meth:`A2ABaseModel.from_request
<a2a_kafka_sync.types.A2ABaseModel.from_request>` validates with :data:`WIRE_REQUEST` as
the pydantic validation context, and the field types below apply their rules only then.
Replies, stored tasks and Python callers are read as before.

The rules (``docs/binding.md``, section "Strict params"):

- :data:`WireRequired` fields must be on the wire even though Python has a default for
  them (``Message.kind``, ``Message.messageId``);
- :data:`Identifier`: a non-empty string (an empty id names nothing);
- :data:`PARTS_RULE`: a message's parts, at least one;
- :data:`Count`: a JSON integer, 0 or more (``historyLength``);
- :data:`PageSize`: a JSON integer, 1 or more;
- :data:`Flag`: a JSON boolean (``true`` / ``false``, not ``"yes"`` or 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, ValidationInfo
from pydantic_core import PydanticCustomError

_KEY = "a2a_wire_request"

WIRE_REQUEST: Final[dict[str, bool]] = {_KEY: True}
"""The pydantic validation context that reads a request's params strictly."""


def reading_request(info: ValidationInfo) -> bool:
    """True while a request's params are read from the wire (context :data:`WIRE_REQUEST`)."""
    context = info.context
    return isinstance(context, dict) and context.get(_KEY) is True


class _Absent:
    """Stands, while a request is read, for a wire-required field the record left out."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Final = _Absent()


class _WireRequired:
    def __repr__(self) -> str:
        return "WireRequired"


WireRequired: Final = _WireRequired()
"""Marks (in ``Annotated``) a field the wire must carry although Python has a default.

The field holding such a model in a request (``MessageSendParams.message``, the only
one) is annotated with :func:`with_required_fields`, which puts :data:`ABSENT` in place
of such a field when a request leaves it out (or sends ``null``); the field's type
refuses it at the field's own path: the rules below as a missing field, a ``Literal``
(``kind``) as not its value. (Checked there rather than by every model, whose
validation would then cost a ``ValidationInfo`` each time, replies included.)
"""


def with_required_fields(model: type[Any]) -> BeforeValidator:
    """The validator of a request's field that holds a ``model`` (an ``A2ABaseModel`` with
    ``WireRequired`` fields): reading a request, those the record left out are ABSENT."""

    def fill(value: Any, info: ValidationInfo) -> Any:
        return absent_marked(model, value) if reading_request(info) else value

    return BeforeValidator(fill)


def absent_marked(model: type[Any], value: Any) -> Any:
    """``value`` (a request's JSON object for a ``model``) with :data:`ABSENT` in each
    ``WireRequired`` field of ``model`` it leaves out or sends as ``null``."""
    if not isinstance(value, dict):
        return value
    absent = {
        alias: ABSENT
        for name, alias in model.__wire_required__
        if value.get(alias) is None and value.get(name) is None
    }
    return {**value, **absent} if absent else value


def _strict(check: Callable[[Any], str | None]) -> BeforeValidator:
    """A validator that, reading a request, raises the problem ``check`` finds."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        if value is ABSENT:
            raise PydanticCustomError("missing", "Field required")
        if reading_request(info):
            problem = check(value)
            if problem is not None:
                raise PydanticCustomError("a2a_wire", problem)
        return value

    return BeforeValidator(validate)


def _identifier(value: Any) -> str | None:
    return "must not be empty" if value == "" else None


def _parts(value: Any) -> str | None:
    return "at least one part is required" if isinstance(value, list) and not value else None


def _integer(minimum: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if type(value) is not int:
            return f"must be a JSON integer, {minimum} or more"
        return None if value >= minimum else f"must be {minimum} or more, not {value}"

    return check


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


Identifier = Annotated[str, _strict(_identifier)]
"""A string id; read from a request, it must not be empty."""

Count = Annotated[int, _strict(_integer(0))]
"""A number of items (``historyLength``); read from a request, a JSON integer >= 0."""

PageSize = Annotated[int, _strict(_integer(1))]
"""A page size; read from a request, a JSON integer >= 1."""

Flag = Annotated[bool, _strict(_flag)]
"""A boolean; read from a request, a JSON ``true`` or ``false``."""

PARTS_RULE: Final = _strict(_parts)
"""The rule of a message's parts: read from a request, at least one."""
