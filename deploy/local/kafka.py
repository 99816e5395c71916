"""A real single-node Apache Kafka broker (KRaft, combined broker + controller).

The broker jars are resolved from Maven Central with ``deploy/kafka/pom.xml`` into
``deploy/kafka/cache/libs`` (gitignored) the first time; afterwards they are
reused. Needs ``java`` (17+) and ``mvn`` on PATH (see ``deploy/bootstrap.sh``).

Usage::

    broker = KafkaBroker()
    broker.start()
    print(broker.bootstrap_servers)  # 127.0.0.1:<port>
    broker.stop(); broker.start()    # outage + recovery, same port and data
    broker.close()                   # stop and delete the temporary data folder
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from deploy.local import Watchdog, free_port, log_tail

__all__ = ["KAFKA_VERSION", "LIBS_DIR", "KafkaBroker", "ensure_jars"]

log = logging.getLogger(__name__)

#: Keep in sync with ``kafka.version`` in deploy/kafka/pom.xml.
KAFKA_VERSION = "3.9.2"
SCALA_BINARY_VERSION = "2.13"

KAFKA_DIR = Path(__file__).resolve().parent.parent / "kafka"
POM = KAFKA_DIR / "pom.xml"
CACHE_DIR = KAFKA_DIR / "cache"
LIBS_DIR = CACHE_DIR / "libs"
MARKER_NAME = ".tandem-kafka-version"

_MAIN_JAR = f"kafka_{SCALA_BINARY_VERSION}-{KAFKA_VERSION}.jar"


def _marker_text() -> str:
    pom_hash = hashlib.sha256(POM.read_bytes()).hexdigest()[:16]
    return f"kafka_{SCALA_BINARY_VERSION}-{KAFKA_VERSION} pom-sha256:{pom_hash}\n"


def _jars_ready(libs: Path) -> bool:
    marker = libs / MARKER_NAME
    try:
        return marker.read_text() == _marker_text() and (libs / _MAIN_JAR).is_file()
    except OSError:
        return False


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"`{name}` was not found on PATH; the local Kafka broker needs Java 17+ "
            "and Maven. Install them with deploy/bootstrap.sh (as root or via sudo)."
        )
    return path


def ensure_jars(libs: Path = LIBS_DIR) -> Path:
    """Resolve the Kafka broker classpath into ``libs`` (once) and return it.

    Skips Maven entirely when ``libs`` already holds the jars for the pinned
    version (marker file). Safe to call from concurrent processes (file lock).
    """
    if _jars_ready(libs):
        return libs
    mvn = _require_tool("mvn")
    _require_tool("java")
    libs.parent.mkdir(parents=True, exist_ok=True)
    with open(libs.parent / ".resolve.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _jars_ready(libs):
            return libs
        staging = Path(tempfile.mkdtemp(prefix=".libs-", dir=libs.parent))
        try:
            cmd = [
                mvn,
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
            ]
            log.info("resolving Kafka %s jars with Maven", KAFKA_VERSION)
            started = time.monotonic()
            proc = subprocess.run(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            if proc.returncode != 0 or not (staging / _MAIN_JAR).is_file():
                raise RuntimeError(
                    f"Maven could not resolve the Kafka {KAFKA_VERSION} broker jars "
                    f"(exit {proc.returncode}):\n{proc.stdout[-4000:]}"
                )
            (staging / MARKER_NAME).write_text(_marker_text())
            staging.chmod(0o755)  # mkdtemp made it private
            if libs.exists():
                shutil.rmtree(libs)
            staging.rename(libs)
            log.info("Kafka jars resolved in %.1fs", time.monotonic() - started)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return libs


def _new_cluster_id() -> str:
    # Same format as Kafka's Uuid.randomUuid().toString(): url-safe base64 of
    # 16 random bytes without padding, never starting with "-".
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _run_in_thread(coro_fn, *args):
    """Run an async function to completion on a fresh loop in a worker thread.

    Works whether or not the caller is already inside a running event loop.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro_fn(*args)).result()


async def _probe_metadata(bootstrap: str) -> bool:
    from aiokafka.client import AIOKafkaClient

    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await client.bootstrap()
        return bool(client.cluster.brokers())
    except Exception:
        return False
    finally:
        await client.close()


_LIVE: set[KafkaBroker] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_all_at_exit() -> None:
    with _LIVE_LOCK:
        brokers = list(_LIVE)
    for broker in brokers:
        with contextlib.suppress(Exception):
            broker.close(timeout=10)


