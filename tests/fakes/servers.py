"""Real Redis and PostgreSQL servers for the fleet tests, started on 127.0.0.1.

Nothing is faked: the Debian `redis-server` and `postgresql` binaries run in a temporary
directory on a free ephemeral port for the test session. When a binary is missing the
tests that need it are skipped with a loud reason, except under `CI=true`, where a
missing server fails the run (.ci/run installs both).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "RedisServer", "free_port", "missing"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def missing(what: str, install: str) -> None:
    """Skip loudly, or fail under CI=true: the CI must run every fleet test."""
    message = f"{what} is not installed: fleet tests NOT RUN (install: {install})"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " -- CI=true never skips these")
    pytest.skip("LOUD SKIP: " + message)


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within 20 s")


@dataclass
class RedisServer:
    """One `redis-server` without persistence; `kill()` and `start()` for outage tests."""

    binary: str
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def find(cls) -> RedisServer:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            missing("redis-server", "apt-get install -y redis-server")
        return cls(binary, free_port())

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--protected-mode", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, self.proc, "redis-server")
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin holding initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@dataclass
class PostgresServer:
    """One throw-away PostgreSQL cluster on 127.0.0.1 (trust auth, no fsync: a test server).

    As root, initdb refuses to run: the cluster then belongs to the `postgres` user the
    Debian package creates, and every server command runs as that user.
    """

    bin: Path
    root: Path
    port: int = 0

    @classmethod
    def find(cls) -> PostgresServer:
        """A server in a fresh directory directly under /tmp: pytest's tmp dirs are private
        to root, and as root the server runs as `postgres`."""
        found = postgres_bin()
        if found is None:
            missing("PostgreSQL", "apt-get install -y postgresql")
        assert found is not None
        return cls(found, Path(tempfile.mkdtemp(prefix="promptctl-pg-")), free_port())

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://promptctl@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def init(self) -> PostgresServer:
        """A fresh cluster: a copy of one pristine `initdb` output (made once per machine
        and PostgreSQL version, ~3 s; the copy takes ~0.2 s), then started."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        template = self._template()
        subprocess.run(["cp", "-a", str(template), str(self.root / "data")], check=True)
        return self.start()

    def _template(self) -> Path:
        """The never-started output of `initdb` (same user, auth and encoding as before),
        built under a lock by the first process that needs it and renamed into place
        whole, so a reader never sees a half-written one."""
        version = self.bin.parent.name
        base = Path(tempfile.gettempdir()) / f"promptctl-pg-template-{os.geteuid()}-{version}"
        data = base / "data"
        if data.is_dir():
            return data
        base.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(base, "postgres", "postgres")
        with open(base / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not data.is_dir():
                building = Path(tempfile.mkdtemp(prefix="building-", dir=base))
                if os.geteuid() == 0:
                    shutil.chown(building, "postgres", "postgres")
                args = ("-U", "promptctl", "--auth=trust", "--no-sync", "--no-instructions")
                self._run("initdb", "-D", str(building / "data"), *args)
                (building / "data").rename(data)
                building.rmdir()
        return data

    def start(self) -> PostgresServer:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"  # a crash (stop -m immediate) loses nothing
        )
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l", log, "-w", "start")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
