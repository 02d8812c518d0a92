"""HMAC secrets sealed at rest, and the master key's two homes."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from posrisk.app import PosriskServer, ServerSettings
from posrisk.service.secrets import MASTER_KEY_ENV, SecretBox, SecretError


def test_seal_and_open() -> None:
    box = SecretBox(os.urandom(32))
    sealed = box.seal("my-hmac-secret", "apiKey1")
    assert sealed.startswith("enc:v1:") and "my-hmac-secret" not in sealed
    assert box.open(sealed, "apiKey1") == "my-hmac-secret"
    assert box.seal("my-hmac-secret", "apiKey1") != sealed  # a fresh nonce each time
    with pytest.raises(SecretError, match="wrong master key"):
        box.open(sealed, "anotherKey")  # bound to its API key
    with pytest.raises(SecretError, match="wrong master key"):
        SecretBox(os.urandom(32), "elsewhere").open(sealed, "apiKey1")
    assert box.open("legacy-plaintext", "k") == "legacy-plaintext"
    assert "my" not in repr(box)


def test_the_master_key_from_the_environment_or_a_file(tmp_path: Path) -> None:
    key = os.urandom(32)
    env = {MASTER_KEY_ENV: base64.urlsafe_b64encode(key).decode()}
    from_env = SecretBox.for_database(tmp_path / "a.db", env)
    assert from_env.source == MASTER_KEY_ENV
    assert not (tmp_path / "a-master.key").exists()
    from_file = SecretBox.for_database(tmp_path / "a.db", {})
    path = tmp_path / "a-master.key"
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    again = SecretBox.for_database(tmp_path / "a.db", {})
    assert again.open(from_file.seal("s", "k"), "k") == "s"
    with pytest.raises(SecretError, match="16 bytes, not 32"):
        SecretBox.for_database(
            tmp_path / "a.db", {MASTER_KEY_ENV: base64.urlsafe_b64encode(b"x" * 16).decode()}
        )


@pytest.mark.asyncio
async def test_the_database_holds_no_secret_and_needs_its_master_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    db = tmp_path / "posrisk.db"
    server = PosriskServer(ServerSettings(db=str(db), port=0, admin_port=None))
    await server.start()
    assert server.demo is not None and server.demo.hmac.secret is not None
    secret = server.demo.hmac.secret
    await server.stop()
    for file in tmp_path.glob("posrisk.db*"):
        assert secret.encode() not in file.read_bytes(), file

    again = PosriskServer(ServerSettings(db=str(db), port=0, admin_port=None))
    await again.start()  # the key file next to the database opens them
    entry = again.registry.keys[server.demo.hmac.api_key]
    assert entry.credential.verify_payload(
        b"x", __import__("hmac").new(secret.encode(), b"x", "sha256").hexdigest()
    )
    await again.stop()

    monkeypatch.setenv(MASTER_KEY_ENV, base64.urlsafe_b64encode(os.urandom(32)).decode())
    wrong = PosriskServer(ServerSettings(db=str(db), port=0, admin_port=None))
    with pytest.raises(Exception, match="wrong master key") as refused:
        await wrong.start()
    assert secret not in str(refused.value)
