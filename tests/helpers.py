"""Helpers the tests share: thread inspection, waiting, raw kafka-python access, a webhook,
a webhook that never answers."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from a2a_kafka_sync.testing import ApacheKafka, EmbeddedBroker

UNSERVED = {"create_request_topic": True, "check_agent": False}
"""Client settings for a call that gets no reply: its request topic made when missing, and the
request sent although no server reads it (a server that starts later would), instead of the
NoAgentError a client raises at once by default (docs/errors.md)."""


def when_served(call: Callable[[], Any], timeout: float = 60.0) -> Any:
    """What ``call()`` returns once an agent serves its topic: called again while it raises
    NoAgentError (a server still starting), for up to ``timeout`` s."""
    from a2a_kafka_sync import NoAgentError

    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except NoAgentError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def library_threads() -> list[str]:
    """Names of live threads started by this library or by kafka-python."""
    return sorted(
        t.name
        for t in threading.enumerate()
        if t.name.startswith(("a2a-kafka", "kafka-")) and t.is_alive()
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` s pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        time.sleep(0.02)
    return True


class OwnBroker:
    """A broker a test may stop, pause and start again, of the kind the session runs on
    (``kind``: ``tansu`` or ``apache``, conftest's BROKER_KIND)."""

    def __init__(self, kind: str) -> None:
        self.apache = ApacheKafka() if kind == "apache" else None
        self.tansu = None if self.apache else EmbeddedBroker()

    def start(self) -> OwnBroker:
        if self.apache:
            self.apache.start()
        else:
            assert self.tansu is not None
            self.tansu.start()
        return self

    def settings(self) -> dict[str, Any]:
        return self.apache.settings() if self.apache else self.tansu.settings()  # type: ignore[union-attr]

    def down(self) -> None:
        """Killed, as a crash would (Apache Kafka keeps its data; Tansu keeps nothing)."""
        if self.apache:
            self.apache.kill(1)
        else:
            assert self.tansu is not None
            self.tansu.kill()

    def up(self) -> None:
        """Back, on the same port."""
        if self.apache:
            self.apache.restart(1)
        else:
            assert self.tansu is not None
            self.tansu.start()

    def pause(self) -> None:
        """Frozen (SIGSTOP), as a hung broker: connections stay open, nothing is answered."""
        os.kill(self._pid(), signal.SIGSTOP)

    def resume(self) -> None:
        """Thawed (SIGCONT) after :meth:`pause`."""
        os.kill(self._pid(), signal.SIGCONT)

    def _pid(self) -> int:
        pid = self.apache.pid(1) if self.apache else self.tansu.pid  # type: ignore[union-attr]
        assert pid is not None, "the broker is not running"
        return pid

    def stop(self) -> None:
        if self.apache:
            self.apache.stop()
        elif self.tansu is not None:
            self.tansu.stop()


class RawKafka:
    """Plain kafka-python access to the broker, for records the library would never write."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.producer = KafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=0)

    def send(
        self,
        topic: str,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        key: bytes | None = None,
    ) -> None:
        """Produce one record and wait until the broker has it."""
        self.producer.send(topic, value=value, key=key, headers=headers).get(timeout=10)

    def topics(self) -> set[str]:
        """The names of the topics on the broker now (a metadata request that creates none)."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        try:
            return set(admin.list_topics())
        finally:
            admin.close()

    def create_topic(self, name: str, partitions: int = 2) -> None:
        """Create a topic, as an operator would, and wait until the broker knows it."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        try:
            admin.create_topics(
                {name: {"num_partitions": partitions, "replication_factor": -1}},
                wait_for_metadata=True,
            )
        finally:
            admin.close()

    def reply_topic(self) -> RawReplies:
        """A fresh topic, read from its start, to collect the replies sent to it."""
        name = f"a2a-reply-raw-{uuid.uuid4().hex[:12]}"  # the servers' reply_topic_pattern
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        try:
            admin.create_topics(
                {name: {"num_partitions": 1, "replication_factor": -1}}, wait_for_metadata=True
            )
        finally:
            admin.close()
        return RawReplies(self.bootstrap_servers, name)

    def close(self) -> None:
        self.producer.close(timeout=5)


class RawReplies:
    """Reads every record of one reply topic, decoded to (correlation_id, JSON value)."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.topic = topic
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=10
        )
        self.consumer.assign([TopicPartition(topic, 0)])
        self.consumer.seek_to_beginning()

    def read(self, count: int, timeout: float = 20.0) -> list[tuple[str | None, dict[str, Any]]]:
        """The next ``count`` records (fewer if ``timeout`` s pass first)."""
        import json

        out: list[tuple[str | None, dict[str, Any]]] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for records in self.consumer.poll(timeout_ms=100).values():
                for record in records:
                    headers = dict(record.headers or [])
                    cid = headers.get("correlation_id")
                    out.append((cid.decode() if cid else None, json.loads(record.value)))
        return out

    def records(
        self, count: int, timeout: float = 20.0
    ) -> list[tuple[dict[str, bytes], dict[str, Any]]]:
        """The next ``count`` records (fewer if ``timeout`` s pass first), as (headers, JSON)."""
        import json

        out: list[tuple[dict[str, bytes], dict[str, Any]]] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for records in self.consumer.poll(timeout_ms=100).values():
                out += [(dict(r.headers or []), json.loads(r.value)) for r in records]
        return out

    def close(self) -> None:
        self.consumer.close(autocommit=False)


class Webhook:
    """A local HTTP server that records each POST and answers with scripted statuses."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # answered in turn; 200 once they run out
        self.on_request: Callable[[bytes], object] = lambda body: None  # runs before recording
        self._lock = threading.Lock()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                webhook.on_request(body)
                with webhook._lock:
                    webhook.received.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    status = webhook.statuses.pop(0) if webhook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class BlackHole:
    """A TCP server on loopback that accepts every connection and never answers (nor closes
    it): the webhook that never replies. :meth:`close` ends the connections it holds."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            with self._lock:
                self.connections.append(connection)

    @property
    def accepted(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return len(self.connections)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}{path}"

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)
        with self._lock:
            for connection in self.connections:
                connection.close()


class BackgroundCall:
    """Runs ``fn()`` on a thread of its own and keeps its result or the error it raised."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.results: list[Any] = []
        self.errors: list[BaseException] = []

        def run() -> None:
            try:
                self.results.append(fn())
            except BaseException as exc:  # kept for the test to assert on
                self.errors.append(exc)

        self.thread = threading.Thread(target=run)
        self.thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the call to end (at most ``timeout`` s)."""
        self.thread.join(timeout)


def committed_and_end(bootstrap_servers: str, group_id: str, topic: str) -> tuple[int, int]:
    """The group's committed offsets and the topic's end offsets, summed over partitions."""
    probe = KafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    try:
        partitions = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic)]
        committed = sum(probe.committed(tp) or 0 for tp in partitions)
        end = sum(probe.end_offsets(partitions).values())
    finally:
        probe.close(autocommit=False)
    return committed, end