class KafkaBroker:
    """A single-node KRaft Kafka broker running in a child JVM."""

    heap = "512m"
    initial_heap = "256m"

    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        self._owns_dir = data_dir is None
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="tandem-kafka-"))
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.controller_port = free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: Watchdog | None = None
        self._closed = False

    # -- paths ---------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        """Where the broker's own log4j output goes (server.log, stdout.log)."""
        return self.data_dir / "logs"

    @property
    def kraft_dir(self) -> Path:
        """Kafka's ``log.dirs`` (topic partitions and the metadata log)."""
        return self.data_dir / "kraft"

    @property
    def server_log(self) -> Path:
        return self.log_dir / "server.log"

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def ensure_jars(self) -> Path:
        return ensure_jars()

    # -- configuration -------------------------------------------------------

    def _cluster_id(self) -> str:
        path = self.data_dir / "cluster.id"
        if path.is_file():
            return path.read_text().strip()
        cid = _new_cluster_id()
        path.write_text(cid + "\n")
        return cid

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": (
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
            ),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.kraft_dir),
            "num.partitions": "3",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "10",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "1",
            "log.segment.bytes": str(64 * 1024 * 1024),
            "log.retention.hours": "24",
            "log.retention.check.interval.ms": "60000",
            "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
            "delete.topic.enable": "true",
        }
        server_props = self.data_dir / "server.properties"
        server_props.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        log4j = {
            "log4j.rootLogger": "WARN, file",
            "log4j.appender.file": "org.apache.log4j.FileAppender",
            "log4j.appender.file.File": str(self.server_log),
            "log4j.appender.file.Append": "true",
            "log4j.appender.file.layout": "org.apache.log4j.PatternLayout",
            "log4j.appender.file.layout.ConversionPattern": "[%d] %p %m (%c)%n",
            "log4j.logger.kafka.server.KafkaServer": "INFO",
            "log4j.logger.kafka.server.BrokerServer": "INFO",
            "log4j.logger.kafka.server.ControllerServer": "INFO",
            "log4j.logger.kafka.server.KafkaRaftServer": "INFO",
            "log4j.logger.kafka.Kafka$": "INFO",
        }
        (self.data_dir / "log4j.properties").write_text(
            "".join(f"{k}={v}\n" for k, v in log4j.items())
        )
        return server_props

    def _java_cmd(self, main: str, *args: str) -> list[str]:
        java = _require_tool("java")
        libs = ensure_jars()
        log4j_url = (self.data_dir / "log4j.properties").as_uri()
        return [
            java,
            f"-Xms{self.initial_heap}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration={log4j_url}",
            f"-Dkafka.logs.dir={self.log_dir}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def _format_storage(self, server_props: Path) -> None:
        if (self.kraft_dir / "meta.properties").is_file():
            return
        cmd = self._java_cmd(
            "kafka.tools.StorageTool",
            "format",
            "--ignore-formatted",
            "-t",
            self._cluster_id(),
            "-c",
            str(server_props),
        )
        proc = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"formatting Kafka storage in {self.kraft_dir} failed "
                f"(exit {proc.returncode}):\n{proc.stdout[-4000:]}"
            )

    # -- lifecycle -----------------------------------------------------------

    def start(self, timeout: float = 90) -> KafkaBroker:
        """Start the broker and block until it serves metadata to a real client."""
        if self._closed:
            raise RuntimeError("this KafkaBroker was closed; create a new one")
        if self.is_running:
            return self
        deadline = time.monotonic() + timeout
        ensure_jars()
        server_props = self._write_config()
        self._format_storage(server_props)
        stdout = open(self.log_dir / "stdout.log", "ab")
        try:
            self._proc = subprocess.Popen(
                self._java_cmd("kafka.Kafka", str(server_props)),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
        finally:
            stdout.close()
        self._watchdog = Watchdog(
            self._proc.pid,
            group=True,
            remove_dir=self.data_dir if self._owns_dir else None,
        )
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self._wait_ready(deadline)
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"Kafka broker exited with code {self._proc.returncode} during "
                    f"startup.\n{self._log_excerpt()}"
                )
            if self._port_open() and _run_in_thread(
                _probe_metadata, self.bootstrap_servers
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Kafka broker on {self.bootstrap_servers} was not ready in time."
                    f"\n{self._log_excerpt()}"
                )
            time.sleep(0.2)

    def _port_open(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _log_excerpt(self) -> str:
        return (
            f"--- {self.server_log} (tail) ---\n{log_tail(self.server_log)}\n"
            f"--- {self.log_dir / 'stdout.log'} (tail) ---\n"
            f"{log_tail(self.log_dir / 'stdout.log', 30)}"
        )

    def _signal(self, sig: int) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)

    def _reap(self) -> None:
        if self._watchdog is not None:
            self._watchdog.disarm()
            self._watchdog = None
        self._proc = None
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def stop(self, timeout: float = 30) -> None:
        """Graceful shutdown (SIGTERM), SIGKILL if still alive after ``timeout``."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning("Kafka broker ignored SIGTERM for %ss; killing", timeout)
                self._signal(signal.SIGKILL)
                self._proc.wait()
        self._signal(signal.SIGKILL)  # stray children of the process group, if any
        self._reap()

    def kill(self) -> None:
        """Crash the broker (SIGKILL), as in a power loss of the machine."""
        if self._proc is None:
            return
        self._signal(signal.SIGKILL)
        self._proc.wait()
        self._reap()

    def restart(self, timeout: float = 90) -> KafkaBroker:
        """Stop (if running) and start again on the same port and data folder."""
        self.stop()
        return self.start(timeout=timeout)

    def close(self, timeout: float = 30) -> None:
        """Stop the broker and delete its data folder if it is a temporary one."""
        self.stop(timeout=timeout)
        self._closed = True
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<KafkaBroker {self.bootstrap_servers} {state} data={self.data_dir}>"
