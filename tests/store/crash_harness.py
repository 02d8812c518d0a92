"""Helpers for the crash-safety tests: a real ``posrisk serve`` process, concurrent admin
writes recorded with what the server answered, and the checks on the ledger afterwards."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import aiohttp

from posrisk.engine import (
    Event,
    Fill,
    Market,
    PositionMode,
    PositionSide,
    SetPositionMode,
    Side,
    WalletTransfer,
)
from posrisk.service.admin import AdminService
from posrisk.service.clock import ManualClock
from posrisk.service.registry import Registry
from posrisk.store import (
    AppendEvent,
    KeyRecord,
    LedgerRecord,
    NewAccount,
    NewKey,
    SetMarks,
    Snapshot,
    SQLiteStore,
)

TOKEN = "crash-test-admin-token-not-a-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# Two accounts with USDT to trade on: alice one-way, bob hedge.
SCENARIO: dict[str, Any] = {
    "accounts": [
        {
            "name": "alice",
            "deposits": {"USDT": "100000"},
            "fills": [
                {"symbol": "BTCUSDT", "side": "BUY", "qty": "0.010", "price": "20000", "time": 1}
            ],
        },
        {
            "name": "bob",
            "positionMode": "hedge",
            "deposits": {"USDT": "100000"},
            "fills": [
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "positionSide": "LONG",
                    "qty": "0.001",
                    "price": "22185.2",
                    "time": 2,
                }
            ],
        },
    ],
    "marks": {"BTCUSDT": "20000", "ETHUSDT": "1000"},
}


# -- the server process ------------------------------------------------------------------


@dataclass
class Served:
    """A running ``posrisk serve``: its process and its admin API's URL."""

    process: subprocess.Popen[str]
    admin_url: str
    stderr: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, whatever the server was doing."""
        self.process.kill()
        self.process.wait(timeout=20)
        self._close_pipes()

    def stop(self) -> str:
        """Ctrl-C; the server must stop cleanly. Returns what it wrote on stdout."""
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, self.stderr.read_text()
        return out

    def _close_pipes(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()


def serve(db: Path, log: Path, *extra: str) -> Served:
    """Start ``posrisk serve`` on ``db`` (loopback, OS-chosen ports) and read its banner."""
    stderr = log.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "posrisk.cli",
            "serve",
            "--db",
            str(db),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--admin-host",
            "127.0.0.1",
            "--admin-port",
            "0",
            "--admin-token",
            TOKEN,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    stderr.close()
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Press Ctrl-C" in line:
            found = re.search(r"admin API\s+(http://127\.0\.0\.1:\d+/admin/v1)", "".join(lines))
            assert found, "".join(lines)
            return Served(process, found[1], log)
    process.kill()
    process.wait()
    raise AssertionError("serve did not start:\n" + "".join(lines) + log.read_text())


async def admin_get(session: aiohttp.ClientSession, served: Served, path: str) -> Any:
    async with session.get(served.admin_url + path, headers=AUTH) as response:
        assert response.status == 200, await response.text()
        return await response.json()


# -- writes and what became of them ------------------------------------------------------

ACKED, REFUSED, UNKNOWN, FAILED = "acked", "refused", "unknown", "failed"


@dataclass
class Write:
    """One admin request and what the server answered (``outcome``)."""

    stream: str
    index: int
    method: str
    path: str
    body: dict[str, Any]
    # The ledger rows it makes, as ``signature`` gives them; a created account; marks set.
    rows: tuple[tuple[Any, ...], ...] = ()
    creates: str | None = None
    keys: tuple[str, ...] = ()
    marks: dict[str, Decimal] = field(default_factory=dict)
    outcome: str = "unsent"
    status: int | None = None
    answer: Any = None

    def __repr__(self) -> str:
        return f"<{self.stream}[{self.index}] {self.method} {self.path} {self.outcome}>"


def signature(record: LedgerRecord) -> tuple[Any, ...]:
    """What identifies a ledger row among the writes the test sends."""
    event = record.event
    if isinstance(event, Fill):
        return (
            "fill",
            record.account,
            event.symbol,
            Side(event.side),
            event.qty,
            event.price,
            PositionSide(event.position_side),
            event.fee,
            event.time,
        )
    if isinstance(event, WalletTransfer):
        return ("wallet", record.account, event.asset, event.amount)
    if isinstance(event, SetPositionMode):
        return ("mode", record.account, PositionMode(event.mode))
    return ("other", record.account, type(event).__name__, record.seq)


def fill_row(account: str, body: dict[str, Any]) -> tuple[Any, ...]:
    """The ledger row of a fill as the test sent it (``signature`` of what it should be)."""
    return (
        "fill",
        account,
        body["symbol"],
        Side(body["side"]),
        Decimal(body["qty"]),
        Decimal(body["price"]),
        PositionSide(body.get("positionSide", "BOTH")),
        Decimal(body["fee"]),
        body["time"],
    )


def fill_write(
    stream: str,
    index: int,
    account: str,
    side: str,
    qty: str,
    price: str,
    time_ms: int,
    **extra: str,
) -> Write:
    body: dict[str, Any] = {"symbol": "BTCUSDT", "side": side, "qty": qty, "price": price}
    body.update(extra, fee="0.01", time=time_ms)
    path = f"/accounts/{account}/fills"
    return Write(stream, index, "POST", path, body, rows=(fill_row(account, body),))


def wallet_write(stream: str, index: int, account: str, amount: str) -> Write:
    body = {"asset": "USDT", "amount": amount}
    row = ("wallet", account, "USDT", Decimal(amount))
    return Write(stream, index, "POST", f"/accounts/{account}/wallet", body, rows=(row,))


def streams_for(loop: int) -> dict[str, Callable[[], Iterator[Write]]]:
    """The concurrent writers of one kill loop; every row they make is unique."""
    t0 = 1_800_000_000_000 + loop * 1_000_000

    def fills(account: str, hedge: bool) -> Callable[[], Iterator[Write]]:
        def writes() -> Iterator[Write]:
            # Two buys then a sell of 0.001: always valid, the position grows slowly.
            for i in range(1_000_000):
                side = "SELL" if i % 3 == 2 else "BUY"
                price = f"{20000 + (i * 7) % 500}.{loop % 100:02d}"
                extra = {"positionSide": "LONG"} if hedge else {}
                name = f"fills-{account}"
                yield fill_write(name, i, account, side, "0.001", price, t0 + i, **extra)

        return writes

    def deposits(account: str) -> Callable[[], Iterator[Write]]:
        def writes() -> Iterator[Write]:
            for i in range(1_000_000):
                sign = "-" if i % 4 == 3 else ""  # now and then a withdrawal
                amount = f"{sign}{1 + i % 50}.{loop % 100:02d}{i:06d}"
                yield wallet_write(f"wallet-{account}", i, account, amount)

        return writes

    def marks() -> Iterator[Write]:
        for i in range(1_000_000):
            btc, eth = f"{20000 + loop}.{i:06d}", f"{1000 + loop}.{i:06d}"
            yield Write(
                "marks",
                i,
                "PUT",
                "/marks",
                {"BTCUSDT": btc, "ETHUSDT": eth},
                marks={"BTCUSDT": Decimal(btc), "ETHUSDT": Decimal(eth)},
            )

    def scenarios(tag: str, t1: int) -> Callable[[], Iterator[Write]]:
        return lambda: scenario_writes(tag, t1)

    def scenario_writes(tag: str, t1: int) -> Iterator[Write]:
        # A whole account in one commit: the account, a key, a deposit and six fills.
        for i in range(1_000_000):
            name, api_key = f"{tag}{loop}n{i}", f"{tag}{loop}k{i}"
            amount = f"{500 + i % 100}.{loop % 100:02d}"
            fills = [
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "qty": "0.001",
                    "price": f"{20000 + k}",
                    "fee": "0.01",
                    "time": t1 + i * 10 + k,
                }
                for k in range(6)
            ]
            account = {
                "name": name,
                "keys": [{"type": "hmac", "apiKey": api_key, "secret": "not-a-real-secret"}],
                "deposits": {"USDT": amount},
                "fills": fills,
            }
            rows = (("wallet", name, "USDT", Decimal(amount)), *(fill_row(name, f) for f in fills))
            yield Write(
                f"scenarios-{tag}",
                i,
                "POST",
                "/scenarios",
                {"accounts": [account]},
                rows=rows,
                creates=name,
                keys=(api_key,),
            )

    def accounts() -> Iterator[Write]:
        # Create an account (hedge ones take two changes in one commit), then fund it.
        for i in range(0, 1_000_000, 2):
            name = f"c{loop}n{i}"
            hedge = i % 4 == 0
            body: dict[str, Any] = {"name": name}
            rows: tuple[tuple[Any, ...], ...] = ()
            if hedge:
                body["positionMode"] = "hedge"
                rows = (("mode", name, PositionMode.HEDGE),)
            create = Write("accounts", i, "POST", "/accounts", body, rows=rows, creates=name)
            yield create
            if create.outcome != ACKED:
                return
            yield wallet_write("accounts", i + 1, name, f"{100 + i}.{loop % 100:02d}")

    return {
        "fills-alice": fills("alice", hedge=False),
        "fills-bob": fills("bob", hedge=True),
        "wallet-alice": deposits("alice"),
        "wallet-bob": deposits("bob"),
        "marks": marks,
        "accounts": accounts,
        "scenarios-s": scenarios("s", t0 + 300_000),
        "scenarios-t": scenarios("t", t0 + 600_000),
    }


async def send_until_dead(
    session: aiohttp.ClientSession, admin_url: str, writes: Iterator[Write], sent: list[Write]
) -> None:
    """Send ``writes`` one after another until the server stops answering."""
    for write in writes:
        sent.append(write)
        try:
            async with session.request(
                write.method, admin_url + write.path, json=write.body, headers=AUTH
            ) as response:
                # The answer is sent after the commit: its status line is the acknowledgement.
                write.status = response.status
                write.answer = await response.json(content_type=None)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            if write.status is None:
                write.outcome = UNKNOWN
                return
        if write.status in (200, 201):
            write.outcome = ACKED
        elif write.status is not None and 400 <= write.status < 500:
            write.outcome = REFUSED
        else:
            write.outcome = FAILED
        if write.answer is None:  # acknowledged, then the connection died
            return


# -- checks on the ledger --------------------------------------------------------------


def integrity(db: Path) -> None:
    """SQLite's own checks on the file, through a read-only connection."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()


