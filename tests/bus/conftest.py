"""Gateways sharing one PostgreSQL schema and one Redis key prefix, as a deployment would.

Redis is the machine's (``POSRISK_TEST_REDIS``, default 127.0.0.1:6379) or, for the tests
that stop and restart it, a private ``redis-server`` on a free port. Without Redis these
tests skip saying what to start; in CI they fail.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from posrisk.app import PosriskServer

from ..gateway.conftest import make_server
from ..service.conftest import Keys, keys
from ..store.conftest import POSTGRES_DSN, postgres_schema

__all__ = ["Cluster", "PrivateRedis", "keys", "needs", "until"]

REDIS_URL = os.environ.get("POSRISK_TEST_REDIS", "redis://127.0.0.1:6379/0")


def needs(what: str, why: str) -> None:
    """Skip (fail in CI) because ``what`` is missing."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs {what}: {why}")
    pytest.skip(why)


async def redis_reachable(url: str) -> None:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as e:
        needs(
            "Redis",
            f"Redis is not reachable at {url} ({e}); start it, e.g. 'redis-server --daemonize "
            'yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no\'',
        )
    finally:
        await client.aclose()


async def until(condition: Callable[[], Any], seconds: float = 10.0) -> None:
    """Wait for ``condition()`` (bounded: a broken promise fails, never hangs)."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


class Cluster:
    """Gateways on one database and one Redis prefix; the first loads the scenario."""

    def __init__(self, tmp_path: Path, keys: Keys, dsn: str, redis: str, prefix: str) -> None:
        self.tmp_path, self.keys = tmp_path, keys
        self.dsn, self.redis, self.prefix = dsn, redis, prefix
        self.gateways: list[PosriskServer] = []

    async def gateway(self, **overrides: Any) -> PosriskServer:
        settings: dict[str, Any] = {
            "db": self.dsn,
            "redis": self.redis,
            "redis_prefix": self.prefix,
            "admin_token": "cluster-test-token",
            "resync_s": 0.2,
        }
        if self.gateways:
            settings["scenario"] = None
        settings.update(overrides)
        server = await make_server(self.tmp_path, self.keys, **settings)
        self.gateways.append(server)
        return server

    async def stop(self) -> None:
        for server in self.gateways:
            await server.stop()
        self.gateways = []


@pytest_asyncio.fixture
async def cluster_factory(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[[str], Awaitable[Cluster]]]:
    """Make clusters on a fresh PostgreSQL schema, with the Redis at a given URL."""
    monkeypatch.setenv("POSRISK_MASTER_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    admin, schema = await postgres_schema()
    made: list[Cluster] = []

    async def make(redis: str) -> Cluster:
        await redis_reachable(redis)
        prefix = f"posrisk-test-{uuid.uuid4().hex[:10]}:"
        cluster = Cluster(tmp_path, keys, f"{POSTGRES_DSN}?search_path={schema}", redis, prefix)
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            await cluster.stop()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


@pytest_asyncio.fixture
async def cluster(cluster_factory: Callable[[str], Awaitable[Cluster]]) -> Cluster:
    """A cluster on the machine's Redis."""
    return await cluster_factory(REDIS_URL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own, which it may stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            needs("redis-server", "redis-server is not installed (Debian: apt install redis)")
        assert binary is not None
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
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(500):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            import time

            time.sleep(0.01)
        raise RuntimeError("redis-server did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()
