"""Throw-away Redis/PostgreSQL servers for the fleet benchmarks (the tests' own helpers).

`PROMPTCTL_BENCH_PG` / `PROMPTCTL_BENCH_REDIS` name an existing server instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


@contextlib.contextmanager
def postgres_url() -> Iterator[str | None]:
    if url := os.environ.get("PROMPTCTL_BENCH_PG"):
        yield url
        return
    from fakes.servers import PostgresServer, postgres_bin

    if postgres_bin() is None:
        yield None
        return
    server = PostgresServer.find()
    try:
        yield server.init().url
    finally:
        server.remove()


@contextlib.contextmanager
def redis_url() -> Iterator[str | None]:
    if url := os.environ.get("PROMPTCTL_BENCH_REDIS"):
        yield url
        return
    import shutil

    from fakes.servers import RedisServer

    if shutil.which("redis-server") is None:
        yield None
        return
    server = RedisServer(shutil.which("redis-server") or "", 0)
    from fakes.servers import free_port

    server.port = free_port()
    try:
        yield server.start().url
    finally:
        server.kill()
