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
from a2a_kafka_sync.config import ClientConfig, ServerConfig, _CommonConfig
from a2a_kafka_sync.discovery import AgentDirectoryConfig
from a2a_kafka_sync.server.tasks import KafkaTaskEventLogConfig, KafkaTaskStoreConfig

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGE = ROOT / "a2a_kafka_sync"


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _table_names(text: str) -> set[str]:
    """The names in the first cell of every Markdown table row: ``| `name` | ...``."""
    return set(re.findall(r"^\|\s*`([^`]+)`\s*\|", text, flags=re.MULTILINE))


# -- (a) configuration.md lists every setting ---------------------------------------------------

CONFIG_CLASSES = [
    ClientConfig,
    ServerConfig,
    KafkaTaskStoreConfig,
    KafkaTaskEventLogConfig,
    AgentDirectoryConfig,
]
COMMON_SECTION = "Common fields"


def _section(text: str, heading: str) -> str:
    """The text under the ``### <heading>...`` heading, up to the next heading of level 1-3."""
    match = re.search(
        rf"^### {re.escape(heading)}\b.*?$(.*?)(?=^#{{1,3}} |\Z)",
        text,
        flags=re.MULTILINE | re.DOTALL,
    )
    assert match, f"docs/configuration.md has no '### {heading}' section"
    return match.group(1)


def _field_rows(section: str) -> dict[str, list[str]]:
    """Rows of the ``| name | type | default | description |`` tables: name -> cells."""
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 4 and re.fullmatch(r"`\w+`", cells[0]):
            rows[cells[0].strip("`")] = cells
    return rows


def _own_fields(config_class: type) -> list[str]:
    return [f for f in config_class.model_fields if f not in _CommonConfig.model_fields]


@pytest.mark.parametrize("config_class", CONFIG_CLASSES, ids=lambda c: c.__name__)
def test_every_config_field_has_a_row_in_its_own_section(config_class) -> None:
    rows = _field_rows(_section(_read("configuration.md"), config_class.__name__))
    missing = sorted(set(_own_fields(config_class)) - set(rows))
    assert not missing, (
        f"{config_class.__name__} fields missing from its section of docs/configuration.md: "
        f"{missing}"
    )
    stale = sorted(set(rows) - set(_own_fields(config_class)))
    assert not stale, f"rows for settings {config_class.__name__} does not have: {stale}"


def test_every_common_field_has_a_row_in_the_common_section() -> None:
    rows = _field_rows(_section(_read("configuration.md"), COMMON_SECTION))
    assert set(rows) == set(_CommonConfig.model_fields), (
        f"the common section of docs/configuration.md lists {sorted(rows)}, "
        f"_CommonConfig has {sorted(_CommonConfig.model_fields)}"
    )


def _documented_defaults() -> list[tuple[str, str, str]]:
    text = _read("configuration.md")
    found = []
    for heading, model in [(COMMON_SECTION, _CommonConfig)] + [
        (c.__name__, c) for c in CONFIG_CLASSES
    ]:
        for name, cells in _field_rows(_section(text, heading)).items():
            found.append((f"{model.__name__}.{name}", name, cells[2]))
    return found


