"""Crash safety: ``kill -9`` at any moment loses no acknowledged write and leaves nothing
half-applied; a full disk or a read-only database refuses the write whole, says so, and
changes neither the ledger nor the state being served."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
import websockets

from posrisk.app import PosriskServer
from posrisk.engine import EngineError, Fill, Market, SetLeverage, Side, WalletTransfer
from posrisk.service.admin import AdminService
from posrisk.service.clock import ManualClock
from posrisk.service.registry import Registry
from posrisk.store import AppendEvent, Change, NewAccount, SetMarks, SQLiteStore, StoreError

from ..gateway.conftest import make_server
from ..gateway.test_server import ask, signed
from ..service.conftest import Keys, keys, restarted
from .crash_harness import (
    ACKED,
    AUTH,
    FAILED,
    REFUSED,
    SCENARIO,
    TOKEN,
    UNKNOWN,
    Outcome,
    Write,
    admin_get,
    check_ledger_against_writes,
    describe_all,
    integrity,
    load,
    send_until_dead,
    serve,
    streams_for,
)

__all__ = ["keys"]  # the fixture make_server's scenario needs

D = Decimal
LOOPS = int(os.environ.get("POSRISK_CRASH_LOOPS", "5"))
SEED = int(os.environ.get("POSRISK_CRASH_SEED", "20240613"))
LOOPS_PER_DATABASE = 10
NO_LIMIT = 1073741823  # SQLite's default max_page_count


async def on_connection(store: SQLiteStore, sql: str) -> list[Any]:
    """Run ``sql`` on the store's own connection, on its thread (PRAGMAs are per connection)."""

    def run() -> list[Any]:
        return store._conn().execute(sql).fetchall()

    return cast(list[Any], await store._run(run))


async def fill_the_disk(store: SQLiteStore) -> None:
    """Cap the file at its current size: a write that needs a new page fails, SQLITE_FULL."""
    [(pages,)] = await on_connection(store, "PRAGMA page_count")
    await on_connection(store, f"PRAGMA max_page_count={pages}")


async def free_the_disk(store: SQLiteStore) -> None:
    await on_connection(store, f"PRAGMA max_page_count={NO_LIMIT}")


def full_message(path: Path | str) -> str:
    return f"{path}: the disk is full (write refused, nothing changed)"


def read_only_message(path: Path | str) -> str:
    return (
        f"{path}: the database is read-only (write refused, nothing changed); check that the "
        "file and its directory are writable"
    )


