"""Signing keys, detected from what the user passes.

A PEM private key (PKCS#8, Ed25519 or RSA, optionally encrypted: give ``password``) as
text, bytes or a ``Path`` to the file; anything else given as text is an HMAC secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ..protocol import PrivateKey, hmac_signature, load_private_key

__all__ = ["HmacSigner", "KeySigner", "Signer", "load_signer"]


class Signer(Protocol):
    """Signs a request payload as Binance expects for its key type."""

    @property
    def kind(self) -> str: ...

    def sign(self, payload: bytes) -> str: ...


class HmacSigner:
    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    @property
    def kind(self) -> str:
        return "hmac"

    def sign(self, payload: bytes) -> str:
        return hmac_signature(self._secret, payload)

    def __repr__(self) -> str:
        return "HmacSigner(<secret hidden>)"


class KeySigner:
    """An Ed25519 or RSA private key (base64 signatures)."""

    __slots__ = ("_key",)

    def __init__(self, key: PrivateKey) -> None:
        self._key = key

    @property
    def kind(self) -> str:
        return self._key.kind

    def sign(self, payload: bytes) -> str:
        return self._key.sign(payload)

    def __repr__(self) -> str:
        return f"KeySigner({self.kind}, <private key hidden>)"


def load_signer(
    secret_or_private_key: str | bytes | Path, password: str | bytes | None = None
) -> Signer:
    """A signer for an HMAC secret, a PEM private key, or a ``Path`` to a PEM file."""
    value = secret_or_private_key
    if isinstance(value, Path):
        path = value
        try:
            value = path.read_bytes()
        except OSError as e:
            raise ValueError(f"cannot read the key file {path}: {e.strerror}") from None
    if isinstance(value, bytes):
        if b"-----BEGIN" not in value:
            raise ValueError("the key file holds no PEM private key")
        return KeySigner(load_private_key(value, password))
    if "-----BEGIN" in value:
        return KeySigner(load_private_key(value, password))
    if not value or not value.isprintable():
        raise ValueError("an HMAC secret is printable text")
    return HmacSigner(value)
