"""Which a2a-sdk line is installed, and the conversions at its edge.

a2a-sdk 0.3 models A2A v0.3.0 as pydantic classes (``a2a.types``) with the same
names and JSON as this library's. a2a-sdk 1.x models A2A v1.0 as protobuf
messages (``a2a.types.a2a_pb2``) and ships, in ``a2a.compat.v0_3``, the v0.3
pydantic classes again (``types``) with its own translation to and from v1.0
(``conversions``). Everything here goes through "the v0.3 classes of the installed
line": a model of ours crosses over through its wire JSON, and on 1.x a2a-sdk's
own ``conversions`` take it on to protobuf, so both sides of every crossing are
validated by the code that defines them.

Errors cross too: :func:`our_error` reads an a2a-sdk server error as this
library's :class:`~a2a_kafka_sync.errors.A2AError` (same code), and
:func:`sdk_client_error` turns this library's client errors into what a2a-sdk's
own transports raise.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
from types import ModuleType
from typing import Any

from ...errors import A2AError, A2AKafkaError, RequestTimeoutError
from ...types import AgentCard
from ...types._base import A2ABaseModel
from ...types.sdk import from_a2a_sdk

__all__ = [
    "from_sdk_card",
    "from_v03",
    "our_error",
    "sdk_client_error",
    "sdk_line",
    "to_sdk_card",
    "to_v03",
    "v03_types",
]

SUPPORTED = "a2a-sdk>=0.3.26,<0.4 or >=1.0,<2"
"""The a2a-sdk versions this plugin is written and tested for."""


@functools.cache
def sdk_line() -> int:
    """The installed a2a-sdk line: 0 for 0.3.x, 1 for 1.x.

    Raises ImportError when a2a-sdk is missing or of another line.
    """
    try:
        version = importlib.metadata.version("a2a-sdk")
    except importlib.metadata.PackageNotFoundError:
        raise ImportError(
            'the a2a-sdk plugin needs a2a-sdk: pip install "a2a-kafka-sync[a2a-sdk]"'
        ) from None
    major, _, rest = version.partition(".")
    minor = rest.partition(".")[0]
    if major == "0" and minor == "3":
        return 0
    if major == "1":
        return 1
    raise ImportError(f"a2a-sdk {version} is not supported by this plugin ({SUPPORTED})")


def v03_types() -> ModuleType:
    """The module of the installed line's A2A v0.3 pydantic classes.

    ``a2a.types`` on 0.3, ``a2a.compat.v0_3.types`` on 1.x.
    """
    name = "a2a.types" if sdk_line() == 0 else "a2a.compat.v0_3.types"
    return importlib.import_module(name)


def to_v03(value: Any) -> Any:
    """The installed line's v0.3 class for one of this library's models (lists item by item).

    Anything else (None, str, an a2a-sdk object) is returned unchanged.
    """
    if isinstance(value, list):
        return [to_v03(item) for item in value]
    if not isinstance(value, A2ABaseModel):
        return value
    name = type(value).__name__
    theirs = getattr(v03_types(), name, None)
    if theirs is None:
        raise TypeError(f"{name} has no counterpart in a2a-sdk's v0.3 classes")
    return theirs.model_validate(value.to_wire())


def from_v03(value: Any) -> Any:
    """This library's model for a v0.3 object of either line (lists item by item)."""
    return from_a2a_sdk(value)


def to_sdk_card(card: AgentCard) -> Any:
    """a2a-sdk's card (0.3: ``a2a.types.AgentCard``; 1.x: the protobuf ``AgentCard``) for ours.

    On 1.x every interface of the card is listed in ``supported_interfaces``
    with protocol version 0.3 (what this library's wire carries).
    """
    if sdk_line() == 0:
        return to_v03(card)
    conversions = importlib.import_module("a2a.compat.v0_3.conversions")
    return conversions.to_core_agent_card(to_v03(card))


def from_sdk_card(card: Any) -> AgentCard:
    """This library's card for a2a-sdk's (either line).

    On 1.x only the interfaces without a protocol version or of version 0.3 are
    kept, as a2a-sdk's own v0.3 conversion does.
    """
    if sdk_line() == 1:
        conversions = importlib.import_module("a2a.compat.v0_3.conversions")
        card = conversions.to_compat_agent_card(card)
    ours = from_v03(card)
    if not isinstance(ours, AgentCard):
        raise TypeError(f"not an a2a-sdk AgentCard: {type(card).__name__}")
    return ours


def _code_of_v1_error(exc: BaseException) -> int | None:
    errors = importlib.import_module("a2a.utils.errors")
    if not isinstance(exc, errors.A2AError):
        return None
    for cls in type(exc).__mro__:
        code = errors.JSON_RPC_ERROR_CODE_MAP.get(cls)
        if code is not None:
            return int(code)
    return -32603  # an a2a-sdk error without a JSON-RPC code (a client error, say)


def our_error(exc: BaseException) -> A2AError | None:
    """This library's A2AError for an error an a2a-sdk handler raised; None for any other.

    0.3 raises ``ServerError(error=<JSON-RPC error model>)`` (and
    ``MethodNotImplementedError``); 1.x raises subclasses of
    ``a2a.utils.errors.A2AError``. The code, message and data are kept.
    """
    errors = importlib.import_module("a2a.utils.errors")
    if sdk_line() == 0:
        if isinstance(exc, errors.MethodNotImplementedError):
            return A2AError.for_code(-32004, exc.message)
        if isinstance(exc, errors.ServerError) and exc.error is not None:
            error = exc.error
            message = error.message or type(error).__name__
            return A2AError.for_code(error.code, message, data=error.data)
        return None
    code = _code_of_v1_error(exc)
    if code is None:
        return None
    return A2AError.for_code(code, str(exc.message), data=exc.data)  # type: ignore[attr-defined]


def sdk_client_error(exc: A2AKafkaError) -> Exception:
    """What an a2a-sdk transport of the installed line raises for this library's error.

    An agent's A2AError becomes ``A2AClientJSONRPCError`` (0.3) or the
    ``a2a.utils.errors`` class of its code (1.x); RequestTimeoutError becomes
    ``A2AClientTimeoutError``; any other library error ``A2AClientError``. The
    caller raises it ``from exc``, so the original stays reachable.
    """
    client_errors = importlib.import_module("a2a.client.errors")
    if isinstance(exc, RequestTimeoutError):
        return client_errors.A2AClientTimeoutError(str(exc))  # type: ignore[no-any-return]
    if not isinstance(exc, A2AError):
        return client_errors.A2AClientError(str(exc))  # type: ignore[no-any-return]
    message = exc.message
    if sdk_line() == 0:
        types = importlib.import_module("a2a.types")
        error = types.JSONRPCError(code=exc.code, message=message, data=exc.data)
        response = types.JSONRPCErrorResponse(id=exc.correlation_id, error=error)
        return client_errors.A2AClientJSONRPCError(response)  # type: ignore[no-any-return]
    errors = importlib.import_module("a2a.utils.errors")
    for cls, code in errors.JSON_RPC_ERROR_CODE_MAP.items():
        if code == exc.code:
            data = exc.data if isinstance(exc.data, dict) else None
            return cls(message, data=data)  # type: ignore[no-any-return]
    return client_errors.A2AClientError(f"JSON-RPC Error {exc.code}: {message}")  # type: ignore[no-any-return]
