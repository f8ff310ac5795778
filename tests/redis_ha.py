"""Redis as production runs it, for the tests: a primary, a replica and three sentinels; and
certificates for a server that speaks TLS."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis import Redis

from tests.servers import LOOPBACK, RedisServer, free_port, redis_binary
from tests.waiting import STARTUP_SECONDS, wait_until

MASTER = "mymaster"


def replica_online(primary: RedisServer) -> bool:
    """Whether the primary's first replica is connected and in sync."""
    with Redis(LOOPBACK, primary.port, decode_responses=True) as client:
        replica = client.info("replication").get("slave0")
        return isinstance(replica, dict) and replica.get("state") == "online"


def _listening(port: int) -> bool:
    socket.create_connection((LOOPBACK, port), 0.2).close()
    return True


class SentinelServer:
    """One sentinel watching ``MASTER``, with the config file it rewrites as it learns;
    ``options`` are more lines of that file (credentials, TLS)."""

    def __init__(
        self, workdir: Path, primary_port: int, *, quorum: int = 2, options: Sequence[str] = ()
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.primary_port = primary_port
        self.quorum = quorum
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "sentinel.conf"
        config.write_text(
            f"port {self.port}\nbind {LOOPBACK}\ndir {self.workdir}\n"
            f"logfile {self.workdir / 'sentinel.log'}\n"
            f"sentinel monitor {MASTER} {LOOPBACK} {self.primary_port} {self.quorum}\n"
            f"sentinel down-after-milliseconds {MASTER} 1000\n"
            f"sentinel failover-timeout {MASTER} 5000\n" + "".join(f"{o}\n" for o in self.options)
        )
        self.process = subprocess.Popen(
            [redis_binary(), str(config), "--sentinel"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        wait_until(lambda: _listening(self.port), STARTUP_SECONDS, "sentinel")

    def master(self) -> dict[str, object]:
        with Redis(LOOPBACK, self.port, decode_responses=True) as sentinel:
            state: dict[str, object] = sentinel.sentinel_master(MASTER)
            return state

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)


@dataclass
class SentinelGroup:
    """A primary, its replica and three sentinels, each on its own port under ``workdir``."""

    workdir: Path
    primary: RedisServer = field(init=False)
    replica: RedisServer = field(init=False)
    sentinels: list[SentinelServer] = field(init=False)

    def __post_init__(self) -> None:
        self.primary = RedisServer(self.workdir / "primary")
        self.replica = RedisServer(
            self.workdir / "replica", "--replicaof", LOOPBACK, str(self.primary.port)
        )
        self.sentinels = [
            SentinelServer(self.workdir / f"sentinel-{i}", self.primary.port) for i in range(3)
        ]

    @property
    def setting(self) -> str:
        """REDIS_SENTINELS for this group."""
        return ",".join(f"{LOOPBACK}:{s.port}" for s in self.sentinels)

    def start(self) -> None:
        self.primary.start()
        self.replica.start()
        for sentinel in self.sentinels:
            sentinel.start()
        wait_until(lambda: replica_online(self.primary), 20, "replica in sync")
        wait_until(self._sentinels_know_each_other, 30, "sentinels in touch")

    def _sentinels_know_each_other(self) -> bool:
        return all(
            int(str(state["num-other-sentinels"])) == 2 and int(str(state["num-slaves"])) == 1
            for state in (s.master() for s in self.sentinels)
        )

    def primary_port(self) -> int:
        return int(str(self.sentinels[0].master()["port"]))

    def kill_primary(self) -> None:
        self.primary.stop(signal.SIGKILL)

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        self.replica.stop()
        self.primary.stop()


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path


def certificates(directory: Path) -> Certificates:
    """A CA and a server certificate it signs, for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test redis ca")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    made = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    made.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    made.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    made.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return made


def tls_server(workdir: Path, certs: Certificates, *args: str) -> tuple[RedisServer, int]:
    """A Redis that also listens for TLS (on the port returned), where clients need no
    certificate; ``args`` are more options."""
    port = free_port()
    server = RedisServer(
        workdir, "--tls-port", str(port), "--tls-cert-file", str(certs.cert),
        "--tls-key-file", str(certs.key), "--tls-ca-cert-file", str(certs.ca),
        "--tls-auth-clients", "no", *args,
    )  # fmt: skip
    return server, port
