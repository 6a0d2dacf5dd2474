"""Every example in docs/examples/ that a page shows with its output prints that output.

The page includes the file (``literalinclude``) and shows what it prints in the next
``text`` block; this test runs the file as a user would (``python docs/examples/X.py``, in a
subprocess, with its own embedded broker) and compares. The examples with a test of their
own (Flask, Django, the workers, Apache Kafka, the notebook) are run there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_INCLUDE = re.compile(r"^```\{literalinclude\} (examples/\w+\.py)\n", re.M)
_TEXT = re.compile(r"^```text\n(.*?)^```", re.M | re.S)


def _shown_outputs() -> list[tuple[str, str, str]]:
    """(page, example, the output the page shows right after including it)."""
    found = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for include in _INCLUDE.finditer(text):
            after = text[include.end() :]
            block = _TEXT.search(after)
            # the output belongs to this example when no other include or heading comes first
            if block is None or "```{literalinclude}" in after[: block.start()]:
                continue
            if re.search(r"^#", after[: block.start()], re.M):
                continue
            found.append((page.name, include.group(1), block.group(1)))
    return found


RUN_ELSEWHERE = {
    "examples/worker_service.py": "tests/test_workers.py (it serves until a signal)",
    "examples/prefork_worker.py": "tests/test_workers.py",
    "examples/apache_kafka.py": "tests/test_apache_kafka.py (it needs Java)",
}

SHOWN = [shown for shown in _shown_outputs() if shown[1] not in RUN_ELSEWHERE]


def test_the_pages_show_the_output_of_their_examples() -> None:
    shown = {example for _, example, _ in SHOWN}
    assert {"examples/quickstart.py", "examples/push.py", "examples/errors.py"} <= shown, shown


@pytest.mark.slow
@pytest.mark.parametrize(("page", "example", "output"), SHOWN, ids=[e for _, e, _ in SHOWN])
def test_an_example_prints_what_its_page_shows(page: str, example: str, output: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("A2A_KAFKA_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, str(DOCS / example)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=240,
    )
    assert done.returncode == 0, f"{example} failed:\n{done.stderr[-3000:]}"
    assert done.stdout == output, (
        f"docs/{page} shows an output of {example} that it does not print:\n{done.stdout}"
    )
