"""The deprecation-warning filters docs/testing.md gives users are the project's own, and enough.

A fresh interpreter with every warning turned on (``-W always``) plus the documented filters
runs a client/server round trip on the session's broker and prints no DeprecationWarning.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

ROUND_TRIP = """
import json, os, sys
from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
settings = json.loads(os.environ["ROUND_TRIP_SETTINGS"])
topic = os.environ["ROUND_TRIP_TOPIC"]
with KafkaServerApp(lambda message: "echo: " + message.text, request_topic=topic, **settings):
    with KafkaClientTransport(request_topic=topic, **settings) as client:
        print(client.send_text("hello", timeout=20))
"""


def _documented_filters() -> list[str]:
    text = (ROOT / "docs" / "testing.md").read_text()
    block = re.search(r"```ini\n\[tool:pytest\]\nfilterwarnings =\n(.*?)```", text, re.S)
    assert block, "docs/testing.md has no [tool:pytest] filterwarnings block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def _project_filters() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return [line.strip() for line in parser["tool:pytest"]["filterwarnings"].splitlines() if line]


def test_the_documented_filters_are_the_projects_own() -> None:
    assert _documented_filters() == _project_filters()


def _round_trip(settings: dict[str, Any], topic: str, filters: list[str]) -> str:
    import json

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["ROUND_TRIP_SETTINGS"] = json.dumps(settings)
    env["ROUND_TRIP_TOPIC"] = topic
    args = [sys.executable, "-W", "always"]
    for entry in filters:
        args += ["-W", entry]
    done = subprocess.run(
        [*args, "-c", ROUND_TRIP],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "echo: hello"
    return done.stderr


@pytest.mark.slow
def test_a_round_trip_with_the_documented_filters_warns_of_nothing(
    broker_settings: dict[str, Any], topic: str
) -> None:
    settings = {k: v for k, v in broker_settings.items() if v is not None}
    unfiltered = _round_trip(settings, topic, [])
    if "is deprecated" not in unfiltered:  # pragma: no cover - depends on kafka-python
        pytest.skip("kafka-python no longer warns: the filters in docs/testing.md can go")
    filtered = _round_trip(settings, topic + "-filtered", _documented_filters())
    assert "DeprecationWarning" not in filtered, filtered[-3000:]
