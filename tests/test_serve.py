"""``posrisk serve`` as a user runs it: a real process, its output, a query, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websockets.sync.client

from posrisk.protocol import canonical_payload, hmac_signature, load_private_key

pytestmark = pytest.mark.timeout(60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: Path, port: int, *extra: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "posrisk.cli",
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--admin-port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Press Ctrl-C" in line:
            return process, "".join(lines)
    process.kill()
    raise AssertionError("serve did not start:\n" + "".join(lines))


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    return process.returncode, out, err


def query(
    port: int,
    api_key: str,
    sign: Callable[[bytes], str],
    method: str = "account.position",
    **params: object,
) -> dict[str, Any]:
    payload = {"apiKey": api_key, "timestamp": int(time.time() * 1000), **params}
    payload["signature"] = sign(canonical_payload(payload))
    with websockets.sync.client.connect(f"ws://127.0.0.1:{port}/ws-fapi/v1") as ws:
        ws.send(json.dumps({"id": "q", "method": method, "params": payload}))
        return json.loads(ws.recv(timeout=10))  # type: ignore[no-any-return]


def test_serve_seeds_the_demo_answers_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    db, port = tmp_path / "posrisk.db", free_port()
    process, banner = start(db, port)
    try:
        assert f"ws://127.0.0.1:{port}/ws-fapi/v1" in banner
        assert str(db) in banner
        assert f"dashboard      http://127.0.0.1:{port}/ (loopback clients)" in banner
        assert (
            f"monitoring     http://127.0.0.1:{port}/health and /metrics (loopback clients)"
            in banner
        )
        api_key = re.search(r"API key\s+(\w+)", banner)
        secret = re.search(r"HMAC secret\s+(\w+)", banner)
        ed_key = re.search(r"Ed25519 key\s+(\w+)", banner)
        private = re.search(r"private key (\S+\.pem)", banner)
        assert api_key and secret and ed_key and private, banner
        reply = query(port, api_key[1], lambda p: hmac_signature(secret[1], p), symbol="BTCUSDT")
        assert reply["status"] == 200
        [btc] = reply["result"]
        assert (btc["positionAmt"], btc["entryPrice"]) == ("0.080", "60762.5625")
        key = load_private_key(Path(private[1]).read_text())
        assert oct(Path(private[1]).stat().st_mode & 0o777) == "0o600"
        reply = query(port, ed_key[1], key.sign, "v2/account.position")
        assert [r["symbol"] for r in reply["result"]] == ["BTCUSDT", "ETHUSDT"]
        assert "curl" in banner and "openssl dgst -sha256 -hmac" in banner
        command = next(line for line in banner.splitlines() if "posrisk positions" in line)
        env = dict(part.split("=", 1) for part in command.split() if "=" in part)
        shown = subprocess.run(
            [
                sys.executable,
                "-m",
                "posrisk.cli",
                "positions",
                "--url",
                f"ws://127.0.0.1:{port}/ws-fapi/v1",
            ],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert shown.returncode == 0, shown.stderr
        assert "BTCUSDT" in shown.stdout and "ETHUSDT" in shown.stdout
    finally:
        code, out, err = stop(process)
    assert code == 0, err
    assert "stopped" in out
    assert secret[1] not in err  # secrets are printed once on stdout, never logged

    # A restart serves the same positions and prints no secret again.
    process, banner = start(db, port)
    try:
        assert "HMAC secret" not in banner
        reply = query(port, api_key[1], lambda p: hmac_signature(secret[1], p), symbol="BTCUSDT")
        assert reply["result"][0]["entryPrice"] == "60762.5625"
    finally:
        assert stop(process)[0] == 0


def test_serve_refuses_a_bad_scenario_and_a_busy_database(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "accounts": [
                    {
                        "name": "x",
                        "fills": [{"symbol": "NOPE", "side": "BUY", "qty": "1", "price": "1"}],
                    }
                ]
            }
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "posrisk.cli",
            "serve",
            "--db",
            str(tmp_path / "a.db"),
            "--port",
            str(free_port()),
            "--admin-port",
            "0",
            "--scenario",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "account 'x', fills[0]" in result.stderr and "Invalid symbol" in result.stderr
    # The refused start took back the new database it had begun: no file, lock or key left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]

    wrong = cli("serve", "--db", str(tmp_path / "c.db"), "--port", "0", "--monitoring", "all")
    assert (wrong.returncode, wrong.stderr) == (
        1,
        "error: --monitoring takes loopback, any or off, not 'all'\n",
    )

    db, port = tmp_path / "b.db", free_port()
    process, banner = start(db, port, "--no-demo", "--monitoring", "any", "--dashboard", "off")
    assert "/health and /metrics (any client)" in banner and "dashboard " not in banner
    try:
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "posrisk.cli",
                "serve",
                "--db",
                str(db),
                "--port",
                str(free_port()),
                "--admin-port",
                "0",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1
        assert "held by a running posrisk server" in second.stderr
        # An admin command aimed at the held database goes through the server's admin API.
        admin = cli("account", "create", "carol", "--db", str(db))
        assert (admin.returncode, admin.stdout) == (0, "created account 'carol'\n")
        listed = cli("account", "list", "--db", str(db))
        assert "carol" in listed.stdout
        refused = cli("account", "create", "carol", "--db", str(db))
        assert (refused.returncode, refused.stderr.strip()) == (
            1,
            "error -1130: Account 'carol' already exists.",
        )
    finally:
        assert stop(process)[0] == 0
    # Without an admin API, the command is refused and says why.
    process, _ = start(db, port, "--no-admin")
    try:
        admin = cli("account", "create", "dave", "--db", str(db))
        assert admin.returncode == 1 and "held by a running posrisk server" in admin.stderr
    finally:
        assert stop(process)[0] == 0


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posrisk.cli", *args], capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("busy", ["--port", "--admin-port"])
def test_a_busy_port_refuses_the_start_before_the_database_is_touched(
    tmp_path: Path, busy: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        number = taken.getsockname()[1]
        ports = {"--port": "0", "--admin-port": "0", busy: str(number)}
        refused = cli("serve", "--db", str(tmp_path / "posrisk.db"), *sum(ports.items(), ()))
    what = "the WS API" if busy == "--port" else "the admin API"
    assert (refused.returncode, refused.stderr) == (
        1,
        f"error: cannot listen on 127.0.0.1:{number} for {what} ({busy}): Address already in use\n",
    )
    assert list(tmp_path.iterdir()) == []  # no database, lock, token or key file
    # Once the port is free, the first start is the one that shows the demo's secrets.
    process, banner = start(tmp_path / "posrisk.db", free_port())
    assert stop(process)[0] == 0
    assert "Demo accounts created (these secrets are shown only now)" in banner
    again = f"posrisk key create demo --db {tmp_path / 'posrisk.db'}"
    assert f"  Lost a secret? {again} prints a new key (likewise demo-hedge)." in banner
    # Later starts say how to get a key again: the command works while the server runs
    # (through its admin API) and on the stopped database.
    process, banner = start(tmp_path / "posrisk.db", free_port())
    try:
        assert f"demo keys      shown when the database was created; a new one: {again}" in banner
        created = cli(*again.split()[1:])
        assert created.returncode == 0 and '"secret"' in created.stdout, created.stderr
    finally:
        assert stop(process)[0] == 0
    created = cli(*again.split()[1:])
    assert created.returncode == 0 and '"secret"' in created.stdout, created.stderr


def test_a_database_in_a_missing_folder_is_refused_naming_the_folder(tmp_path: Path) -> None:
    db = tmp_path / "missing" / "x.db"
    refused = cli("serve", "--db", str(db), "--port", "0", "--admin-port", "0")
    assert (refused.returncode, refused.stderr) == (
        1,
        f"error: no such folder: {tmp_path / 'missing'} (for the database x.db)\n",
    )
    assert list(tmp_path.iterdir()) == []
