"""A real Apache Kafka for tests and benchmarks: ``ApacheKafka`` (KRaft, one node or a cluster).

The broker's jars come from Maven Central, fetched once by Maven into a cache
folder outside any repository (:func:`install_kafka`; ``.ci/install-kafka`` runs
it); the nodes run on this machine's Java (17 or later), on free loopback ports,
each a combined broker and controller. ::

    with ApacheKafka() as kafka:                        # one node, plaintext
        with KafkaServerApp(echo, **kafka.settings()):
            ...

    with ApacheKafka(nodes=3) as cluster:               # replication factor 3,
        cluster.kill(cluster.leader_of("t"))            # min.insync.replicas 2

    with ApacheKafka(users={"admin": "a", "alice": "b"}) as secured:
        secured.run_tool("org.apache.kafka.tools.AclCommand", "--add", ...)
        KafkaServerApp(echo, **secured.settings(user="alice"))  # SASL/SCRAM, ACLs

``users`` turns on SASL/SCRAM-SHA-256 on the client listener and the
StandardAuthorizer with ``allow.everyone.if.no.acl.found=false``; the first user
is the super user the nodes talk to each other as. ``tls`` serves the client
listener over TLS (PEM files; with ``users`` too, SASL_SSL).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from ._process import (
    BrokerStartError,
    accepts_connections,
    free_port,
    read_log,
    start_reaper,
    stop_process,
    stop_reaper,
    wait_until,
)

__all__ = ["DEFAULT_KAFKA_VERSION", "ApacheKafka", "TlsFiles", "install_kafka", "kafka_libs"]

logger = logging.getLogger("a2a_kafka_sync.testing")

DEFAULT_KAFKA_VERSION = "4.1.1"
"""The Apache Kafka release :func:`install_kafka` fetches unless told otherwise
(``A2A_KAFKA_VERSION``)."""

_LOG4J_VERSION = "2.25.3"
_SLF4J_VERSION = "2.0.17"
_READY_MARK = "Kafka Server started"
_COMPLETE = ".complete"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.a2a-kafka-sync</groupId>
  <artifactId>apache-kafka-broker</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId>
      <version>{slf4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

# WARN and worse from everything, plus the line that says a node is up (the ready mark).
_LOG4J2 = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
"""


# Runs a tool's main once per line of a file (tab-separated arguments), in one JVM; given to
# java as a source file (Java 11+ runs it without a separate javac step).
_TOOL_BATCH = """import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.kafka.common.utils.Exit;

public class ToolBatch {
    static final class Exited extends RuntimeException {
        final int status;
        Exited(int status) { super(null, null, false, false); this.status = status; }
    }

    public static void main(String[] args) throws Throwable {
        java.lang.reflect.Method main = Class.forName(args[0]).getMethod("main", String[].class);
        // Kafka's tools end through Exit.exit (some even on success): make it return here.
        Exit.setExitProcedure((status, message) -> { throw new Exited(status); });
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            if (line.isEmpty()) continue;
            String[] toolArgs = line.split("\\t", -1);
            System.out.println("> " + String.join(" ", toolArgs));
            System.out.flush();
            try {
                main.invoke(null, (Object) toolArgs);
            } catch (java.lang.reflect.InvocationTargetException e) {
                if (!(e.getCause() instanceof Exited)) throw e.getCause();
                int status = ((Exited) e.getCause()).status;
                if (status != 0) {
                    System.out.flush();
                    Runtime.getRuntime().halt(status);
                }
            }
        }
        System.out.flush();
        System.exit(0);  // a tool may leave a thread behind
    }
}
"""


def _version(version: str | None) -> str:
    return version or os.environ.get("A2A_KAFKA_VERSION") or DEFAULT_KAFKA_VERSION


def kafka_libs(version: str | None = None) -> Path:
    """Where the jars of ``version`` are (or go): ``$A2A_KAFKA_HOME/<version>/libs``,
    by default under ``~/.cache/a2a-kafka-sync/apache-kafka``."""
    root = os.environ.get("A2A_KAFKA_HOME")
    base = Path(root) if root else Path.home() / ".cache" / "a2a-kafka-sync" / "apache-kafka"
    return base / _version(version) / "libs"