async def load(db: Path) -> Snapshot:
    store = SQLiteStore(db)
    await store.open()
    try:
        return await store.load()
    finally:
        await store.close()


def describe_all(registry: Registry) -> dict[str, Any]:
    """Every account as ``GET accounts/{name}`` shows it, from an in-memory registry."""
    admin = AdminService(cast(Any, None), registry, ManualClock(0))
    described = {name: admin.describe(name) for name in registry.accounts}
    return cast(dict[str, Any], json.loads(json.dumps(described)))


@dataclass
class Outcome:
    """What one kill loop did, for the report."""

    loop: int
    kill_after_ms: float
    sent: int
    acked: int
    refused: int
    unknown: int
    unknown_kept: int
    ledger_rows: int

    def __str__(self) -> str:
        return (
            f"loop {self.loop}: killed after {self.kill_after_ms:.1f} ms; {self.sent} writes "
            f"sent, {self.acked} acknowledged, {self.refused} refused, {self.unknown} in flight "
            f"({self.unknown_kept} of them kept); ledger {self.ledger_rows} rows"
        )


def check_ledger_against_writes(
    before: Snapshot, after: Snapshot, sent: list[Write], market: Market
) -> tuple[Registry, int]:
    """(a) every acknowledged write is in ``after``, (b) each write is there whole or not at
    all, per writer a prefix of what it sent, and nothing else was added; returns the
    registry folded from ``before`` plus exactly the writes kept, applying the test's own
    events (not the ledger's), and how many in-flight writes were kept."""
    # Nothing that was there before the crash is lost or rewritten.
    assert after.ledger[: len(before.ledger)] == before.ledger
    assert after.accounts[: len(before.accounts)] == before.accounts
    assert after.keys[: len(before.keys)] == before.keys

    by_row: dict[tuple[Any, ...], Write] = {}
    for write in sent:
        for row in write.rows:
            assert row not in by_row, f"the test sent {row} twice"
            by_row[row] = write
    new_rows = after.ledger[len(before.ledger) :]
    found: dict[tuple[Any, ...], LedgerRecord] = {}
    for record in new_rows:
        sig = signature(record)
        assert sig in by_row, f"ledger row {record} is none of the writes sent"
        assert sig not in found, f"ledger row {sig} is there twice"
        found[sig] = record
    new_accounts = {a.name for a in after.accounts[len(before.accounts) :]}
    created = {w.creates: w for w in sent if w.creates is not None}
    assert new_accounts <= set(created), new_accounts - set(created)
    new_keys = {k.api_key for k in after.keys[len(before.keys) :]}
    assert new_keys <= {k for w in sent for k in w.keys}

    kept: dict[int, bool] = {}
    for write in sent:
        present = [row in found for row in write.rows]
        if write.creates is not None:
            present.append(write.creates in new_accounts)
        present += [key in new_keys for key in write.keys]
        assert all(present) or not any(present), f"{write} is half there: {present}"
        is_kept = bool(present) and all(present)
        kept[id(write)] = is_kept
        if write.outcome == ACKED and present:
            assert is_kept, f"acknowledged {write} is not in the ledger"
        if write.outcome in (REFUSED, FAILED, "unsent"):
            assert not is_kept, f"{write} ({write.outcome}) is in the ledger"

    # Per writer: what is kept is a prefix of what was sent, in the ledger in that order.
    streams: dict[str, list[Write]] = {}
    for write in sent:
        streams.setdefault(write.stream, []).append(write)
    for name, writes in streams.items():
        flags = [kept[id(w)] for w in writes if w.outcome != REFUSED and (w.rows or w.creates)]
        assert flags == sorted(flags, reverse=True), f"{name} kept {flags}: not a prefix"
        seqs = [found[w.rows[0]].seq for w in writes if w.rows and kept[id(w)]]
        assert seqs == sorted(seqs), f"{name}: ledger order {seqs} differs from send order"

    # Marks: the last acknowledged PUT, or the one in flight, both symbols from the same PUT.
    marks = [w for w in sent if w.marks]
    acked = [w for w in marks if w.outcome == ACKED]
    allowed = [dict(before.marks)] if not acked else [acked[-1].marks]
    allowed += [w.marks for w in marks if w.outcome == UNKNOWN]
    stored = {s: after.marks[s] for s in ("BTCUSDT", "ETHUSDT")}
    assert any(stored == {s: m[s] for s in stored} for m in allowed), (stored, allowed)
    kept_marks = [w for w in marks if w.outcome == UNKNOWN and stored == w.marks]

    # The fold of exactly what was kept, with the events the test built itself.
    registry = Registry.from_snapshot(before, market)
    for name in sorted(new_accounts, key=lambda n: created[n].index):
        registry.apply_committed(
            [
                NewAccount(name, 0),
                *(
                    NewKey(KeyRecord(key, name, "hmac", "not-a-real-secret", None, 0))
                    for key in created[name].keys
                ),
            ]
        )
    for record in new_rows:
        # The row as the test built it from its request; only a time the server chose
        # (deposits, position modes) comes from the ledger.
        row = next(r for r in by_row[signature(record)].rows if r == signature(record))
        event: Event
        if row[0] == "fill":
            event = Fill(*row[2:])
        elif row[0] == "wallet":
            event = WalletTransfer(row[2], row[3], record.time)
        else:
            event = SetPositionMode(row[2], record.time)
        registry.apply_committed([AppendEvent(record.account, event, record.time)])
    registry.apply_committed([SetMarks(stored, 0)])
    in_flight_kept = sum(
        1 for w in sent if w.outcome == UNKNOWN and kept[id(w)] and (w.rows or w.creates)
    )
    return registry, in_flight_kept + len(kept_marks)