# -- kill -9 -------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.timeout(max(300, 5 * LOOPS))  # 1.5-3 s a loop
async def test_kill_9_during_admin_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """Concurrent admin writes, SIGKILL at a random moment, restart: every acknowledged
    write is there, each write whole or not at all, per writer a prefix of what it sent,
    the restarted server serves exactly the fold of the ledger, and SQLite's checks pass.
    POSRISK_CRASH_LOOPS sets how many times (5), POSRISK_CRASH_SEED the kill moments."""
    rng = random.Random(SEED)
    market = Market.default()
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO))
    outcomes: list[Outcome] = []
    timeout = aiohttp.ClientTimeout(total=30)
    for loop in range(LOOPS):
        kill_after = rng.uniform(0.003, 0.3)
        note = f"seed {SEED}, loop {loop}, SIGKILL after {kill_after * 1000:.1f} ms"
        if loop % LOOPS_PER_DATABASE == 0:
            # The scenario, then a clean stop: the ledger the next loops build on. (A new
            # database now and then keeps a loop's cost flat when POSRISK_CRASH_LOOPS is high.)
            db = tmp_path / f"posrisk-{loop // LOOPS_PER_DATABASE}.db"
            serve(db, tmp_path / f"serve-{loop}-scenario.log", "--scenario", str(scenario)).stop()
            before = await load(db)
        try:
            served = serve(db, tmp_path / f"serve-{loop}.log")
            sent: list[Write] = []
            try:
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    writers = [
                        asyncio.create_task(
                            send_until_dead(session, served.admin_url, make(), sent)
                        )
                        for make in streams_for(loop).values()
                    ]
                    await asyncio.sleep(kill_after)
                    served.kill()
                    await asyncio.wait_for(asyncio.gather(*writers), 60)
            finally:
                if served.process.poll() is None:
                    served.kill()
            assert not [w for w in sent if w.outcome == FAILED], "the server answered 5xx"
            # (c) the file as the crash left it, before anything recovers it ...
            integrity(db)

            restarted_server = serve(db, tmp_path / f"serve-{loop}-restarted.log")
            try:
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    listed = await admin_get(session, restarted_server, "/accounts")
                    shown = {
                        a["name"]: await admin_get(
                            session, restarted_server, f"/accounts/{a['name']}"
                        )
                        for a in listed
                    }
                    marks = await admin_get(session, restarted_server, "/marks")
            finally:
                restarted_server.stop()
            # ... and after a restart and a clean stop.
            integrity(db)
            after = await load(db)

            # (a) and (b): acknowledged writes kept, each whole or not at all, in order.
            folded, kept = check_ledger_against_writes(before, after, sent, market)
            # The restarted server serves the fold of its ledger ...
            assert shown == describe_all(Registry.from_snapshot(after, market))
            # ... which is the fold of the writes kept, built from what the test sent.
            assert shown == describe_all(folded)
            assert marks == {symbol: format(p, "f") for symbol, p in after.marks.items()}
        except AssertionError as e:
            e.add_note(note)
            raise
        outcomes.append(
            Outcome(
                loop,
                kill_after * 1000,
                len(sent),
                sum(w.outcome == ACKED for w in sent),
                sum(w.outcome == REFUSED for w in sent),
                sum(w.outcome == UNKNOWN for w in sent),
                kept,
                len(after.ledger),
            )
        )
        before = after
    print(f"\nkill -9 loops (seed {SEED}):", *outcomes, sep="\n  ")
    assert len(outcomes) == LOOPS
    # The loops did write something: the kill moments are not all before the first answer.
    assert sum(o.acked for o in outcomes) > 0


# -- a full disk and a read-only database, in the store ----------------------------------


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_full_disk_refuses_the_whole_commit_and_the_store_recovers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "posrisk.db"
    store = SQLiteStore(path)
    await store.open()
    try:
        await store.commit(
            [NewAccount("alice", 1), AppendEvent("alice", WalletTransfer("USDT", D(1000), 1), 1)]
        )
        before = await store.load()
        await fill_the_disk(store)
        # A new account and its 500 deposits: the disk fills in the middle of the batch.
        batch: list[Change] = [
            NewAccount("bob", 2),
            *(AppendEvent("bob", WalletTransfer("USDT", D(i + 1), 2), 2) for i in range(500)),
            SetMarks({"BTCUSDT": D("61000.1")}, 2),
        ]
        with pytest.raises(StoreError) as refused:
            await store.commit(batch)
        assert str(refused.value) == full_message(path)
        assert await store.load() == before  # nothing of the batch, not even the account
        integrity(path)

        await free_the_disk(store)  # room again: the same store takes the same batch
        await store.commit(batch)
        after = await store.load()
    finally:
        await store.close()
    integrity(path)
    assert await load(path) == after
    assert [a.name for a in after.accounts] == ["alice", "bob"]
    assert after.ledger[:1] == before.ledger and len(after.ledger) == 501
    assert after.marks == {"BTCUSDT": D("61000.1")}


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_read_only_database_refuses_writes_and_takes_them_again_later(
    tmp_path: Path,
) -> None:
    path = tmp_path / "posrisk.db"
    store = SQLiteStore(path)
    await store.open()
    try:
        await store.commit([NewAccount("alice", 1)])
        before = await store.load()
        await on_connection(store, "PRAGMA query_only=ON")  # as a read-only file would
        deposit = [AppendEvent("alice", WalletTransfer("USDT", D(5), 2), 2)]
        for batch in (deposit, [NewAccount("bob", 2)], [SetMarks({"BTCUSDT": D(1)}, 2)]):
            with pytest.raises(StoreError) as refused:
                await store.commit(batch)
            assert str(refused.value) == read_only_message(path)
        with pytest.raises(StoreError, match="read-only"):
            await store.reset()
        assert await store.load() == before
        await on_connection(store, "PRAGMA query_only=OFF")
        await store.commit(deposit)
        after = await store.load()
    finally:
        await store.close()
    integrity(path)
    assert await load(path) == after
    assert [r.event for r in after.ledger] == [WalletTransfer("USDT", D(5), 2)]


