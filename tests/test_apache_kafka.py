"""``ApacheKafka`` itself: the example of docs/testing.md runs, and a node restarted after a
crash keeps its data."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from a2a_kafka_sync.testing import ApacheKafka

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "apache_kafka.py"

pytestmark = [pytest.mark.slow, pytest.mark.apache_cluster]


def test_the_example_of_the_testing_page_answers() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "echo: hello"


def test_a_killed_node_restarts_on_its_data() -> None:
    topic = f"kept-{uuid.uuid4().hex[:8]}"
    with ApacheKafka() as kafka:
        producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
        for i in range(10):
            producer.send(topic, value=f"r{i}".encode()).get(timeout=30)
        producer.close(timeout=5)
        assert kafka.leader_of(topic) == 1

        kafka.kill(1)
        assert not kafka.node_running(1)
        kafka.restart(1)
        assert kafka.running

        consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap_servers)
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        values: list[bytes] = []
        for _ in range(100):
            for records in consumer.poll(timeout_ms=200).values():
                values += [r.value for r in records]
            if len(values) >= 10:
                break
        consumer.close()
        assert values == [f"r{i}".encode() for i in range(10)]