@pytest.mark.parametrize(
    ("where", "name", "cell"), _documented_defaults(), ids=[w for w, _, _ in _documented_defaults()]
)
def test_every_documented_default_is_the_fields_default(where: str, name: str, cell: str) -> None:
    model = {c.__name__: c for c in [_CommonConfig, *CONFIG_CLASSES]}[where.split(".")[0]]
    info = model.model_fields[name]
    default = info.default_factory() if info.default_factory is not None else info.default
    assert re.fullmatch(r"`[^`]+`", cell), f"{where}: the default cell {cell!r} is not `code`"
    assert ast.literal_eval(cell.strip("`")) == default, (
        f"{where}: docs/configuration.md says {cell}, the code says {default!r}"
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

API_MODULES = {
    "a2a_kafka_sync",
    "a2a_kafka_sync.client",
    "a2a_kafka_sync.server",
    "a2a_kafka_sync.server.tasks",
    "a2a_kafka_sync.server.push",
    "a2a_kafka_sync.server.push_targets",
    "a2a_kafka_sync.discovery",
    "a2a_kafka_sync.interfaces",
    "a2a_kafka_sync.signing",
    "a2a_kafka_sync.auth",
    "a2a_kafka_sync.admin",
    "a2a_kafka_sync.errors",
    "a2a_kafka_sync.config",
    "a2a_kafka_sync.testing",
    "a2a_kafka_sync.types",
}


def _automodules(text: str) -> list[str]:
    return re.findall(r"^\.\. automodule::\s*(\S+)", text, flags=re.MULTILINE)


def _excluded_members(text: str) -> dict[str, set[str]]:
    """Each automodule's ``:exclude-members:`` names."""
    excluded: dict[str, set[str]] = {}
    for block in re.split(r"^(?=\.\. )", text, flags=re.MULTILINE):
        head = re.match(r"\.\. automodule::\s*(\S+)", block)
        if head:
            option = re.search(r"^\s+:exclude-members:\s*(.+)$", block, flags=re.MULTILINE)
            names = option.group(1).split(",") if option else []
            excluded[head.group(1)] = {n.strip() for n in names}
    return excluded


def _hand_written_objects(text: str) -> set[str]:
    """Names declared by hand in api.md (``.. py:data:: NAME`` and friends)."""
    return set(re.findall(r"^\.\. py:\w+::\s*([\w.]+)", text, flags=re.MULTILINE))


def _documented() -> dict[str, set[str]]:
    """module -> the names api.md documents in it (automodule members and hand-written)."""
    text = _read("api.md")
    excluded = _excluded_members(text)
    documented: dict[str, set[str]] = {}
    for module_name in _automodules(text):
        if module_name == "a2a_kafka_sync":
            continue  # documented with :no-members:; each name is documented in its own module
        names = set(getattr(importlib.import_module(module_name), "__all__", ()))
        documented[module_name] = names - excluded.get(module_name, set())
    for block in re.finditer(
        r"^\.\. py:\w+::\s*(\w+)\n\s+:module:\s*(\S+)", text, flags=re.MULTILINE
    ):
        documented.setdefault(block.group(2), set()).add(block.group(1))
    return documented


def test_every_public_name_is_listed_in_the_api_reference() -> None:
    listed = _table_names(_read("api.md"))
    missing = sorted(set(a2a_kafka_sync.__all__) - listed)
    assert not missing, f"names of a2a_kafka_sync.__all__ missing from docs/api.md: {missing}"
    stale = sorted(listed - set(a2a_kafka_sync.__all__))
    assert not stale, f"docs/api.md lists names that a2a_kafka_sync.__all__ lacks: {stale}"


def test_every_row_of_the_api_table_points_where_the_name_is_documented() -> None:
    documented = _documented()
    wrong = []
    for name, target in re.findall(
        r"^\|\s*`([^`]+)`\s*\|[^|]*\|\s*\{py:\w+\}`([\w.]+)`\s*\|",
        _read("api.md"),
        flags=re.MULTILINE,
    ):
        module, _, last = target.rpartition(".")
        if last != name or name not in documented.get(module, set()):
            wrong.append(f"{name} -> {target}")
    assert not wrong, f"rows of the docs/api.md table whose target documents no such name: {wrong}"


def test_every_public_name_is_documented_by_an_automodule_or_by_hand() -> None:
    text = _read("api.md")
    assert "a2a_kafka_sync" in _automodules(text), (
        "docs/api.md has no automodule of the package top level"
    )
    documented = set().union(*_documented().values()) | _hand_written_objects(text)
    missing = sorted(set(a2a_kafka_sync.__all__) - documented)
    assert not missing, (
        "names of a2a_kafka_sync.__all__ that no automodule of docs/api.md documents "
        f"(add them to a submodule's __all__ or document them by hand): {missing}"
    )


def test_every_name_a_documented_module_exports_is_documented_somewhere() -> None:
    """A name left out of one automodule (``:exclude-members:``) is documented by another."""
    documented = _documented()
    objects = {
        id(getattr(importlib.import_module(module), name))
        for module, names in documented.items()
        for name in names
    }
    missing = sorted(
        f"{module}.{name}"
        for module in documented
        for name in getattr(importlib.import_module(module), "__all__", ())
        if id(getattr(importlib.import_module(module), name)) not in objects
    )
    assert not missing, f"exported but documented nowhere in docs/api.md: {missing}"


def test_the_api_reference_covers_every_public_module() -> None:
    missing = sorted(API_MODULES - set(_automodules(_read("api.md"))))
    assert not missing, f"modules without an automodule in docs/api.md: {missing}"


# -- (c) architecture.md names every thread -------------------------------------------------------

_THREAD_NAME = re.compile(
    r"""\b(?:name|thread_name_prefix)\s*(?::\s*str\s*)?=\s*["'](a2a-kafka-[\w-]+)["']"""
)
KNOWN_THREADS = {
    "a2a-kafka-reply-reader",
    "a2a-kafka-push-dispatcher",
    "a2a-kafka-request-consumer",
    "a2a-kafka-worker",
    "a2a-kafka-push",
    "a2a-kafka-task-store-reader",
    "a2a-kafka-watchdog",
    "a2a-kafka-sdk-loop",
}


def _thread_names_in_code() -> set[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        names |= set(_THREAD_NAME.findall(path.read_text(encoding="utf-8")))
    return names


def _thread_names_in_the_table() -> set[str]:
    """The library's thread names in the first column of the Threads table, without the
    numbering a pool adds (``a2a-kafka-worker_0`` and ``a2a-kafka-push-N`` count as
    ``a2a-kafka-worker`` and ``a2a-kafka-push``)."""
    section = _read("architecture.md").split("\n## Threads", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        for token in re.findall(r"`(a2a-kafka-[^`]+)`", first_cell):
            names.add(re.sub(r"[-_](?:N|\d+|\{[^}]*\})$", "", token))
    return names


def test_the_code_names_its_threads() -> None:
    names = _thread_names_in_code()
    missing = sorted(KNOWN_THREADS - names)
    assert not missing, f"thread names not found in the code (is the pattern right?): {missing}"


def test_every_thread_named_in_the_code_is_in_the_architecture_page() -> None:
    missing = sorted(_thread_names_in_code() - _thread_names_in_the_table())
    assert not missing, (
        f"threads named in the code but missing from the table of docs/architecture.md: {missing}"
    )


def test_every_thread_in_the_architecture_page_is_named_in_the_code() -> None:
    stale = sorted(_thread_names_in_the_table() - _thread_names_in_code())
    assert not stale, f"threads in docs/architecture.md that the code does not name: {stale}"


# -- the layering rules of architecture.md hold ---------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, tree: ast.AST | None = None) -> set[str]:
    """The package modules a source file (or ``tree``, a part of it) imports, relative imports
    resolved."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree or ast.parse(path.read_text(encoding="utf-8"))):
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


_BASE = ("a2a_kafka_sync._kafka", "a2a_kafka_sync.config", "a2a_kafka_sync.errors")

_ALSO_ALLOWED = {
    # the a2a-sdk plugin's server adapter is a handler object of the server's
    "a2a_kafka_sync/contrib/a2a_sdk/server.py": ("a2a_kafka_sync.server", "a2a_kafka_sync.wire"),
}
"""Single modules allowed more than their folder's rule, each named in docs/architecture.md."""


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize(
    ("under", "allowed"),
    [
        ("types", ("a2a_kafka_sync.types", "a2a_kafka_sync._redact")),
        (
            "wire",
            (
                "a2a_kafka_sync.wire",
                "a2a_kafka_sync.v1",
                "a2a_kafka_sync.types",
                "a2a_kafka_sync.errors",
            ),
        ),
        ("v1", ("a2a_kafka_sync.v1", "a2a_kafka_sync.types", "a2a_kafka_sync.errors")),
        (
            "interfaces",
            (
                "a2a_kafka_sync.types",
                "a2a_kafka_sync.errors",
                "a2a_kafka_sync.wire",
            ),
        ),
        ("server/tasks", ("a2a_kafka_sync.server.tasks", "a2a_kafka_sync.types", *_BASE)),
        (
            "discovery",
            (
                "a2a_kafka_sync.types",
                "a2a_kafka_sync.interfaces",
                "a2a_kafka_sync.client",
                "a2a_kafka_sync.signing",
                *_BASE,
            ),
        ),
        ("signing", ("a2a_kafka_sync.types", "a2a_kafka_sync.errors")),
        (
            "admin",
            ("a2a_kafka_sync._kafka", "a2a_kafka_sync.config", "a2a_kafka_sync._reply_topics"),
        ),
        (
            "_reply_topics",
            ("a2a_kafka_sync._kafka", "a2a_kafka_sync.config", "a2a_kafka_sync._reach"),
        ),
        (
            "testing",
            (
                "a2a_kafka_sync.testing",
                "a2a_kafka_sync.config",
                "a2a_kafka_sync.errors",
                "a2a_kafka_sync._kafka",
            ),
        ),
        ("metrics", ("a2a_kafka_sync.metrics",)),
        ("tracing", ("a2a_kafka_sync.tracing", "a2a_kafka_sync.wire")),
        (
            "contrib",
            (
                "a2a_kafka_sync.contrib",
                "a2a_kafka_sync.client",
                "a2a_kafka_sync.config",
                "a2a_kafka_sync.discovery",
                "a2a_kafka_sync.errors",
                "a2a_kafka_sync.types",
            ),
        ),
    ],
)
def test_modules_import_only_what_the_architecture_page_allows(
    under: str, allowed: tuple[str, ...]
) -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _sources(under)
        for name in _imports(path)
        if not any(_in(name, ok) for ok in allowed + _ALSO_ALLOWED.get(_rel(path), ()))
        and name != "a2a_kafka_sync"
    )
    assert not offenders, f"layering rule broken (docs/architecture.md): {offenders}"


def _module_level_imports(path: Path) -> set[str]:
    """The package modules a file imports when it is imported: not inside a function or a
    class, and not under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    eager = [
        node
        for node in tree.body
        if not (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test))
        and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]
    return _imports(path, ast.Module(body=eager, type_ignores=[]))


def test_discovery_loads_the_client_only_when_client_for_is_called() -> None:
    path = PACKAGE / "discovery.py"
    eager = sorted(n for n in _module_level_imports(path) if _in(n, "a2a_kafka_sync.client"))
    assert not eager, f"discovery.py imports the client at import time: {eager}"
    assert any(_in(n, "a2a_kafka_sync.client") for n in _imports(path)), (
        "discovery.py no longer imports the client at all: update docs/architecture.md"
    )


def test_only_the_package_init_and_the_demo_import_both_client_and_server() -> None:
    both = sorted(
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if not _in(_module_name(path), "a2a_kafka_sync.client")
        and not _in(_module_name(path), "a2a_kafka_sync.server")
        and any(_in(n, "a2a_kafka_sync.client") for n in _imports(path))
        and any(_in(n, "a2a_kafka_sync.server") for n in _imports(path))
    )
    assert both == ["a2a_kafka_sync/__init__.py", "a2a_kafka_sync/demo.py"], both


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


def test_every_example_file_is_included_by_a_page() -> None:
    included = set()
    for path in DOCS.glob("*.md"):
        included |= set(re.findall(r"```\{literalinclude\}\s+(\S+)", path.read_text("utf-8")))
    examples = {f"examples/{p.name}" for p in (DOCS / "examples").glob("*.py")}
    assert examples, "no docs/examples/*.py found"
    orphans = sorted(examples - included)
    assert not orphans, f"examples that no page of docs/ includes: {orphans}"


def test_the_included_examples_exist_and_compile() -> None:
    included = set()
    for path in DOCS.glob("*.md"):
        included |= set(re.findall(r"```\{literalinclude\}\s+(\S+)", path.read_text("utf-8")))
    assert included, "no literalinclude found in docs/*.md"
    for name in sorted(included):
        source = DOCS / name
        assert source.is_file(), f"docs/{name} is included by the docs but does not exist"
        compile(source.read_text(encoding="utf-8"), str(source), "exec")
