"""Conversion to and from a2a-sdk's (a2a-python v0.3) pydantic models.

Both model the same A2A v0.3.0 JSON, class for class and name for name, so an
object crosses over through its wire JSON: nothing is lost, and both sides
validate. a2a-sdk is optional: it is imported only when an object goes *to* it.
With a2a-sdk 1.x installed (whose ``a2a.types`` are protobuf messages), its v0.3
models are those of ``a2a.compat.v0_3.types``; its v1.0 protobuf messages are
the business of ``a2a_kafka_sync.contrib.a2a_sdk``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any

from pydantic import BaseModel, RootModel

from ._base import A2ABaseModel

__all__ = ["from_a2a_sdk", "is_a2a_sdk_object", "to_a2a_sdk"]

_SDK_MODULE = "a2a.types"
_SDK_COMPAT_MODULE = "a2a.compat.v0_3.types"  # a2a-sdk 1.x keeps its v0.3 models here


def is_a2a_sdk_object(value: object) -> bool:
    """True for an instance of one of a2a-sdk's models (``a2a.types``)."""
    return isinstance(value, BaseModel) and type(value).__module__.startswith("a2a.")


def from_a2a_sdk(value: Any) -> Any:
    """This library's model for an a2a-sdk object (a list converts item by item).

    Anything else is returned unchanged, so it can wrap every argument. Raises
    TypeError for an a2a-sdk class this library has no model for.
    """
    if isinstance(value, list):
        return [from_a2a_sdk(item) for item in value]
    if not is_a2a_sdk_object(value):
        return value
    if isinstance(value, RootModel):  # a2a-sdk's Part and SecurityScheme wrap the real one
        return from_a2a_sdk(value.root)
    name = type(value).__name__
    ours = _our_models().get(name)
    if ours is None:
        raise TypeError(f"a2a-sdk's {name} has no counterpart in a2a_kafka_sync.types")
    wire = value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return ours.model_validate(wire)


def to_a2a_sdk(value: Any) -> Any:
    """a2a-sdk's model for one of this library's (a list converts item by item).

    Anything else (None, str...) is returned unchanged. Raises ImportError
    when a2a-sdk is not installed.
    """
    if isinstance(value, list):
        return [to_a2a_sdk(item) for item in value]
    if not isinstance(value, A2ABaseModel):
        return value
    sdk = _sdk_models()
    name = type(value).__name__
    theirs = getattr(sdk, name, None)
    if theirs is None:
        raise TypeError(f"{name} has no counterpart in a2a-sdk's {sdk.__name__}")
    return theirs.model_validate(value.to_wire())


@functools.cache
def _sdk_models() -> Any:
    """a2a-sdk's module of v0.3 pydantic models: ``a2a.types`` in 0.3, the compat one in 1.x."""
    sdk = importlib.import_module(_SDK_MODULE)
    message = getattr(sdk, "Message", None)
    if inspect.isclass(message) and issubclass(message, BaseModel):
        return sdk
    return importlib.import_module(_SDK_COMPAT_MODULE)


@functools.cache
def _our_models() -> dict[str, type[A2ABaseModel]]:
    types = importlib.import_module(__package__ or "a2a_kafka_sync.types")
    return {
        name: value
        for name, value in vars(types).items()
        if inspect.isclass(value) and issubclass(value, A2ABaseModel) and value is not A2ABaseModel
    }
