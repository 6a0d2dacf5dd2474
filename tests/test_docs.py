"""The docs tell the truth about the code: settings, public names, threads, layering, snippets.

Pure checks (no broker, no Sphinx build): they read ``docs/*.md`` and the package source.
The Sphinx build itself is the tox ``docs`` env.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import a2a_kafka_sync
from a2a_kafka_sync.config import ClientConfig, ServerConfig

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGE = ROOT / "a2a_kafka_sync"


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _table_names(text: str) -> set[str]:
    """The names in the first cell of every Markdown table row: ``| `name` | ...``."""
    return set(re.findall(r"^\|\s*`([^`]+)`\s*\|", text, flags=re.MULTILINE))


# -- (a) configuration.md lists every setting ---------------------------------------------------


@pytest.mark.parametrize("config_class", [ClientConfig, ServerConfig], ids=lambda c: c.__name__)
def test_every_config_field_has_a_row_in_the_configuration_reference(config_class) -> None:
    listed = _table_names(_read("configuration.md"))
    missing = sorted(set(config_class.model_fields) - listed)
    assert not missing, (
        f"{config_class.__name__} fields missing from the tables of docs/configuration.md: "
        f"{missing}"
    )


def test_every_refused_kafka_key_is_explained_in_the_configuration_reference() -> None:
    from a2a_kafka_sync._kafka import _MANAGED_KEYS

    listed = _table_names(_read("configuration.md"))
    missing = sorted(set(_MANAGED_KEYS) - listed)
    assert not missing, f"_MANAGED_KEYS missing from docs/configuration.md: {missing}"


def test_every_profile_setting_is_listed_in_the_configuration_reference() -> None:
    from a2a_kafka_sync.config import PROFILES

    listed = _table_names(_read("configuration.md"))
    missing = sorted({key for profile in PROFILES.values() for key in profile} - listed)
    assert not missing, f"profile settings missing from docs/configuration.md: {missing}"


# -- (b) api.md covers the public surface ---------------------------------------------------------


def _automodules(text: str) -> list[str]:
    return re.findall(r"^\.\. automodule::\s*(\S+)", text, flags=re.MULTILINE)


def _hand_written_objects(text: str) -> set[str]:
    """Names declared by hand in api.md (``.. py:data:: NAME`` and friends)."""
    return set(re.findall(r"^\.\. py:\w+::\s*([\w.]+)", text, flags=re.MULTILINE))


def test_every_public_name_is_listed_in_the_api_reference() -> None:
    listed = _table_names(_read("api.md"))
    missing = sorted(set(a2a_kafka_sync.__all__) - listed)
    assert not missing, f"names of a2a_kafka_sync.__all__ missing from docs/api.md: {missing}"


def test_every_public_name_is_documented_by_an_automodule_or_by_hand() -> None:
    text = _read("api.md")
    modules = _automodules(text)
    assert "a2a_kafka_sync" in modules, "docs/api.md has no automodule of the package top level"
    documented = _hand_written_objects(text)
    for module_name in modules:
        if module_name == "a2a_kafka_sync":
            continue  # documented with :no-members:; each name is documented in its own module
        documented |= set(getattr(importlib.import_module(module_name), "__all__", ()))
    missing = sorted(set(a2a_kafka_sync.__all__) - documented)
    assert not missing, (
        "names of a2a_kafka_sync.__all__ that no automodule of docs/api.md documents "
        f"(add them to a submodule's __all__ or document them by hand): {missing}"
    )


def test_the_api_reference_covers_every_public_module() -> None:
    wanted = {
        "a2a_kafka_sync",
        "a2a_kafka_sync.client",
        "a2a_kafka_sync.server",
        "a2a_kafka_sync.errors",
        "a2a_kafka_sync.config",
        "a2a_kafka_sync.testing",
        "a2a_kafka_sync.types",
    }
    missing = sorted(wanted - set(_automodules(_read("api.md"))))
    assert not missing, f"modules without an automodule in docs/api.md: {missing}"


# -- (c) architecture.md names every thread -------------------------------------------------------

_THREAD_NAME = re.compile(
    r"""\b(?:name|thread_name_prefix)\s*(?::\s*str\s*)?=\s*["'](a2a-kafka-[\w-]+)["']"""
)