def install_kafka(version: str | None = None) -> Path:
    """Fetch Apache Kafka ``version`` (default :data:`DEFAULT_KAFKA_VERSION`) and a log4j2
    binding from Maven Central with ``mvn dependency:copy-dependencies``; returns the folder
    of jars. Does nothing when they are already there. Needs ``mvn`` and Java 17+;
    raises :class:`BrokerStartError` saying what is missing or what Maven printed."""
    libs = kafka_libs(version)
    if (libs / _COMPLETE).exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerStartError("installing Apache Kafka needs Maven (mvn) on the PATH")
    libs.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="install-", dir=libs.parent))
    try:
        (work / "pom.xml").write_text(
            _POM.format(version=_version(version), log4j=_LOG4J_VERSION, slf4j=_SLF4J_VERSION)
        )
        result = subprocess.run(
            [mvn, "-q", "-B", "dependency:copy-dependencies", "-DoutputDirectory=libs"],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerStartError(
                f"Maven could not fetch Apache Kafka {_version(version)}:\n"
                f"{(result.stdout + result.stderr)[-3000:]}"
            )
        (work / "libs" / _COMPLETE).write_text(_version(version))
        shutil.rmtree(libs, ignore_errors=True)
        (work / "libs").rename(libs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return libs


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for a TLS listener: the node's certificate (with a ``subjectAltName`` of
    the host), its unencrypted key (PKCS#8, or a traditional EC or RSA key, converted with
    ``openssl pkey``), and the CA that signed it (which clients trust)."""

    cert: Path
    key: Path
    ca: Path


@dataclass
class _Node:
    node_id: int
    port: int
    controller_port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    reaper: subprocess.Popen[bytes] | None = None
    """Ends the node if this process dies without stopping it (see _process.start_reaper)."""
    starts_logged: int = 0
    """How many ready marks its log held when it was last launched (the log keeps them all)."""

    @property
    def log_path(self) -> Path:
        return self.folder / "node.log"


def _stop_at_exit(ref: weakref.ReferenceType[ApacheKafka]) -> None:
    kafka = ref()
    if kafka is not None:
        kafka.stop(timeout=5.0)


class ApacheKafka:
    """Apache Kafka in child processes: ``nodes`` KRaft nodes on loopback; a context manager.

    Args:
        nodes: how many nodes (each broker and controller). With three or more, topics are
            replicated three times and ``min.insync.replicas`` is 2.
        version: the Apache Kafka release (see :func:`install_kafka`, which runs if needed).
        host: loopback address the nodes listen on.
        users: SCRAM-SHA-256 users (name -> password): SASL on the client listener and the
            StandardAuthorizer, nothing allowed without an ACL; the first is a super user
            (the nodes' own).
        tls: serve the client listener over TLS with these files.
        broker_config: more ``server.properties`` lines, winning over the ones made here
            (e.g. ``{"message.max.bytes": "200000"}``).
        startup_timeout: seconds to wait for every node to say it started.
        heap: the Java heap of each node (``-Xmx``).
    """

    profile = None
    """The settings profile for this broker: none, Apache Kafka needs the library's defaults."""

    def __init__(
        self,
        nodes: int = 1,
        *,
        version: str | None = None,
        host: str = "127.0.0.1",
        users: Mapping[str, str] | None = None,
        tls: TlsFiles | None = None,
        broker_config: Mapping[str, str] | None = None,
        startup_timeout: float = 120.0,
        heap: str = "768m",
    ) -> None:
        if nodes < 1:
            raise ValueError("an Apache Kafka cluster needs at least one node")
        self.host = host
        self.version = _version(version)
        self.users = dict(users or {})
        self.tls = tls
        self.startup_timeout = startup_timeout
        self._broker_config = dict(broker_config or {})
        self._heap = heap
        self._node_count = nodes
        self._folder: Path | None = None
        self._nodes: dict[int, _Node] = {}
        self._libs: Path | None = None
        self._atexit = functools.partial(_stop_at_exit, weakref.ref(self))

    # -- what clients need ----------------------------------------------------------------------

    @property
    def node_ids(self) -> list[int]:
        """The ids of the nodes (1, 2, 3, ...)."""
        return sorted(self._nodes)

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` of every node, comma-separated."""
        if not self._nodes:
            raise BrokerStartError("Apache Kafka is not running")
        return ",".join(f"{self.host}:{node.port}" for node in self._nodes.values())

    @property
    def security_protocol(self) -> str:
        """The client listener's protocol: PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL."""
        if self.users:
            return "SASL_SSL" if self.tls else "SASL_PLAINTEXT"
        return "SSL" if self.tls else "PLAINTEXT"

    def settings(self, user: str | None = None, password: str | None = None) -> dict[str, Any]:
        """Keyword arguments that point a client or server at this cluster: bootstrap
        servers, no profile, and the security settings of its listener (as ``user``,
        by default the super user, with ``password``, by default the user's own)."""
        settings: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "profile": self.profile,
        }
        settings.update(self.kafka_security(user, password))
        return settings

    def kafka_security(
        self, user: str | None = None, password: str | None = None
    ) -> dict[str, Any]:
        """Only the kafka-python security settings of :meth:`settings` (empty for plaintext)."""
        security: dict[str, Any] = {}
        if self.security_protocol != "PLAINTEXT":
            security["security_protocol"] = self.security_protocol
        if self.users:
            name = user or self.super_user
            security.update(
                sasl_mechanism="SCRAM-SHA-256",
                sasl_plain_username=name,
                sasl_plain_password=password if password is not None else self.users.get(name, ""),
            )
        if self.tls:
            security["ssl_cafile"] = str(self.tls.ca)
        return security

    @property
    def super_user(self) -> str:
        """The first of ``users``: the nodes' own principal, allowed everything."""
        if not self.users:
            raise ValueError("this cluster has no users (no SASL)")
        return next(iter(self.users))

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while every node's process is alive."""
        return bool(self._nodes) and all(self.node_running(n) for n in self._nodes)

    def node_running(self, node_id: int) -> bool:
        """True while node ``node_id``'s process is alive."""
        process = self._nodes[node_id].process
        return process is not None and process.poll() is None

    def start(self) -> ApacheKafka:
        """Install if needed, format the nodes' storage, start every node and wait until each
        says it started; raises :class:`BrokerStartError` otherwise. Idempotent."""
        if self._nodes:
            return self
        if shutil.which("java") is None:
            raise BrokerStartError("Apache Kafka needs Java 17 or later (java) on the PATH")
        self._libs = install_kafka(self.version)
        self._folder = Path(tempfile.mkdtemp(prefix="a2a-kafka-apache-"))
        (self._folder / "log4j2.properties").write_text(_LOG4J2)
        for node_id in range(1, self._node_count + 1):
            folder = self._folder / f"node-{node_id}"
            folder.mkdir()
            self._nodes[node_id] = _Node(
                node_id, free_port(self.host), free_port(self.host), folder
            )
        try:
            self._format()
            for node_id in self._nodes:
                self._launch(node_id)
            self._wait_ready(list(self._nodes))
        except BaseException:
            self.stop()
            raise
        atexit.register(self._atexit)
        logger.info(
            "Apache Kafka %s ready at %s (%d node(s), %s)",
            self.version,
            self.bootstrap_servers,
            len(self._nodes),
            self.security_protocol,
        )
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every node (SIGTERM, then SIGKILL after ``timeout`` s) and delete its data.
        Idempotent; a cluster still running at interpreter exit is stopped then."""
        atexit.unregister(self._atexit)
        for node in self._nodes.values():
            stop_reaper(node.reaper)
            node.reaper = None
            if node.process is not None:
                stop_process(node.process, timeout)
                node.process = None
        self._nodes = {}
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def pid(self, node_id: int) -> int | None:
        """The process id of node ``node_id`` while it runs (to pause it, or measure it), else
        None."""
        node = self._nodes.get(node_id)
        if node is None or node.process is None or node.process.poll() is not None:
            return None
        return node.process.pid

    def kill(self, node_id: int) -> None:
        """Kill node ``node_id`` at once (SIGKILL), as a crash would; its data stays."""
        node = self._nodes[node_id]
        stop_reaper(node.reaper)
        node.reaper = None
        if node.process is not None and node.process.poll() is None:
            node.process.kill()
            node.process.wait(10.0)

    def restart(self, node_id: int) -> None:
        """Start node ``node_id`` again on its data (after :meth:`kill`), and wait for it."""
        node = self._nodes[node_id]
        stop_reaper(node.reaper)
        node.reaper = None
        if node.process is not None:
            stop_process(node.process, 10.0)
        self._launch(node_id)
        self._wait_ready([node_id])

    def leader_of(self, topic: str, partition: int = 0) -> int:
        """The id of the node leading ``topic``'s ``partition`` (asked of the cluster)."""
        from .._kafka import build_admin
        from ..config import ClientConfig, build_config

        admin = build_admin(build_config(ClientConfig, **self.settings()))
        try:
            (description,) = admin.describe_topics([topic])
        finally:
            admin.close()
        for entry in description["partitions"]:
            if entry["partition_index"] == partition:
                leader: int = entry["leader_id"]
                return leader
        raise KeyError(f"{topic} has no partition {partition}")

    def log_text(self, node_id: int | None = None) -> str:
        """What node ``node_id`` (default: every node, one after the other) logged so far."""
        ids = [node_id] if node_id is not None else list(self._nodes)
        return "".join(read_log(self._nodes[i].log_path) for i in ids if i in self._nodes)

    def run_tool(self, main_class: str, *args: str, timeout: float = 120.0) -> str:
        """Run one of Kafka's own command-line tools (``main_class``, e.g.
        ``org.apache.kafka.tools.AclCommand``) on this cluster's jars, as the super user when
        ``--command-config`` is given :meth:`client_properties`; returns what it printed.
        Raises :class:`BrokerStartError` with that output when it fails."""
        result = subprocess.run(
            [
                self._java(),
                "-Xmx256m",
                *self._log_options(),
                "-cp",
                self._classpath(),
                main_class,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise BrokerStartError(f"{main_class} {' '.join(args)} failed:\n{output[-3000:]}")
        return output

    def run_tool_batch(
        self, main_class: str, commands: Sequence[Sequence[str]], *, timeout: float = 120.0
    ) -> str:
        """Run Kafka's tool ``main_class`` once per argument list of ``commands``, one after
        the other, in one Java process (a JVM start costs seconds; the tool's ``main`` is
        called as ``kafka-run-class.sh`` would call it). Returns what it printed; raises
        :class:`BrokerStartError` with that output when one of them fails (the tools exit
        on failure, so the rest do not run). An argument may not hold a tab or a newline."""
        assert self._folder is not None, "start() first"
        lines = []
        for args in commands:
            if any("\t" in arg or "\n" in arg for arg in args):
                raise ValueError(f"a tool argument holds a tab or a newline: {list(args)}")
            lines.append("\t".join(args))
        batch = self._folder / f"batch-{uuid.uuid4().hex[:8]}.txt"
        batch.write_text("\n".join(lines) + "\n")
        launcher = self._folder / "ToolBatch.java"
        launcher.write_text(_TOOL_BATCH)
        return self.run_tool(str(launcher), main_class, str(batch), timeout=timeout)

    def client_properties(self, user: str | None = None) -> Path:
        """A Java client properties file for Kafka's tools (``--command-config``), as ``user``
        (default: the super user)."""
        assert self._folder is not None, "start() first"
        lines = [f"security.protocol={self.security_protocol}"]
        if self.users:
            name = user or self.super_user
            lines += [
                "sasl.mechanism=SCRAM-SHA-256",
                "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                f'required username="{name}" password="{self.users[name]}";',
            ]
        if self.tls:
            lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={self.tls.ca}"]
        path = self._folder / f"client-{user or 'super'}.properties"
        path.write_text("\n".join(lines) + "\n")
        return path

    # -- the nodes ------------------------------------------------------------------------------

    def _java(self) -> str:
        java = os.environ.get("JAVA_HOME")
        return str(Path(java) / "bin" / "java") if java else "java"

    def _classpath(self) -> str:
        assert self._libs is not None
        return str(self._libs / "*")

    def _log_options(self) -> list[str]:
        assert self._folder is not None
        return [f"-Dlog4j2.configurationFile={self._folder / 'log4j2.properties'}"]

    def _properties(self, node: _Node) -> dict[str, str]:
        count = len(self._nodes)
        replicas = str(min(count, 3))
        voters = ",".join(
            f"{n.node_id}@{self.host}:{n.controller_port}" for n in self._nodes.values()
        )
        protocols = f"CLIENT:{self.security_protocol},CONTROLLER:PLAINTEXT"
        listeners = (
            f"CLIENT://{self.host}:{node.port},CONTROLLER://{self.host}:{node.controller_port}"
        )
        properties = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "controller.quorum.voters": voters,
            "controller.listener.names": "CONTROLLER",
            "listeners": listeners,
            "advertised.listeners": f"CLIENT://{self.host}:{node.port}",
            "inter.broker.listener.name": "CLIENT",
            "listener.security.protocol.map": protocols,
            "log.dirs": str(node.folder / "data"),
            "offsets.topic.replication.factor": replicas,
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": "2" if count >= 3 else "1",
            "transaction.state.log.num.partitions": "10",
            "default.replication.factor": replicas,
            "min.insync.replicas": "2" if count >= 3 else "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": "1",
        }
        if self.users:
            admin, password = self.super_user, self.users[self.super_user]
            listener = "listener.name.client.scram-sha-256.sasl.jaas.config"
            properties.update(
                {
                    "sasl.enabled.mechanisms": "SCRAM-SHA-256",
                    "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-256",
                    listener: "org.apache.kafka.common.security.scram.ScramLoginModule "
                    f'required username="{admin}" password="{password}";',
                    "authorizer.class.name": (
                        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
                    ),
                    "allow.everyone.if.no.acl.found": "false",
                    # The controller listener is plaintext, its peers ANONYMOUS.
                    "super.users": f"User:{admin};User:ANONYMOUS",
                }
            )
        if self.tls:
            keystore = node.folder / "keystore.pem"
            keystore.write_text(_pkcs8(self.tls.key) + self.tls.cert.read_text())
            properties.update(
                {
                    "ssl.keystore.type": "PEM",
                    "ssl.keystore.location": str(keystore),
                    "ssl.truststore.type": "PEM",
                    "ssl.truststore.location": str(self.tls.ca),
                }
            )
        properties.update(self._broker_config)
        return properties

    def _format(self) -> None:
        cluster_id = _kraft_id()
        scram: list[str] = []
        for name, password in self.users.items():
            scram += ["--add-scram", f"SCRAM-SHA-256=[name={name},password={password}]"]
        formats = []
        for node in self._nodes.values():
            config = node.folder / "server.properties"
            config.write_text(
                "".join(f"{key}={value}\n" for key, value in self._properties(node).items())
            )
            formats.append(
                subprocess.Popen(
                    [
                        self._java(),
                        "-Xmx256m",
                        *self._log_options(),
                        "-cp",
                        self._classpath(),
                        "kafka.tools.StorageTool",
                        "format",
                        "-t",
                        cluster_id,
                        "-c",
                        str(config),
                        *scram,
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            )
        for process in formats:
            output, _ = process.communicate(timeout=120)
            if process.returncode != 0:
                raise BrokerStartError(
                    f"formatting Kafka's storage failed:\n{output.decode(errors='replace')[-3000:]}"
                )

    def _launch(self, node_id: int) -> None:
        node = self._nodes[node_id]
        node.starts_logged = read_log(node.log_path).count(_READY_MARK)
        with open(node.log_path, "ab") as log_file:
            node.process = subprocess.Popen(
                [
                    self._java(),
                    f"-Xmx{self._heap}",
                    "-Xms128m",
                    "-XX:+UseG1GC",
                    "-XX:MaxGCPauseMillis=20",
                    "-Djava.awt.headless=true",
                    *self._log_options(),
                    "-cp",
                    self._classpath(),
                    "kafka.Kafka",
                    str(node.folder / "server.properties"),
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own session: a Ctrl-C or a kernel interrupt must not kill the brokers
                # under their clients; stop() ends them, and so does interpreter exit, and
                # the node's reaper when this process dies without either.
                start_new_session=True,
            )
        node.reaper = start_reaper(node.process)

    def _wait_ready(self, node_ids: Sequence[int]) -> None:
        def ready() -> bool:
            for node_id in node_ids:
                node = self._nodes[node_id]
                if node.process is None or node.process.poll() is not None:
                    raise BrokerStartError(
                        f"Apache Kafka node {node_id} exited while starting:\n"
                        f"{read_log(node.log_path)[-4000:]}"
                    )
            return all(
                read_log(self._nodes[n].log_path).count(_READY_MARK) > self._nodes[n].starts_logged
                and accepts_connections(self.host, self._nodes[n].port)
                for n in node_ids
            )

        if not wait_until(ready, self.startup_timeout, interval=0.1):
            logs = "".join(
                f"--- node {n} ---\n{read_log(self._nodes[n].log_path)[-2000:]}" for n in node_ids
            )
            raise BrokerStartError(
                f"Apache Kafka did not start within {self.startup_timeout}s:\n{logs}"
            )

    def __enter__(self) -> ApacheKafka:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ApacheKafka {self.version} {len(self._nodes)} node(s) {state}>"


def _pkcs8(key: Path) -> str:
    """The PEM text of ``key`` as PKCS#8 (``BEGIN PRIVATE KEY``), the only form Kafka's PEM
    keystore reads: a traditional key (``BEGIN EC PRIVATE KEY``, ``BEGIN RSA PRIVATE KEY``)
    is converted with ``openssl pkey``, since Kafka would otherwise refuse to start with a
    bare "algid parse error". An encrypted key is refused (TlsFiles holds unencrypted keys)."""
    text = key.read_text()
    if "-----BEGIN PRIVATE KEY-----" in text:
        return text
    if "ENCRYPTED" in text:
        raise BrokerStartError(f"{key} is encrypted; TlsFiles needs an unencrypted key")
    openssl = shutil.which("openssl")
    if openssl is None:
        raise BrokerStartError(
            f"{key} is not PKCS#8 (BEGIN PRIVATE KEY), which Kafka's PEM keystore needs; "
            "convert it with `openssl pkey -in KEY -out KEY8` (openssl is not on the PATH)"
        )
    result = subprocess.run(
        [openssl, "pkey", "-in", str(key)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or "-----BEGIN PRIVATE KEY-----" not in result.stdout:
        raise BrokerStartError(f"could not convert {key} to PKCS#8:\n{result.stderr[-2000:]}")
    return result.stdout


def _kraft_id() -> str:
    """A KRaft cluster id: 16 random bytes, base64url without padding (as StorageTool's).

    Never one that starts with "-" (one in 64 would): StorageTool's parser takes it for an
    option ("argument --cluster-id/-t: expected one argument"); Kafka's own
    ``Uuid.randomUuid()`` draws again in that case too.
    """
    import base64

    while True:
        made = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not made.startswith("-"):
            return made


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m a2a_kafka_sync.testing install [VERSION]``: fetch the jars, print
    where they are."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "install":
        print("usage: python -m a2a_kafka_sync.testing install [VERSION]", file=sys.stderr)
        return 2
    try:
        print(install_kafka(args[1] if len(args) > 1 else None))
    except BrokerStartError as exc:
        print(f"install-kafka: {exc}", file=sys.stderr)
        return 1
    return 0
