"""docs/examples/notebook.ipynb runs, cell by cell, on a real Jupyter kernel.

The kernel runs this interpreter (``sys.executable``), whatever kernelspecs the machine
or the user has installed: ipykernel writes its own kernelspec for the current
interpreter (``write_kernel_spec``) into a temporary directory, and the kernel manager
looks for kernelspecs there only. Nothing is installed globally and no environment
variable is changed. The notebook starts its own embedded broker, as a user's would.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "examples" / "notebook.ipynb"
GUIDE = ROOT / "docs" / "jupyter.md"
KERNEL_NAME = "a2a-kafka-sync-tests"

POEM = [  # what the notebook's agent streams, one event per line
    "A question left the notebook on a topic,",
    "no event loop to carry it, only a thread.",
    "A worker read it and wrote the answer back,",
    "and the cell went on, one line at a time.",
]


class RecordingClient(NotebookClient):
    """A NotebookClient that also keeps every IOPub message type it processed, per cell."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: list[tuple[int, str, str | None]] = []

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        display_id = msg["content"].get("transient", {}).get("display_id")
        # Recorded first: nbclient rewrites an update_display_data header as it applies it.
        self.messages.append((cell_index, msg["header"]["msg_type"], display_id))
        return super().process_message(msg, cell, cell_index)


def _code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _cell_index(notebook: Any, marker: str) -> int:
    """The index of the one code cell whose source contains ``marker``."""
    found = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and marker in cell.source
    ]
    assert len(found) == 1, f"{len(found)} code cells contain {marker!r}"
    return found[0]


def _stdout(cell: Any) -> str:
    return "".join(
        out.text for out in cell.outputs if out.output_type == "stream" and out.name == "stdout"
    )


KERNEL_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
"""The kernel's environment: it imports what this test imports, the package's source included."""


def _kernel_manager(directory: Path) -> KernelManager:
    """A kernel manager for a kernel of this interpreter, whatever kernelspecs are installed."""
    # ipykernel's own kernelspec for the running interpreter: argv[0] is sys.executable.
    write_kernel_spec(directory / KERNEL_NAME)
    specs = KernelSpecManager(kernel_dirs=[str(directory)], ensure_native_kernel=False)
    manager = KernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=specs,
        transport="ipc",  # Unix sockets in the temporary directory: no TCP ports to race for
        ip=str(directory / "kernel"),
    )
    assert manager.kernel_spec.argv[0] == sys.executable
    return manager


