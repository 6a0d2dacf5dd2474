"""The public surface is what __all__ says, sorted, and every name in it exists."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "a2a_kafka_sync",
    "a2a_kafka_sync.client",
    "a2a_kafka_sync.server",
    "a2a_kafka_sync.errors",
    "a2a_kafka_sync.config",
    "a2a_kafka_sync.types",
    "a2a_kafka_sync.wire",
    "a2a_kafka_sync.testing",
    "a2a_kafka_sync.metrics",
    "a2a_kafka_sync.metrics.prometheus",
    "a2a_kafka_sync.tracing",
    "a2a_kafka_sync.contrib.a2a_sdk",
]


def _isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then everything else, each alphabetical (ruff's RUF022)."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert list(exported) == sorted(exported, key=_isort_key)
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, missing


def test_every_public_name_has_a_docstring() -> None:
    import a2a_kafka_sync

    undocumented = [
        name
        for name in a2a_kafka_sync.__all__
        if not name.startswith("__")
        and callable(getattr(a2a_kafka_sync, name))
        and not (getattr(a2a_kafka_sync, name).__doc__ or "").strip()
    ]
    assert not undocumented, undocumented


def test_the_package_logger_has_a_null_handler() -> None:
    import logging

    import a2a_kafka_sync  # noqa: F401

    handlers = logging.getLogger("a2a_kafka_sync").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)
