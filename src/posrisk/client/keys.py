"""Signing keys, detected from what the user passes, and the payload they sign.

A PEM private key (PKCS#8, Ed25519 or RSA, optionally encrypted: give ``password``) as
text, bytes or a ``Path`` to the file; anything else given as text is an HMAC secret.
HMAC signatures are lowercase hex, Ed25519 and RSA (PKCS#1 v1.5, SHA-256) ones base64,
as Binance documents them; the client does this itself, for it is used without the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import orjson
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "HmacSigner",
    "KeySigner",
    "Signer",
    "canonical_payload",
    "load_private_key",
    "load_signer",
]

PrivateKey = Ed25519PrivateKey | rsa.RSAPrivateKey


def canonical_payload(params: Mapping[str, object]) -> bytes:
    """What a request's signature covers: every param but ``signature``, sorted by name,
    ``name=value`` joined by ``&`` (strings as they are, booleans ``true``/``false``,
    other values as compact JSON), UTF-8."""
    text = "&".join(
        f"{name}={_text(params[name])}" for name in sorted(params) if name != "signature"
    )
    return text.encode("utf-8", "surrogatepass")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # wider than 64 bits, or nested deeper than orjson goes
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (ValueError, TypeError, RecursionError):
            return "\x00unsignable"  # nothing JSON can carry: the request cannot be sent


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
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "HmacSigner(<secret hidden>)"


class KeySigner:
    """An Ed25519 or RSA private key (base64 signatures)."""

    __slots__ = ("_key",)

    def __init__(self, key: PrivateKey) -> None:
        self._key = key

    @property
    def kind(self) -> str:
        return "ed25519" if isinstance(self._key, Ed25519PrivateKey) else "rsa"

    def sign(self, payload: bytes) -> str:
        if isinstance(self._key, Ed25519PrivateKey):
            raw = self._key.sign(payload)
        else:
            raw = self._key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode("ascii")

    def __repr__(self) -> str:
        return f"KeySigner({self.kind}, <private key hidden>)"


def load_private_key(pem: str | bytes, password: str | bytes | None = None) -> PrivateKey:
    """An Ed25519 or RSA private key from PEM (PKCS#8, maybe encrypted); ``ValueError`` else."""
    data = pem.encode("utf-8") if isinstance(pem, str) else pem
    secret = password.encode("utf-8") if isinstance(password, str) else password
    try:
        key = serialization.load_pem_private_key(data, secret)
    except TypeError as exc:  # encrypted without password, or password for a plain key
        raise ValueError(f"private key password problem ({exc})") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a PEM private key, or wrong password ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise ValueError(
            f"unsupported private key type {type(key).__name__}; expected Ed25519 or RSA"
        )
    return key


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