@pytest.fixture(scope="module")
def executed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Any, RecordingClient]]:
    """The notebook after running every cell on a kernel of this interpreter."""
    manager = _kernel_manager(tmp_path_factory.mktemp("kernels"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = RecordingClient(
        notebook,
        km=manager,
        timeout=120,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},  # the kernel's working directory
    )
    try:
        client.execute(env=KERNEL_ENV)
        yield notebook, client
    finally:
        # nbclient shuts down only the kernels it started itself, not one it was handed.
        if manager.has_kernel:
            manager.shutdown_kernel()


def test_every_cell_runs_on_a_kernel_without_error(executed: tuple[Any, Any]) -> None:
    notebook, _ = executed
    cells = _code_cells(notebook)
    assert cells and all(cell.execution_count for cell in cells), "a cell did not run"
    errors = [out for cell in cells for out in cell.outputs if out.output_type == "error"]
    assert errors == []


def test_the_blocking_call_prints_the_agents_reply(executed: tuple[Any, Any]) -> None:
    notebook, _ = executed
    cell = notebook.cells[_cell_index(notebook, 'send_text("Hello from a notebook")')]
    assert _stdout(cell) == (
        "You said 'Hello from a notebook'. Ask me for a poem, and stream it.\n"
    )


def test_asyncio_run_fails_in_the_kernel_where_the_blocking_call_works(
    executed: tuple[Any, Any],
) -> None:
    notebook, _ = executed
    out = _stdout(notebook.cells[_cell_index(notebook, "asyncio.run(")])
    assert out.splitlines() == [
        "asyncio.run: RuntimeError: asyncio.run() cannot be called from a running event loop",
        "client.send_text: You said 'And from inside the loop?'. Ask me for a poem, and stream it.",
    ]


def test_the_stream_updates_one_live_display_per_event(executed: tuple[Any, Any]) -> None:
    notebook, client = executed
    index = _cell_index(notebook, "send_message_streaming(")
    cell = notebook.cells[index]
    displays = [out for out in cell.outputs if out.output_type == "display_data"]
    assert len(displays) == 1, "the stream should draw into one display, updated in place"
    assert displays[0].data["text/markdown"] == "  \n".join(POEM)
    assert _stdout(cell) == f"{len(POEM)} events streamed\n"

    shown = [(kind, did) for i, kind, did in client.messages if i == index and did is not None]
    display_ids = {did for _, did in shown}
    assert len(display_ids) == 1
    assert [kind for kind, _ in shown] == ["display_data"] + ["update_display_data"] * len(POEM)


def test_the_last_cell_closes_the_client_and_stops_server_and_broker(
    executed: tuple[Any, Any],
) -> None:
    notebook, _ = executed
    lines = _stdout(notebook.cells[_cell_index(notebook, "broker.stop()")]).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("<KafkaClientTransport closed request_topic='notebook-poet'")
    assert lines[1].startswith("<KafkaServerApp stopped request_topic='notebook-poet'")
    assert re.fullmatch(r"<EmbeddedBroker 127\.0\.0\.1:\d+ stopped>", lines[2])


def test_the_stored_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    cells = _code_cells(notebook)
    assert cells
    assert all(cell.outputs == [] and cell.execution_count is None for cell in cells)


def test_every_cell_the_guide_shows_is_a_cell_of_the_notebook() -> None:
    """docs/jupyter.md shows the notebook's cells; this test runs them, so they must match."""
    shown = re.findall(
        r"^```\{code-block\} python\n(?::[^\n]*\n)*\n?(.*?)^```",
        GUIDE.read_text(encoding="utf-8"),
        flags=re.MULTILINE | re.DOTALL,
    )
    assert shown, "docs/jupyter.md shows no cell of the notebook"
    sources = {cell.source.strip() for cell in _code_cells(nbformat.read(NOTEBOOK, as_version=4))}
    missing = [block for block in shown if block.strip() not in sources]
    assert missing == [], "cells shown in docs/jupyter.md that the notebook does not have"


INTERRUPT_SETUP = """
import threading
from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.testing import EmbeddedBroker

release = threading.Event()

def agent(message):
    if message.text == "hang":
        release.wait(120)
    return f"answer {message.text}"

broker = EmbeddedBroker().start()
app = KafkaServerApp(agent, request_topic="interrupted", **broker.settings()).start()
client = KafkaClientTransport(request_topic="interrupted", timeout=10, **broker.settings())
print(client.send_text("first"))
"""

INTERRUPT_CLEANUP = """
release.set()
client.close(timeout=1)
if broker.running:  # else the server would wait out its drain against a broker that is gone
    app.stop(timeout=1)
broker.stop()
"""


def _run_cell(kernel: Any, code: str, on_stdout: Any = None) -> tuple[str, list[str]]:
    """Run ``code`` on the kernel; its stdout and the names of the errors it raised.

    ``on_stdout(text_so_far)`` is called on each piece of stdout, while the cell runs.
    """
    out: list[str] = []
    errors: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
            if on_stdout is not None:
                on_stdout("".join(out))
        elif msg["msg_type"] == "error":
            errors.append(msg["content"]["ename"])

    kernel.execute_interactive(code, output_hook=hook, timeout=120)
    return "".join(out).strip(), errors


def test_interrupting_a_waiting_call_leaves_the_client_and_the_broker_working(
    tmp_path: Path,
) -> None:
    manager = _kernel_manager(tmp_path)
    manager.start_kernel(env=KERNEL_ENV)
    kernel = manager.client()
    kernel.start_channels()
    try:
        kernel.wait_for_ready(60)
        assert _run_cell(kernel, INTERRUPT_SETUP) == ("answer first", [])

        def interrupt_once_calling(stdout: str) -> None:
            if stdout == "calling\n":
                manager.interrupt_kernel()  # the notebook's stop button

        _, errors = _run_cell(
            kernel, 'print("calling", flush=True)\nclient.send_text("hang")', interrupt_once_calling
        )
        assert errors == ["KeyboardInterrupt"]
        assert _run_cell(kernel, "print(broker.running, client.pending)") == ("True 0", [])
        assert _run_cell(kernel, 'print(client.send_text("after"))') == ("answer after", [])
    finally:
        _run_cell(kernel, INTERRUPT_CLEANUP)
        kernel.stop_channels()
        manager.shutdown_kernel()
