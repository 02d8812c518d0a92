"""HMAC secrets encrypted at rest.

A server must recover an HMAC secret to verify signatures, so secrets are sealed, not
hashed: AES-256-GCM under a master key, with the API key as associated data (a sealed
secret cannot be moved to another key). The master key comes from ``POSRISK_MASTER_KEY``
(32 bytes, URL-safe base64) or from ``<db stem>-master.key`` next to the database,
generated on first use with mode 0600. Lose it and the HMAC keys must be issued again.

Sealed values look like ``enc:v1:<base64>``; a value without that prefix (written by an
earlier posrisk) is read as it is and sealed the next time keys are written.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import PosriskError

__all__ = ["MASTER_KEY_ENV", "SecretBox", "SecretError"]

MASTER_KEY_ENV = "POSRISK_MASTER_KEY"
_PREFIX = "enc:v1:"


class SecretError(PosriskError, ValueError):
    """A master key that cannot be used, or a secret it cannot open."""


class SecretBox:
    """Seals and opens HMAC secrets with one master key."""

    __slots__ = ("_aead", "source")

    def __init__(self, key: bytes, source: str = "a key given in code") -> None:
        if len(key) != 32:
            raise SecretError(f"the master key from {source} is {len(key)} bytes, not 32")
        self._aead = AESGCM(key)
        # Where the key came from (for error messages; never the key itself).
        self.source = source

    def __repr__(self) -> str:
        return f"SecretBox(from {self.source})"

    @classmethod
    def for_database(cls, db: str | Path, environ: dict[str, str] | None = None) -> SecretBox:
        """The master key of ``db``: the environment's, else the key file beside it."""
        env = os.environ if environ is None else environ
        given = env.get(MASTER_KEY_ENV)
        if given:
            return cls(_decode(given, MASTER_KEY_ENV), MASTER_KEY_ENV)
        path = Path(db)
        path = (
            Path.cwd() / "posrisk-master.key"
            if str(db) == ":memory:"
            else (path.with_name(path.stem + "-master.key"))
        )
        if path.exists():
            return cls(_decode(path.read_text().strip(), str(path)), str(path))
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(key).decode() + "\n")
        return cls(key, str(path))

    def seal(self, secret: str, api_key: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), api_key.encode())
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str, api_key: str) -> str:
        if not stored.startswith(_PREFIX):
            return stored  # written before secrets were sealed
        try:
            raw = base64.urlsafe_b64decode(stored[len(_PREFIX) :])
            return self._aead.decrypt(raw[:12], raw[12:], api_key.encode()).decode()
        except (InvalidTag, ValueError) as e:
            raise SecretError(
                f"cannot open the HMAC secret of API key {api_key!r} with the master key from "
                f"{self.source}: {'wrong master key' if isinstance(e, InvalidTag) else e}"
            ) from None


def _decode(text: str, source: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text)
    except ValueError:
        raise SecretError(f"the master key from {source} is not URL-safe base64") from None
