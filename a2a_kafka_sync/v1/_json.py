"""Reading and writing A2A v1.0 protobuf-JSON: the helpers every converter shares.

:class:`V1Object` reads one JSON object the way a protobuf JSON parser does (the
lowerCamelCase name or the proto field name, ``null`` as absent, enums by name or
number, int32 as a number or a numeric string) and raises
:class:`~a2a_kafka_sync.errors.InvalidParamsError` naming the field's path when the
input is not one. A request is read strictly (``request=True``): identifiers must not
be empty, as proto3 reads an empty string as a field not set. The write side is plain
dicts; values v1 cannot carry raise ``ValueError``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NoReturn

from ..errors import InvalidParamsError

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})", re.ASCII
)
_CAMEL_HUMP = re.compile(r"([A-Z])")


def snake(name: str) -> str:
    """The proto field name of a lowerCamelCase JSON name (``messageId`` -> ``message_id``)."""
    return _CAMEL_HUMP.sub(lambda m: "_" + m.group(1).lower(), name)


def rfc3339_problem(value: str) -> str | None:
    """Why ``value`` is not a timestamp google.protobuf.Timestamp's JSON form accepts, or None.

    That form is RFC 3339 with an upper-case ``T``, an offset (``Z`` or ``±hh:mm``) and
    at most nine fractional digits. A time without an offset is refused rather than
    read as UTC.
    """
    if not _RFC3339.fullmatch(value):
        return (
            f"{value[:40]!r} is not an RFC 3339 timestamp with an offset "
            "(e.g. 2026-11-26T10:00:00Z)"
        )
    try:
        # fromisoformat takes at most 6 fractional digits: cut the rest for the date check.
        head, _, tail = value.partition(".")
        if tail:
            digits = len(tail) - len(tail.lstrip("0123456789"))
            value = head + "." + tail[: min(digits, 6)] + tail[digits:]
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"{value[:40]!r} is not a valid date and time"
    return None


def check_timestamp(value: str, where: str) -> str:
    """``value`` itself when v1 can carry it as a Timestamp; ValueError otherwise."""
    problem = rfc3339_problem(value)
    if problem:
        raise ValueError(f"{where}: {problem}")
    return value


def check_int32(value: int, where: str) -> int:
    """``value`` when it fits a protobuf int32; ValueError otherwise."""
    if not INT32_MIN <= value <= INT32_MAX:
        raise ValueError(f"{where}: {value} does not fit in an int32")
    return value


def check_base64(value: str, where: str) -> str:
    """``value`` when it is standard base64 (what v1's ``bytes`` fields carry); ValueError else."""
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{where}: {value[:40]!r}... is not base64") from None
    return value


def put(out: dict[str, Any], key: str, value: Any) -> None:
    """Set ``out[key]`` unless ``value`` is None (v1 JSON leaves unset fields out)."""
    if value is not None:
        out[key] = value


def extra(model: Any, key: str) -> Any:
    """The extra (unknown, kept) field ``key`` of a model, or None."""
    return (model.model_extra or {}).get(key)


def fail(path: str, message: str) -> NoReturn:
    """Raise the InvalidParamsError of a bad v1 input at ``path`` (its ``data.field``)."""
    if not path:
        raise InvalidParamsError(message)
    raise InvalidParamsError(f"{path}: {message}", data={"field": path})


class V1Object:
    """One v1 JSON object being read, and where it sits (``path``) for error messages.

    ``request``: the object is (part of) a request's params, read strictly; the objects
    it hands out inherit it.
    """

    def __init__(self, data: Any, path: str, *, request: bool = False) -> None:
        if not isinstance(data, Mapping):
            fail(path, f"expected a JSON object, got {_kind(data)}")
        self.data: Mapping[str, Any] = data
        self.path = path
        self.request = request

    def at(self, name: str) -> str:
        """The path of the field ``name``."""
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, message: str) -> NoReturn:
        """Raise the InvalidParamsError of the bad field ``name``."""
        fail(self.at(name), message)

    def has(self, name: str) -> bool:
        """True when the field is present and not null."""
        return self.raw(name) is not None

    def raw(self, name: str) -> Any:
        """The field's JSON value (by JSON name or proto name), None when absent or null."""
        value = self.data.get(name)
        if value is None:
            value = self.data.get(snake(name))
        return value

    def _typed(self, name: str, kind: type | tuple[type, ...], what: str, required: bool) -> Any:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return None
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            self.fail(name, f"expected {what}, got {_kind(value)}")
        return value

    def text(self, name: str, *, required: bool = False) -> str | None:
        """A string field."""
        value: str | None = self._typed(name, str, "a string", required)
        return value

    def req_text(self, name: str, *, empty_ok: bool = False) -> str:
        """A string field the proto marks REQUIRED.

        With ``empty_ok`` (free text such as a name or a description, where ``""`` is a
        fine value) an absent field is the empty string: protobuf JSON writers leave
        empty strings out. Identifiers and URLs must be there, and in a request not be
        empty.
        """
        value: str = self._typed(name, str, "a string", not empty_ok)
        if value == "" and self.request and not empty_ok:
            self.fail(name, "must not be empty")
        return "" if value is None else value

    def flag(self, name: str) -> bool | None:
        """A bool field."""
        value: bool | None = self._typed(name, bool, "true or false", False)
        return value

    def int32(self, name: str, *, minimum: int | None = None) -> int | None:
        """An int32 field: a JSON number or a numeric string (both are protobuf JSON), at
        least ``minimum`` when given."""
        value = self.raw(name)
        if value is None:
            return None
        numeric_text = isinstance(value, str) and re.fullmatch(r"-?\d+", value, re.ASCII)
        if numeric_text or (isinstance(value, float) and value.is_integer()):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(name, f"expected an integer, got {_kind(value)}")
        if not INT32_MIN <= value <= INT32_MAX:
            self.fail(name, f"{value} does not fit in an int32")
        if minimum is not None and value < minimum:
            self.fail(name, f"must be {minimum} or more, not {value}")
        return value

    def obj(self, name: str, *, required: bool = False) -> V1Object | None:
        """A message field, as a V1Object."""
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return None
        return V1Object(value, self.at(name), request=self.request)

    def req_obj(self, name: str) -> V1Object:
        """A message field the proto marks REQUIRED."""
        found = self.obj(name, required=True)
        assert found is not None
        return found

    def array(self, name: str) -> list[Any]:
        """A repeated field (absent means empty, as protobuf JSON writers leave it out)."""
        value = self.raw(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(name, f"expected a JSON array, got {_kind(value)}")
        return value

    def objs(self, name: str) -> list[V1Object]:
        """A repeated message field."""
        return [
            V1Object(item, f"{self.at(name)}[{i}]", request=self.request)
            for i, item in enumerate(self.array(name))
        ]

    def texts(self, name: str) -> list[str] | None:
        """A repeated string field, None when absent."""
        if self.raw(name) is None:
            return None
        items = self.array(name)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                fail(f"{self.at(name)}[{i}]", f"expected a string, got {_kind(item)}")
        return list(items)

    def struct(self, name: str) -> dict[str, Any] | None:
        """A google.protobuf.Struct field: a JSON object."""
        value: dict[str, Any] | None = self._typed(name, dict, "a JSON object", False)
        return None if value is None else dict(value)

    def str_map(self, name: str) -> dict[str, str]:
        """A ``map<string, string>`` field."""
        value = self.raw(name)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.fail(name, "expected a JSON object of strings")
        return dict(value)

    def enum(self, name: str, names: list[str], enum: str, *, required: bool = False) -> str | None:
        """An enum field (of the proto enum ``enum``), as its name: protobuf JSON sends the
        name, or the number."""
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return None
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            return names[value]
        if isinstance(value, str) and value in names:
            return value
        self.fail(name, f"unknown {enum} {str(value)[:40]!r} (e.g. {names[1]})")

    def timestamp(self, name: str) -> str | None:
        """A google.protobuf.Timestamp field: an RFC 3339 string, kept as it is."""
        value = self.text(name)
        if value is not None and (problem := rfc3339_problem(value)):
            self.fail(name, problem)
        return value

    def b64(self, name: str) -> str | None:
        """A ``bytes`` field, as standard padded base64 (JSON may send it URL-safe or unpadded)."""
        value = self.text(name)
        if value is None:
            return None
        text = value.replace("-", "+").replace("_", "/")
        try:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            self.fail(name, "is not base64")
        return base64.b64encode(raw).decode("ascii")

    def oneof(self, names: tuple[str, ...], what: str) -> str:
        """The one field of a ``oneof`` that is set; raises when none or several are."""
        present = [n for n in names if self.has(n)]
        if len(present) != 1:
            got = ", ".join(present) if present else "none"
            choices = ", ".join(names) if len(names) <= 4 else f"its {len(names)} variants"
            fail(self.path, f"{what} needs exactly one of {choices}; got {got}")
        return present[0]


def _kind(value: Any) -> str:
    """A short name of a JSON value's type, for error messages."""
    if value is None:
        return "null"
    return {bool: "a boolean", str: "a string", list: "an array", dict: "an object"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )
