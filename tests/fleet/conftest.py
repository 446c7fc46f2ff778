"""Session-scoped real servers for the fleet tests (see fakes/servers.py)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.servers import PostgresServer, RedisServer
from fleet.worker import close_zygote


@pytest.fixture(scope="session", autouse=True)
def _zygote_ends_with_the_session() -> Iterator[None]:
    yield
    close_zygote()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer.find().start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer.find()
    try:
        yield server.init()
    finally:
        server.remove()


_DATABASES = itertools.count()


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """A new, empty database on the session's server: the URL a fleet would be given."""
    import psycopg

    name = f"t{os.getpid()}_{next(_DATABASES)}"
    with psycopg.connect(postgres_server.url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return postgres_server.url_for(name)


@pytest.fixture(autouse=True)
def _ledger_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PostgreSQL ledgers spool into the test's directory (worker processes inherit it)."""
    spool = tmp_path / "ledger-spool"
    monkeypatch.setenv("PROMPTCTL_LEDGER_SPOOL", str(spool))
    return spool
