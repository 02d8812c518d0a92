"""API keys as the admin operations make them: the record to store and what its owner sees.

``make_key`` checks what an operator or a scenario gives (key type, apiKey, secret or
public key) and generates what is not given; it touches no state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine import InvalidValue
from ..protocol import (
    generate_api_key,
    generate_ed25519,
    generate_hmac_secret,
    generate_rsa,
    load_public_key,
)
from ..store import KeyRecord

__all__ = ["KEY_TYPES", "CreatedKey", "check_api_key", "make_key"]

KEY_TYPES = ("hmac", "ed25519", "rsa")
_API_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new API key; ``secret``/``private_key`` are shown once and never stored
    (``private_key``) or never shown again (``secret``)."""

    api_key: str
    account: str
    kind: str
    secret: str | None = None
    public_key: str | None = None
    private_key: str | None = None

    def __repr__(self) -> str:
        return f"CreatedKey(api_key={self.api_key!r}, account={self.account!r}, kind={self.kind!r})"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"apiKey": self.api_key, "account": self.account, "type": self.kind}
        if self.secret is not None:
            out["secret"] = self.secret
        if self.public_key is not None:
            out["publicKey"] = self.public_key
        if self.private_key is not None:
            out["privateKey"] = self.private_key
        return out


def check_api_key(api_key: object) -> str:
    if (
        not isinstance(api_key, str)
        or not 1 <= len(api_key) <= 128
        or not set(api_key) <= _API_KEY_CHARS
    ):
        raise InvalidValue("apiKey", "API keys are 1-128 letters and digits")
    return api_key


def make_key(
    account: str,
    kind: str,
    created_at: int,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    public_key: str | None = None,
) -> tuple[KeyRecord, CreatedKey]:
    """A key record to store and what to show its owner; generates what is not given."""
    if kind not in KEY_TYPES:
        raise InvalidValue("type", f"key type must be one of {', '.join(KEY_TYPES)}, got {kind!r}")
    api_key = check_api_key(api_key) if api_key is not None else generate_api_key()
    if kind == "hmac":
        if public_key is not None:
            raise InvalidValue("publicKey", "an HMAC key has a secret, not a public key")
        shown = secret is None
        if secret is None:
            secret = generate_hmac_secret()
        elif not isinstance(secret, str) or not 1 <= len(secret) <= 512 or not secret.isprintable():
            raise InvalidValue("secret", "an HMAC secret is 1-512 printable characters")
        record = KeyRecord(api_key, account, kind, secret, None, created_at)
        return record, CreatedKey(api_key, account, kind, secret=secret if shown else None)
    if secret is not None:
        raise InvalidValue("secret", f"an {kind} key has a public key, not a secret")
    private_pem = None
    if public_key is None:
        private_pem, public_key = generate_ed25519() if kind == "ed25519" else generate_rsa()
    try:
        loaded = load_public_key(public_key)
    except (ValueError, TypeError) as e:
        raise InvalidValue("publicKey", f"not a usable public key: {e}") from None
    if loaded.kind != kind:
        raise InvalidValue("publicKey", f"the public key is {loaded.kind}, not {kind}")
    record = KeyRecord(api_key, account, kind, None, loaded.pem(), created_at)
    return record, CreatedKey(
        api_key, account, kind, public_key=loaded.pem(), private_key=private_pem
    )
