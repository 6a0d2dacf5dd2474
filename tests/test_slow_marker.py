"""The ``slow`` marker stays on the tests that are slow, so the fast loop stays fast.

The fast loop (``tox -e fast``, ``python -m pytest -m "not slow"``) leaves out what is marked
``slow``; CI runs everything. A marker dropped in a merge or a refactor would put minutes back
into the loop without a word. What was measured slow (docs/testing.md) is checked here, in the
source, by module and by rule:

- the modules slow as a whole (listed);
- a module marked ``apache_cluster`` starts Apache Kafka brokers of its own (10 to 40 s each);
- a test that serves (takes the ``serve`` fixture) waits for the server's group join, about
  3 s on the embedded broker before its first call, so it is slow; but for the few round trips
  the fast loop keeps on purpose (``FAST_ROUND_TRIPS``), so that it still serves and calls
  through the broker.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).parent

# modules slow as a whole: a broker, cluster, process or kernel of their own in most tests
SLOW_MODULES = [
    "test_apache_acls",
    "test_apache_kafka",
    "test_apache_limits",
    "test_apache_tls",
    "test_broker_failover",
    "test_broker_restart",
    "test_cli",
    "test_cli_reply_topic",
    "test_failover",
    "test_fuzz",
    "test_notebook",
    "test_rebalance_streams",
    "test_server_lifecycle",
    "test_task_failover",
    "test_tls",
    "test_workers",
]

# served round trips the fast loop keeps, one of each kind: "module::test function"
FAST_ROUND_TRIPS = [
    "test_roundtrip::test_unary_round_trip_returns_the_agents_message",
    "test_roundtrip::test_a_handler_object_serves_unary_and_streaming_calls",
    "test_roundtrip::test_an_a2a_error_raised_by_a_handler_keeps_its_class_and_code",
    "test_tasks::test_a_streamed_task_starts_with_the_task_and_ends_final",
]


def _marks(decorators: list[ast.expr]) -> set[str]:
    """The names X of every ``pytest.mark.X`` or ``pytest.mark.X(...)`` in the expressions."""
    names = set()
    for expression in decorators:
        for node in ast.walk(expression):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "mark"
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "pytest"
            ):
                names.add(node.attr)
    return names


def _test_marks(test: ast.FunctionDef) -> set[str]:
    """The marks a test is decorated with (not those of its parameters, ``pytest.param``)."""
    return _marks([d.func if isinstance(d, ast.Call) else d for d in test.decorator_list])


def _module(name: str) -> ast.Module:
    return ast.parse((TESTS / f"{name}.py").read_text(encoding="utf-8"))


def _module_marks(tree: ast.Module) -> set[str]:
    """The marks of the module's ``pytestmark`` (none when it has no such assignment)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets
        ):
            return _marks([node.value])
    return set()


@pytest.mark.parametrize("name", SLOW_MODULES)
def test_a_module_measured_slow_is_marked_slow_as_a_whole(name: str) -> None:
    assert "slow" in _module_marks(_module(name)), f"{name}.py: pytestmark has no pytest.mark.slow"


def test_a_test_that_serves_is_marked_slow_but_for_the_round_trips_kept_fast() -> None:
    serving, unmarked = [], []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = _module(path.stem)
        module_slow = "slow" in _module_marks(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.FunctionDef)
                and node.name.startswith("test_")
                and "serve" in [argument.arg for argument in node.args.args]
            ):
                test = f"{path.stem}::{node.name}"
                serving.append(test)
                if not (module_slow or "slow" in _test_marks(node)):
                    unmarked.append(test)
    assert set(FAST_ROUND_TRIPS) <= set(serving), "a round trip kept fast was renamed or removed"
    unmarked = [test for test in unmarked if test not in FAST_ROUND_TRIPS]
    assert not unmarked, f"serves (~3 s a test) but not marked pytest.mark.slow: {unmarked}"


def test_what_starts_apache_kafka_brokers_of_its_own_is_marked_slow() -> None:
    cluster_modules, unmarked = set(), []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = _module(path.stem)
        if "apache_cluster" in _module_marks(tree):
            cluster_modules.add(path.stem)
            if "slow" not in _module_marks(tree):
                unmarked.append(path.stem)
        for node in ast.walk(tree):  # pytest.param(..., marks=...) and @pytest.mark... on a test
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "pytest.param":
                marks = _marks([k.value for k in node.keywords if k.arg == "marks"])
            elif isinstance(node, ast.FunctionDef):
                marks = _test_marks(node)
            else:
                continue
            if "apache_cluster" in marks and "slow" not in marks:
                unmarked.append(f"{path.stem}:{node.lineno}")
    assert cluster_modules, "no module is marked apache_cluster: has the marker been renamed?"
    assert not unmarked, f"marked apache_cluster but not slow: {unmarked}"