_TRY_TO_WRITE = textwrap.dedent(
    """
    import asyncio, sys
    from decimal import Decimal
    from posrisk.engine import WalletTransfer
    from posrisk.store import AppendEvent, SQLiteStore, StoreError

    async def main(path):
        store = SQLiteStore(path)
        try:
            await store.open()
        except StoreError as e:
            print("open:", e)
            return
        try:
            await store.commit([AppendEvent("alice", WalletTransfer("USDT", Decimal(1), 2), 2)])
            print("commit: ok")
        except StoreError as e:
            print("commit:", e)
        print("ledger:", len((await store.load()).ledger))
        await store.close()

    asyncio.run(main(sys.argv[1]))
    """
)


# Root writes whatever the permissions say, unless it gives up the capabilities to.
AS_ROOT = os.geteuid() == 0
_NOT_ROOT = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


@pytest.mark.timeout(60)
@pytest.mark.skipif(
    AS_ROOT and shutil.which("setpriv") is None, reason="root needs setpriv to obey permissions"
)
def test_a_database_file_without_write_permission_is_named_read_only(tmp_path: Path) -> None:
    """Real permissions, not a simulation (root drops CAP_DAC_OVERRIDE to be refused)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "posrisk.db"

    async def seed() -> None:
        store = SQLiteStore(path)
        await store.open()
        await store.commit(
            [NewAccount("alice", 1), AppendEvent("alice", WalletTransfer("USDT", D(9), 1), 1)]
        )
        await store.close()

    asyncio.run(seed())
    assert not Path(f"{path}-wal").exists()  # a clean close leaves the one file

    def attempt(folder_mode: int) -> str:
        folder.chmod(folder_mode)
        path.chmod(0o444)
        try:
            result = subprocess.run(
                [*(_NOT_ROOT if AS_ROOT else []), sys.executable, "-c", _TRY_TO_WRITE, str(path)],
                capture_output=True,
                text=True,
                timeout=30,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
        finally:
            folder.chmod(0o755)
            path.chmod(0o644)
        assert result.returncode == 0, result.stderr
        return result.stdout

    # The folder is writable (SQLite can make its -wal and -shm files), the file is not.
    assert attempt(0o755) == f"commit: {read_only_message(path)}\nledger: 1\n"
    for made in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        made.unlink(missing_ok=True)
    # Neither is writable: the file cannot even be opened in WAL mode.
    assert attempt(0o555) == (
        f"open: cannot open {path}: the database is read-only (write refused, nothing changed); "
        "check that the file and its directory are writable\n"
    )
    integrity(path)
    assert len(asyncio.run(load(path)).ledger) == 1


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_failed_rollback_leaves_the_store_on_a_fresh_connection(tmp_path: Path) -> None:
    path = tmp_path / "posrisk.db"
    store = SQLiteStore(path)
    await store.open()

    class RollbackFails:
        """The store's connection, except that ROLLBACK fails (as after an I/O error)."""

        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        @property
        def in_transaction(self) -> bool:
            return self.db.in_transaction

        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql == "ROLLBACK":
                raise sqlite3.OperationalError("disk I/O error")
            return self.db.execute(sql, *args)

        def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
            return self.db.executemany(sql, *args)

        def close(self) -> None:
            self.db.close()

    try:
        await store.commit([NewAccount("alice", 1)])
        store._db = cast(Any, RollbackFails(store._conn()))
        # The batch fails half-way (no account 'nobody'); its rollback fails too.
        with pytest.raises(StoreError, match=r"^no account named 'nobody'$"):
            await store.commit(
                [NewAccount("bob", 2), AppendEvent("nobody", WalletTransfer("USDT", D(1), 2), 2)]
            )
        assert isinstance(store._db, sqlite3.Connection)  # a fresh one, not the broken one
        assert [a.name for a in (await store.load()).accounts] == ["alice"]
        await store.commit([NewAccount("carol", 3)])
    finally:
        await store.close()
    integrity(path)
    assert [a.name for a in (await load(path)).accounts] == ["alice", "carol"]


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_closed_store_refuses_writes_as_a_store_error(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "posrisk.db")
    await store.open()
    await store.close()
    with pytest.raises(StoreError, match=r"posrisk\.db is not open$"):
        await store.commit([NewAccount("alice", 1)])


