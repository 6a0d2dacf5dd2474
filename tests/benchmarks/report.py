"""The benchmark's results: rows with a figure, what it is compared with, and the target."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import kafka

import a2a_kafka_sync

__all__ = ["Row", "machine", "print_table", "write_json"]


@dataclasses.dataclass
class Row:
    """One figure: ``ours`` against ``reference`` (the floor, R, or a fixed bound).

    ``ratio`` is ours / reference. ``target`` says what the ratio (or, with
    ``absolute``, the figure itself) must be: ``("<=", 1.15)`` or ``(">=", 0.5)``.
    """

    scenario: str
    figure: str
    unit: str
    ours: float
    reference: float | None = None
    reference_name: str = "floor"
    target: tuple[str, float] | None = None
    absolute: bool = False
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference in (None, 0):
            return None
        return self.ours / self.reference  # type: ignore[operator]

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        value = self.ours if self.absolute else self.ratio
        if value is None:
            return None
        sign, bound = self.target
        return value <= bound if sign == "<=" else value >= bound

    def as_dict(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "ratio": self.ratio,
            "met": self.met,
        }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    load = os.getloadavg()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "kafka_python": kafka.__version__,
        "a2a_kafka_sync": a2a_kafka_sync.__version__,
        "load_average_at_start": [round(x, 2) for x in load],
    }


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def print_table(rows: list[Row]) -> None:
    """A plain-text table: figure, ours, the reference, the ratio, the target and whether met."""
    header = f"{'figure':44} {'ours':>10} {'reference':>18} {'ratio':>7} {'target':>12}  met"
    print(header)
    print("-" * len(header))
    for row in rows:
        reference = (
            f"{_number(row.reference)} {row.reference_name}" if row.reference is not None else "-"
        )
        target = "-"
        if row.target is not None:
            sign, bound = row.target
            target = f"{sign} {bound:g}{' ' + row.unit if row.absolute else 'x'}"
        met = {None: "", True: "yes", False: "NO"}[row.met]
        label = f"{row.scenario}: {row.figure} ({row.unit})"
        print(
            f"{label:44} {_number(row.ours):>10} {reference:>18} "
            f"{_number(row.ratio):>7} {target:>12}  {met}"
        )
        if row.note:
            print(f"{'':46}{row.note}")


def write_json(path: Path, rows: list[Row], settings: dict[str, Any]) -> None:
    """The rows, the machine and the client settings, as JSON."""
    document = {
        "machine": machine(),
        "settings": {k: v for k, v in settings.items() if k != "bootstrap_servers"},
        "results": [row.as_dict() for row in rows],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
