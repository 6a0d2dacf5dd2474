"""The shared base model and small helpers used by every A2A type."""

from __future__ import annotations

import os
import random
from datetime import datetime, timezone
from enum import Enum
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel

from ._wire import WIRE_REQUEST, WireRequired, absent_marked

_Model = TypeVar("_Model", bound="A2ABaseModel")


_ids = random.Random(int.from_bytes(os.urandom(16), "big"))
os.register_at_fork(after_in_child=lambda: _ids.seed(int.from_bytes(os.urandom(16), "big")))


def new_id() -> str:
    """Return a fresh random identifier (32 lowercase hex digits, 128 random bits).

    Drawn from a generator seeded from the OS (and reseeded in a forked child)
    rather than from ``uuid.uuid4()``: that asks the OS for every id, a system
    call that, with many threads, costs a GIL hand-over on the hot path. The ids
    are unique, not secret.
    """
    return f"{_ids.getrandbits(128):032x}"


def utc_now_iso() -> str:
    """Return the current UTC time in ISO 8601, e.g. ``2025-01-31T12:00:00.000Z``."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return now.replace("+00:00", "Z")


class WireEnum(str, Enum):
    """A string enum whose ``str()`` is its wire value."""

    def __str__(self) -> str:
        return str(self.value)


class A2ABaseModel(BaseModel):
    """Base of every A2A object: snake_case in Python, camelCase JSON on the wire.

    Unknown fields are accepted and kept, and ``null`` is treated as an absent field.
    A request's params are read strictly (:meth:`from_request`).
    """

    __wire_required__: ClassVar[tuple[tuple[str, str], ...]] = ()
    """(name, alias) of the fields marked ``WireRequired``: a request must carry them."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.__wire_required__ = tuple(
            (name, field.alias or name)
            for name, field in cls.model_fields.items()
            if any(meta is WireRequired for meta in field.metadata)
        )

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        """Treat ``"field": null`` like a missing field, so defaults apply."""
        if isinstance(data, dict) and None in data.values():  # copy only when needed
            return {key: value for key, value in data.items() if value is not None}
        return data

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON-compatible dict the wire carries (camelCase, no nulls)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_json(self) -> bytes:
        """Return the exact UTF-8 JSON the wire carries (camelCase, no nulls)."""
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()

    @classmethod
    def from_wire(cls: type[_Model], data: Any) -> _Model:
        """Parse a decoded JSON object (camelCase or snake_case keys)."""
        return cls.model_validate(data)

    @classmethod
    def from_request(cls: type[_Model], data: Any) -> _Model:
        """Parse the params of a request record, strictly: what the spec requires must be
        there (no ``messageId`` invented, no empty ``parts``), ids not empty, integers and
        booleans JSON's own. Raises pydantic's ``ValidationError`` naming each field."""
        return cls.model_validate(absent_marked(cls, data), context=WIRE_REQUEST)

    @classmethod
    def from_json(cls: type[_Model], data: str | bytes | bytearray) -> _Model:
        """Parse raw JSON text or bytes as received from the wire."""
        return cls.model_validate_json(data)