# -- a failing commit changes nothing in memory ------------------------------------------


def served_state(registry: Registry) -> Any:
    """Everything the registry serves from, to compare before and after a failed write."""
    return (
        {n: (e.account, e.version, tuple(e.keys)) for n, e in registry.accounts.items()},
        {k: (e.account, e.revoked_at) for k, e in registry.keys.items()},
        dict(registry.marks),
        registry.marks_version,
    )


async def refused_by_the_store(
    registry: Registry, write: Callable[[int], Awaitable[object]], notified: list[Any]
) -> StoreError:
    """Run ``write(0)``, ``write(1)``... until the store refuses one; that one must have
    left the served state and the listeners untouched."""
    for attempt in range(5000):
        state, heard = served_state(registry), len(notified)
        try:
            await write(attempt)
        except StoreError as e:
            assert served_state(registry) == state
            assert len(notified) == heard
            return e
    raise AssertionError("the store never refused the write")


@pytest.mark.asyncio
@pytest.mark.timeout(60)
@pytest.mark.parametrize("failure", ["disk full", "read-only"])
async def test_a_failing_commit_leaves_the_served_state_unchanged(
    tmp_path: Path, failure: str
) -> None:
    path = tmp_path / "posrisk.db"
    store = SQLiteStore(path)
    await store.open()
    registry = Registry(Market.default())
    admin = AdminService(store, registry, ManualClock(1_700_000_000_000))
    notified: list[Any] = []
    registry.subscribe(lambda changed: notified.extend(changed.applied))
    try:
        await admin.create_account("alice")
        await admin.wallet("alice", "USDT", D(100000))
        await admin.create_key("alice", "hmac", api_key="kept")
        if failure == "disk full":
            await fill_the_disk(store)  # each kind of write below runs until it needs a page
            expected = full_message(path)
        else:
            await on_connection(store, "PRAGMA query_only=ON")
            expected = read_only_message(path)

        symbols = registry.market.names

        def fill(i: int) -> Awaitable[object]:
            side = Side.BUY if i % 2 == 0 else Side.SELL
            return admin.fill("alice", Fill("BTCUSDT", side, D("0.001"), D(20000 + i), time=i + 1))

        writes: list[Callable[[int], Awaitable[object]]] = [
            lambda i: admin.wallet("alice", "USDT", D(i + 1)),
            fill,
            lambda i: admin.create_account(f"acct{i}"),
            # A mark for one more symbol each time (a new one is a new row).
            lambda i: admin.set_marks({symbols[i % len(symbols)]: D(20000 + i)}),
            lambda i: admin.create_key("alice", "hmac", api_key=f"key{i}"),
            lambda i: admin.settings("alice", None, [SetLeverage("BTCUSDT", 2 + i % 2)]),
            lambda i: admin.load_scenario(
                {"accounts": [{"name": f"scn{i}", "deposits": {"USDT": "10"}}]}
            ),
        ]
        if failure == "read-only":  # an update in place needs no new page: a full disk takes it
            writes.append(lambda i: admin.revoke_key("alice", "kept"))
        for write in writes:
            refused = await refused_by_the_store(registry, write, notified)
            assert str(refused) == expected

        if failure == "disk full":
            await free_the_disk(store)
        else:
            await on_connection(store, "PRAGMA query_only=OFF")
        # The store takes writes again; what is served is what a restart loads.
        await admin.wallet("alice", "USDT", D("0.5"))
        await admin.create_account("late")
        await admin.set_marks({"ETHUSDT": D(1000)})
    finally:
        await store.close()
    integrity(path)
    snapshot, replayed = await restarted(path)
    assert describe_all(replayed) == describe_all(registry)
    assert replayed.marks == registry.marks
    assert {k.api_key for k in snapshot.keys} == set(registry.keys)


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_a_write_cancelled_while_committing_still_updates_the_served_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "posrisk.db"
    store = SQLiteStore(path)
    await store.open()
    registry = Registry(Market.default())
    admin = AdminService(store, registry, ManualClock(1_700_000_000_000))
    committing = threading.Event()
    commit = store._commit

    def noted_commit(changes: Any, expect: int | None) -> int | None:
        committing.set()
        return commit(changes, expect)

    try:
        await admin.create_account("alice")
        await admin.wallet("alice", "USDT", D(100))
        monkeypatch.setattr(store, "_commit", noted_commit)
        withdrawal = asyncio.create_task(admin.wallet("alice", "USDT", D(-100)))
        while not committing.is_set():
            await asyncio.sleep(0)  # until the commit runs on the store's thread
        withdrawal.cancel()  # as a shutdown or a timeout would
        with pytest.raises(asyncio.CancelledError):
            await withdrawal
        await store.load()  # the store's thread has finished the commit
        # The second withdrawal must be refused: the wallet is empty on disk.
        with pytest.raises(EngineError, match="Cross balance insufficient"):
            await admin.wallet("alice", "USDT", D(-100))
    finally:
        await store.close()
    _, replayed = await restarted(path)  # the ledger still replays
    assert describe_all(replayed) == describe_all(registry)


