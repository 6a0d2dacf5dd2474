"""TLS for the tests: a throw-away PKI made with openssl, and stunnel in front of the broker.

Tansu (the embedded broker) does not serve TLS (see docs/security.md), so a TLS listener is
stunnel: the broker listens on an inner port and advertises the outer one, where stunnel
terminates TLS. ``TlsBroker`` starts both; its ``settings()`` point a client or server at
the TLS port.

Both tools are Debian packages (``.ci/install-system-deps``). Without them the TLS tests
skip, except under CI (``CI=true``), where a missing tool fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from a2a_kafka_sync.testing import EmbeddedBroker

KEY_PASSWORD = "client-key-pass-5f3a"  # a throw-away key's password


def stunnel_binary() -> str | None:
    """The stunnel executable on PATH (Debian names it stunnel4 too), or None."""
    return shutil.which("stunnel4") or shutil.which("stunnel")


def require_tls_tools(*, stunnel: bool = True) -> None:
    """Skip the calling test when stunnel (unless ``stunnel=False``: a broker that serves TLS
    itself) or openssl is missing; fail instead under CI=true."""
    tools = [("openssl", shutil.which("openssl"))]
    if stunnel:
        tools.insert(0, ("stunnel", stunnel_binary()))
    missing = [name for name, found in tools if not found]
    if not missing:
        return
    reason = (
        f"TLS tests need {' and '.join(missing)} on PATH "
        "(Debian: apt-get install stunnel4 openssl, or run .ci/install-system-deps)"
    )
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"{reason}; CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(reason)


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{done.stderr}")


_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")


@dataclass(frozen=True)
class Pki:
    """Files of a throw-away PKI: a CA, a server certificate for 127.0.0.1, a client
    certificate whose key is encrypted with ``KEY_PASSWORD``, and an unrelated CA."""

    ca: Path
    server_pem: Path  # certificate and key in one file, as stunnel wants them
    client_cert: Path
    client_key: Path
    other_ca: Path
    server_cert: Path  # the same certificate and (PKCS#8) key apart, as Kafka wants them
    server_key: Path


def _make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl(
        "req", "-x509", *_EC, "-nodes", "-keyout", key.name, "-out", cert.name, "-days", "2",
        "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    return cert, key


def _sign(directory: Path, name: str, ca: tuple[Path, Path], extensions: str) -> Path:
    (directory / f"{name}.ext").write_text(
        "basicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n" + extensions
    )
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", ca[0].name, "-CAkey", ca[1].name,
        "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext",
        cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.crt"


def make_pki(directory: Path) -> Pki:
    """Make a :class:`Pki` in ``directory`` with the openssl command line."""
    ca = _make_ca(directory, "test-ca")
    other_ca, _ = _make_ca(directory, "other-ca")
    _openssl(
        "req", "-new", *_EC, "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1", cwd=directory,
    )  # fmt: skip
    server_crt = _sign(
        directory,
        "server",
        ca,
        "subjectAltName=IP:127.0.0.1\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    server_pem = directory / "server.pem"
    server_pem.write_text(server_crt.read_text() + (directory / "server.key").read_text())
    server_pem.chmod(0o600)
    _openssl(
        "req", "-new", *_EC, "-passout", f"pass:{KEY_PASSWORD}", "-keyout", "client.key",
        "-out", "client.csr", "-subj", "/CN=a2a-test-client", cwd=directory,
    )  # fmt: skip
    client_crt = _sign(
        directory, "client", ca, "keyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n"
    )
    return Pki(
        ca[0],
        server_pem,
        client_crt,
        directory / "client.key",
        other_ca,
        server_crt,
        directory / "server.key",
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Stunnel:
    """stunnel in the foreground: TLS on ``accept_port``, plain TCP to ``connect_port``.

    With ``client_ca`` it requires a client certificate signed by that CA (``verify = 2``).
    """

    def __init__(
        self,
        directory: Path,
        accept_port: int,
        connect_port: int,
        server_pem: Path,
        client_ca: Path | None = None,
    ) -> None:
        self.port = accept_port
        self.log = directory / f"stunnel-{accept_port}.log"
        self._conf = directory / f"stunnel-{accept_port}.conf"
        lines = [
            "foreground = yes",
            "pid =",
            "debug = 5",
            "[kafka]",
            f"accept = 127.0.0.1:{accept_port}",
            f"connect = 127.0.0.1:{connect_port}",
            f"cert = {server_pem}",
        ]
        if client_ca is not None:
            lines += ["verify = 2", f"CAfile = {client_ca}"]
        self._conf.write_text("\n".join(lines) + "\n")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> Stunnel:
        """Start stunnel and wait until its port accepts connections."""
        binary = stunnel_binary()
        assert binary, "stunnel is not installed"
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [binary, str(self._conf)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"stunnel did not start:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        """Stop stunnel and reap it. Idempotent."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


class TlsBroker:
    """An embedded broker reachable only through TLS: Tansu on an inner port advertising
    the outer port, stunnel on the outer port (mutual TLS when ``mutual``)."""

    def __init__(self, directory: Path, pki: Pki, *, mutual: bool = False) -> None:
        self.pki = pki
        self.port = _free_port()
        self.broker = EmbeddedBroker(advertised_port=self.port)
        self._directory = directory
        self._mutual = mutual
        self.stunnel: Stunnel | None = None

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings of a client or server that trusts the test CA and checks the hostname."""
        return {
            "bootstrap_servers": f"127.0.0.1:{self.port}",
            "profile": self.broker.profile,
            "security_protocol": "SSL",
            "ssl_cafile": str(self.pki.ca),
            "ssl_check_hostname": True,
            "connect_timeout": 5.0,
            **overrides,
        }

    def client_cert(self) -> dict[str, Any]:
        """The settings that present the test client certificate (its key is encrypted)."""
        return {
            "ssl_certfile": str(self.pki.client_cert),
            "ssl_keyfile": str(self.pki.client_key),
            "ssl_password": KEY_PASSWORD,
        }

    def stunnel_log(self) -> str:
        """What stunnel logged so far (why it refused a connection)."""
        return self.stunnel.log.read_text(errors="replace") if self.stunnel else ""

    def __enter__(self) -> TlsBroker:
        self.broker.start()
        try:
            self.stunnel = Stunnel(
                self._directory,
                self.port,
                self.broker.port,
                self.pki.server_pem,
                client_ca=self.pki.ca if self._mutual else None,
            ).start()
        except BaseException:
            self.broker.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.stunnel is not None:
            self.stunnel.stop()
        self.broker.stop()
