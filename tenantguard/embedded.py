"""Throwaway local servers (PostgreSQL, Redis) for the demo and the test suite.

They run from the machine's own binaries in a short temporary directory, on a free loopback
port, and are removed on `stop()`. As root, PostgreSQL's tools refuse to run: they are started
as the `postgres` system user through `runuser`, and the directory is handed to that user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["EmbeddedError", "ThrowawayPostgres", "ThrowawayRedis", "find_postgres_bin", "free_port"]


class EmbeddedError(RuntimeError):
    """A local server could not be started; the message says what is missing."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_postgres_bin() -> Path | None:
    """The directory holding initdb and pg_ctl: PG_BIN, then PATH, then Debian's layout."""
    candidates = [os.environ.get("PG_BIN", "")]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=False
            )
            candidates.append(out.stdout.strip())
        except OSError:
            pass
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate) / "initdb").exists()
            and (Path(candidate) / "pg_ctl").exists()
        ):
            return Path(candidate)
    return None


def _as_postgres_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        raise EmbeddedError(
            "running as root needs `runuser` to start PostgreSQL as the postgres user"
        )
    return [runuser, "-u", "postgres", "--", *command]


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary directory; `dsn` connects as superuser `postgres`."""

    port: int = 0
    directory: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="tg-", dir="/tmp"))
    )
    settings: dict[str, str] = field(default_factory=dict)
    started: bool = False

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> ThrowawayPostgres:
        bindir = find_postgres_bin()
        if bindir is None:
            raise EmbeddedError(
                "PostgreSQL server binaries (initdb, pg_ctl) were not found: install PostgreSQL "
                "(Debian: apt-get install postgresql) or set PG_BIN to their directory"
            )
        data = self.directory / "data"
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self.directory.chmod(0o755)
        self._run(
            _as_postgres_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            )
        )
        options = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}
        options.update(self.settings)
        for attempt in range(5):
            self.port = self.port or free_port()
            opts = " ".join(f"-c {k}={v}" for k, v in options.items())
            command = [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-t",
                "30",
                "-l",
                str(self.directory / "server.log"),
                "-o",
                f"-h 127.0.0.1 -p {self.port} -k {self.directory} {opts}",
                "start",
            ]
            try:
                self._run(_as_postgres_user(command))
                self.started = True
                return self
            except EmbeddedError:
                if attempt == 4:
                    raise
                self.port = 0  # the port was taken between bind and start: try another
        return self

    def log(self) -> str:
        try:
            return (self.directory / "server.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        bindir = find_postgres_bin()
        if self.started and bindir is not None:
            subprocess.run(
                _as_postgres_user(
                    [
                        str(bindir / "pg_ctl"),
                        "-D",
                        str(self.directory / "data"),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ]
                ),
                capture_output=True,
                check=False,
            )
        self.started = False
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def _run(command: list[str]) -> None:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise EmbeddedError(
                f"{Path(command[-1]).name if command else ''} failed: "
                f"{(result.stderr or result.stdout).strip()[-800:]}"
            )


@dataclass
class ThrowawayRedis:
    """A redis-server on a free loopback port, without persistence."""

    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise EmbeddedError("redis-server was not found: apt-get install redis-server")
        for _ in range(5):
            self.port = self.port or free_port()
            self.process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--protected-mode",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        return self
                except OSError:
                    time.sleep(0.02)
            self.stop()
            self.port = 0
        raise EmbeddedError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    def __enter__(self) -> ThrowawayRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