# -- the admin API on a full disk ---------------------------------------------------------


async def admin_call(
    session: aiohttp.ClientSession, server: PosriskServer, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    async with session.request(
        method, f"{server.admin_url}{path}", json=body, headers=AUTH
    ) as response:
        return response.status, await response.json()


async def deposit_until_refused(
    session: aiohttp.ClientSession, server: PosriskServer
) -> tuple[list[Any], int, Any]:
    """Deposits to alice until one is not answered 200: (answers, its status, its body)."""
    answers: list[Any] = []
    for i in range(5000):
        body = {"asset": "USDT", "amount": f"1.{i:06d}"}
        status, answer = await admin_call(session, server, "POST", "/accounts/alice/wallet", body)
        if status != 200:
            return answers, status, answer
        answers.append(answer)
    raise AssertionError("the disk never filled")


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_the_admin_api_answers_a_full_disk_with_an_error_and_keeps_serving(
    tmp_path: Path, keys: Keys
) -> None:
    server = await make_server(tmp_path, keys, admin_token=TOKEN)
    store = cast(SQLiteStore, server.store)
    try:
        async with aiohttp.ClientSession() as session:
            await fill_the_disk(store)
            answers, status, refused = await deposit_until_refused(session, server)
            assert answers, "the first deposits fit in the pages already there"
            assert 500 <= status < 600 and set(refused) == {"code", "msg"}
            # Nothing changed: alice is as the last acknowledged deposit left her.
            assert await admin_call(session, server, "GET", "/accounts/alice") == (200, answers[-1])
            # Reads are served as before: the admin API, and the WS API from the same state.
            status, listed = await admin_call(session, server, "GET", "/accounts")
            assert status == 200 and [a["name"] for a in listed] == ["alice", "bob"]
            assert (await admin_call(session, server, "GET", "/marks"))[0] == 200
            async with websockets.connect(server.ws_url) as ws:
                reply = await ask(ws, "v2/account.position", signed())
            assert reply["status"] == 200 and reply["result"]
            # With room again, the refused deposit goes through.
            await free_the_disk(store)
            body = {"asset": "USDT", "amount": f"1.{len(answers):06d}"}
            wallet = "/accounts/alice/wallet"
            status, after = await admin_call(session, server, "POST", wallet, body)
            assert status == 200
    finally:
        await server.stop()
    integrity(tmp_path / "posrisk.db")
    snapshot = await load(tmp_path / "posrisk.db")
    deposits = [
        r.event.amount
        for r in snapshot.ledger
        if r.account == "alice" and isinstance(r.event, WalletTransfer) and r.event.amount < 1000
    ]
    assert deposits == [D(f"1.{i:06d}") for i in range(len(answers) + 1)]
    _, replayed = await restarted(tmp_path / "posrisk.db")
    assert describe_all(replayed)["alice"] == after


@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_the_admin_api_says_the_disk_is_full(tmp_path: Path, keys: Keys) -> None:
    server = await make_server(tmp_path, keys, admin_token=TOKEN)
    try:
        await fill_the_disk(cast(SQLiteStore, server.store))
        async with aiohttp.ClientSession() as session:
            _, status, refused = await deposit_until_refused(session, server)
    finally:
        await server.stop()
    assert 500 <= status < 600
    assert "the disk is full (write refused, nothing changed)" in refused["msg"]
