"""A small reader of ``tests/data/a2a-v1.0.1.proto`` (the normative A2A v1.0 definition), so
that the v1 tests check our JSON against it without a protobuf runtime: the rpc names, the
messages and their fields, and a check that a JSON object uses only fields of its message
(recursively, with the right JSON shape)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

PROTO = (Path(__file__).parent / "data" / "a2a-v1.0.1.proto").read_text(encoding="utf-8")
_CODE = re.sub(r"//[^\n]*", "", PROTO)

RPCS: dict[str, tuple[str, str]] = {
    name: (request, response.replace("stream ", "").replace("google.protobuf.", ""))
    for name, request, response in re.findall(
        r"rpc\s+(\w+)\s*\((\w+)\)\s*returns\s*\(([\w. ]+)\)", _CODE
    )
}
"""rpc name -> (request message, response message)."""

ENUMS: dict[str, list[str]] = {
    name: re.findall(r"(\w+)\s*=\s*\d+", body)
    for name, body in re.findall(r"enum\s+(\w+)\s*\{([^}]*)\}", _CODE)
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _fields(body: str) -> dict[str, tuple[str, str]]:
    """JSON name -> (label: "" / "repeated" / "map", type) of a message body."""
    fields = {}
    pattern = (
        r"^\s*(optional\s+|repeated\s+)?(map<\s*string\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*\d+"
    )
    for label, kind, map_value, name in re.findall(pattern, body, flags=re.MULTILINE):
        if kind in ("option", "oneof", "message"):
            continue
        if map_value:
            fields[_camel(name)] = ("map", map_value)
        else:
            fields[_camel(name)] = (label.strip() if label.strip() == "repeated" else "", kind)
    return fields


MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    name: _fields(body)
    for name, body in re.findall(r"message\s+(\w+)\s*\{((?:[^{}]|\{[^{}]*\})*)\}", _CODE)
}
MESSAGES["Empty"] = {}

_SCALARS = {
    "string": str,
    "bool": bool,
    "int32": int,
    "bytes": str,
    "google.protobuf.Timestamp": str,
    "google.protobuf.Struct": dict,
}


def problems(value: Any, message: str, path: str = "") -> list[str]:
    """What in ``value`` (JSON) is not the protobuf JSON of ``message``; empty when it is."""
    if not isinstance(value, dict):
        return [f"{path or message}: not an object"]
    found = []
    fields = MESSAGES[message]
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            found.append(f"{where}: no field {key!r} in {message}")
            continue
        label, kind = fields[key]
        if label == "repeated":
            if not isinstance(item, list):
                found.append(f"{where}: not a list")
                continue
            for i, element in enumerate(item):
                found += _check(element, kind, f"{where}[{i}]")
        elif label == "map":
            if not isinstance(item, dict):
                found.append(f"{where}: not a map")
                continue
            for name, element in item.items():
                found += _check(element, kind, f"{where}.{name}")
        else:
            found += _check(item, kind, where)
    return found


def _check(item: Any, kind: str, where: str) -> list[str]:
    if kind == "google.protobuf.Value":
        return []
    if kind in ENUMS:
        return [] if item in ENUMS[kind] else [f"{where}: {item!r} is not a {kind}"]
    if kind in _SCALARS:
        wanted = _SCALARS[kind]
        ok = isinstance(item, wanted) and (isinstance(item, bool) is (wanted is bool))
        return [] if ok else [f"{where}: {item!r} is not a {kind}"]
    return problems(item, kind, where)