def _thread_names_in_code() -> set[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        names |= set(_THREAD_NAME.findall(path.read_text(encoding="utf-8")))
    return names


def test_the_code_names_its_threads() -> None:
    names = _thread_names_in_code()
    assert len(names) >= 3, f"expected the reader, consumer and worker thread names, found {names}"


def test_every_thread_named_in_the_code_is_in_the_architecture_page() -> None:
    text = _read("architecture.md")
    missing = sorted(name for name in _thread_names_in_code() if name not in text)
    assert not missing, (
        f"threads named in the code but missing from docs/architecture.md: {missing}"
    )


# -- the layering rules of architecture.md hold ---------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The package modules a source file imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "a2a_kafka_sync"}


def _sources(under: str) -> list[Path]:
    path = PACKAGE / under
    return sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def _in(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(
    ("under", "forbidden"),
    [("client", "a2a_kafka_sync.server"), ("server", "a2a_kafka_sync.client")],
)
def test_client_and_server_never_import_each_other(under: str, forbidden: str) -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources(under)
        for name in _imports(path)
        if _in(name, forbidden)
    )
    assert not offenders, f"layering rule broken (docs/architecture.md): {offenders}"


@pytest.mark.parametrize(
    ("under", "allowed"),
    [
        ("types", ("a2a_kafka_sync.types",)),
        ("wire", ("a2a_kafka_sync.wire", "a2a_kafka_sync.types", "a2a_kafka_sync.errors")),
    ],
)
def test_types_and_wire_import_only_what_the_architecture_page_allows(
    under: str, allowed: tuple[str, ...]
) -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources(under)
        for name in _imports(path)
        if not any(_in(name, ok) for ok in allowed)
    )
    assert not offenders, f"layering rule broken (docs/architecture.md): {offenders}"


def test_only_the_kafka_module_builds_kafka_python_clients() -> None:
    builders = {"KafkaProducer", "KafkaConsumer", "KafkaAdminClient"}
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_kafka.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if called in builders:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {called}()")
    assert not offenders, f"kafka-python clients built outside _kafka.py: {offenders}"


# -- every inline Python snippet of the docs runs -------------------------------------------------

_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.MULTILINE | re.DOTALL)


def _snippets() -> list[tuple[str, str]]:
    return [
        (f"{path.name}#{index}", code)
        for path in sorted(DOCS.glob("*.md"))
        for index, code in enumerate(_PYTHON_BLOCK.findall(path.read_text(encoding="utf-8")))
    ]


def test_the_docs_have_inline_snippets_to_check() -> None:
    assert _snippets(), "no ```python blocks found in docs/*.md: is the pattern still right?"


@pytest.mark.parametrize(("where", "code"), _snippets(), ids=[w for w, _ in _snippets()])
def test_every_inline_python_snippet_runs_without_a_broker(where: str, code: str) -> None:
    """Inline snippets construct clients and configs only; examples that talk to a broker
    live in docs/examples/ and are included with literalinclude."""
    exec(compile(code, f"docs/{where}", "exec"), {"__name__": "docs_snippet"})


def test_the_included_examples_exist_and_compile() -> None:
    included = set()
    for path in DOCS.glob("*.md"):
        included |= set(re.findall(r"```\{literalinclude\}\s+(\S+)", path.read_text("utf-8")))
    assert included, "no literalinclude found in docs/*.md"
    for name in sorted(included):
        source = DOCS / name
        assert source.is_file(), f"docs/{name} is included by the docs but does not exist"
        compile(source.read_text(encoding="utf-8"), str(source), "exec")
