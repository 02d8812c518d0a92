"""Request signatures: HMAC-SHA256, Ed25519 and RSA over the payload forms of
``payload.signature_payloads`` (SPEC §3).

Signature text: HMAC is hex, accepted in either case (Binance sends lowercase, this
module writes lowercase). RSA and Ed25519 are base64; percent-encoding (python-binance
sends ``%2B``, ``%2F``, ``%3D``), the URL-safe alphabet, missing padding and a ``+``
turned into a space are all undone before decoding. A signature that does not decode
verifies as False; verification never raises.

Ed25519 verification uses PyNaCl (about twice as fast) when it is installed,
``cryptography`` otherwise. RSA is RSASSA-PKCS1-v1_5 with SHA-256; keys are PEM,
PKCS#8 / SubjectPublicKeyInfo; no minimum RSA size is enforced.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Literal, Protocol
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .payload import signature_payloads

try:
    from nacl.exceptions import BadSignatureError as _NaclBadSignature
    from nacl.signing import VerifyKey as _NaclVerifyKey
except ImportError:  # pragma: no cover - PyNaCl is a declared dependency
    _NaclVerifyKey = None  # type: ignore[assignment,misc]
    _NaclBadSignature = Exception  # type: ignore[assignment,misc]

__all__ = [
    "Credential",
    "HmacCredential",
    "KeyKind",
    "PrivateKey",
    "PublicKey",
    "PublicKeyCredential",
    "decode_signature",
    "ed25519_sign",
    "generate_api_key",
    "generate_ed25519",
    "generate_hmac_secret",
    "generate_rsa",
    "hmac_signature",
    "load_private_key",
    "load_public_key",
    "rsa_sign",
    "verify_ed25519",
    "verify_hmac",
    "verify_rsa",
]

KeyKind = Literal["ed25519", "rsa"]

_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_ALPHANUMERIC = string.ascii_letters + string.digits


# -- HMAC ------------------------------------------------------------------------------

_SHA256_BLOCK = 64
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def hmac_signature(secret: str | bytes, payload: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``payload``."""
    return hmac.new(_secret_bytes(secret), payload, hashlib.sha256).hexdigest()


def verify_hmac(secret: str | bytes, payloads: Iterable[bytes], signature: str) -> bool:
    """Whether ``signature`` (hex, either case) signs one of ``payloads``, in order."""
    return HmacCredential(secret).verify_payloads(payloads, signature)


# -- base64 signatures ----------------------------------------------------------------


def decode_signature(signature: str) -> bytes | None:
    """The signature bytes of a base64 signature as clients send it; None if malformed."""
    text = unquote(signature) if "%" in signature else signature
    text = text.replace(" ", "+").strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _encode_signature(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# -- Ed25519 ---------------------------------------------------------------------------


def ed25519_sign(private_key: Ed25519PrivateKey, payload: bytes) -> str:
    """Base64 Ed25519 signature of ``payload``."""
    return _encode_signature(private_key.sign(payload))


def _ed25519_checker(public_key: Ed25519PublicKey) -> Callable[[bytes, bytes], bool]:
    """A function ``(payload, signature) -> bool`` for one key, PyNaCl when available."""
    if _NaclVerifyKey is not None:
        verify_key = _NaclVerifyKey(public_key.public_bytes_raw())

        def nacl_check(payload: bytes, raw: bytes) -> bool:
            try:
                verify_key.verify(payload, raw)
            except (_NaclBadSignature, ValueError):
                return False
            return True

        return nacl_check

    def cryptography_check(payload: bytes, raw: bytes) -> bool:
        try:
            public_key.verify(raw, payload)
        except InvalidSignature:
            return False
        return True

    return cryptography_check


def _verify_any(
    check: Callable[[bytes, bytes], bool],
    payloads: Iterable[bytes],
    signature: str,
    length: int | None,
) -> bool:
    raw = decode_signature(signature)
    if raw is None or (length is not None and len(raw) != length):
        return False
    return any(check(payload, raw) for payload in payloads)


def verify_ed25519(public_key: Ed25519PublicKey, payloads: Iterable[bytes], signature: str) -> bool:
    """Whether the base64 ``signature`` is ``public_key``'s over one of ``payloads``."""
    return _verify_any(_ed25519_checker(public_key), payloads, signature, 64)


# -- RSA -------------------------------------------------------------------------------


def rsa_sign(private_key: rsa.RSAPrivateKey, payload: bytes) -> str:
    """Base64 RSASSA-PKCS1-v1_5 SHA-256 signature of ``payload``."""
    return _encode_signature(private_key.sign(payload, _PKCS1, _SHA256))


def _rsa_checker(public_key: rsa.RSAPublicKey) -> Callable[[bytes, bytes], bool]:
    def check(payload: bytes, raw: bytes) -> bool:
        try:
            public_key.verify(raw, payload, _PKCS1, _SHA256)
        except (InvalidSignature, ValueError):
            return False
        return True

    return check


def verify_rsa(public_key: rsa.RSAPublicKey, payloads: Iterable[bytes], signature: str) -> bool:
    """Whether the base64 ``signature`` is ``public_key``'s over one of ``payloads``."""
    return _verify_any(_rsa_checker(public_key), payloads, signature, public_key.key_size // 8)


# -- keys ------------------------------------------------------------------------------


def _pem_bytes(pem: str | bytes) -> bytes:
    return pem.encode("utf-8") if isinstance(pem, str) else pem


class PublicKey:
    """A loaded Ed25519 or RSA public key that verifies base64 signatures."""

    __slots__ = ("_check", "_length", "key", "kind")

    def __init__(self, key: Ed25519PublicKey | rsa.RSAPublicKey) -> None:
        self.key = key
        self.kind: KeyKind
        if isinstance(key, Ed25519PublicKey):
            self.kind = "ed25519"
            self._check = _ed25519_checker(key)
            self._length = 64
        else:
            self.kind = "rsa"
            self._check = _rsa_checker(key)
            self._length = key.key_size // 8

    def verify(self, payloads: Iterable[bytes], signature: str) -> bool:
        """Whether ``signature`` signs one of ``payloads``; never raises."""
        return _verify_any(self._check, payloads, signature, self._length)

    def pem(self) -> str:
        """The key as SubjectPublicKeyInfo PEM."""
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def __repr__(self) -> str:
        return f"PublicKey(kind={self.kind!r})"


class PrivateKey:
    """A loaded Ed25519 or RSA private key that writes base64 signatures."""

    __slots__ = ("key", "kind")

    def __init__(self, key: Ed25519PrivateKey | rsa.RSAPrivateKey) -> None:
        self.key = key
        self.kind: KeyKind = "ed25519" if isinstance(key, Ed25519PrivateKey) else "rsa"

    def sign(self, payload: bytes) -> str:
        """Base64 signature of ``payload``."""
        if isinstance(self.key, Ed25519PrivateKey):
            return ed25519_sign(self.key, payload)
        return rsa_sign(self.key, payload)

    def public_key(self) -> PublicKey:
        return PublicKey(self.key.public_key())

    def public_pem(self) -> str:
        """The matching public key as SubjectPublicKeyInfo PEM (what the server registers)."""
        return self.public_key().pem()

    def __repr__(self) -> str:
        return f"PrivateKey(kind={self.kind!r})"


def load_public_key(pem: str | bytes) -> PublicKey:
    """An Ed25519 or RSA public key from PEM; ``ValueError`` saying why otherwise."""
    try:
        key = serialization.load_pem_public_key(_pem_bytes(pem))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey | rsa.RSAPublicKey):
        raise ValueError(
            f"unsupported public key type {type(key).__name__}; expected Ed25519 or RSA"
        )
    return PublicKey(key)


def load_private_key(pem: str | bytes, password: str | bytes | None = None) -> PrivateKey:
    """An Ed25519 or RSA private key from PEM (PKCS#8, maybe encrypted); ``ValueError`` else."""
    secret = password.encode("utf-8") if isinstance(password, str) else password
    try:
        key = serialization.load_pem_private_key(_pem_bytes(pem), secret)
    except TypeError as exc:  # encrypted without password, or password for a plain key
        raise ValueError(f"private key password problem ({exc})") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a PEM private key, or wrong password ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise ValueError(
            f"unsupported private key type {type(key).__name__}; expected Ed25519 or RSA"
        )
    return PrivateKey(key)


def _private_pem(key: Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def generate_ed25519() -> tuple[str, str]:
    """A new Ed25519 key pair as ``(private PKCS#8 PEM, public PEM)``."""
    key = Ed25519PrivateKey.generate()
    return _private_pem(key), PrivateKey(key).public_pem()


def generate_rsa(bits: int = 2048) -> tuple[str, str]:
    """A new RSA key pair as ``(private PKCS#8 PEM, public PEM)``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _private_pem(key), PrivateKey(key).public_pem()


def _alphanumeric(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def generate_hmac_secret() -> str:
    """A new HMAC secret: 64 characters of ``[A-Za-z0-9]``, like Binance's."""
    return _alphanumeric(64)


def generate_api_key() -> str:
    """A new API key: 64 characters of ``[A-Za-z0-9]``, like Binance's."""
    return _alphanumeric(64)


# -- credentials ------------------------------------------------------------------------


class Credential(Protocol):
    """What a stored API key verifies requests with."""

    @property
    def kind(self) -> str: ...

    def verify(self, params: Mapping[str, object], signature: str) -> bool: ...

    def verify_payload(self, payload: bytes, signature: str) -> bool: ...

    def verify_payloads(self, payloads: Iterable[bytes], signature: str) -> bool: ...


class HmacCredential:
    """An HMAC key: verifies hex signatures over every payload form, in constant time.

    HMAC-SHA256 hashes the key, padded two ways, before the message: those two SHA-256
    states are computed once here and copied per request (RFC 2104), which halves the
    cost of ``hmac.new`` for every signed request."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: str | bytes) -> None:
        key = _secret_bytes(secret)
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    @property
    def kind(self) -> str:
        return "hmac"

    def _hex(self, payload: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(payload)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest().encode("ascii")

    def verify_payloads(self, payloads: Iterable[bytes], signature: str) -> bool:
        given = signature.lower().encode("utf-8", "replace")
        # Each comparison is constant-time; stopping at the first match tells only which
        # payload form the client used.
        return any(hmac.compare_digest(self._hex(payload), given) for payload in payloads)

    def verify(self, params: Mapping[str, object], signature: str) -> bool:
        return self.verify_payloads(signature_payloads(params), signature)

    def verify_payload(self, payload: bytes, signature: str) -> bool:
        """One exact payload (REST signs the query string as sent, not sorted)."""
        return self.verify_payloads([payload], signature)

    def __repr__(self) -> str:
        return "HmacCredential(secret=<hidden>)"


class PublicKeyCredential:
    """An Ed25519 or RSA key: verifies base64 signatures over every payload form."""

    __slots__ = ("public_key",)

    def __init__(self, public_key: PublicKey | str | bytes) -> None:
        self.public_key = (
            public_key if isinstance(public_key, PublicKey) else load_public_key(public_key)
        )

    @property
    def kind(self) -> str:
        return self.public_key.kind

    def verify(self, params: Mapping[str, object], signature: str) -> bool:
        return self.public_key.verify(signature_payloads(params), signature)

    def verify_payload(self, payload: bytes, signature: str) -> bool:
        """One exact payload (REST signs the query string as sent, not sorted)."""
        return self.public_key.verify([payload], signature)

    def verify_payloads(self, payloads: Iterable[bytes], signature: str) -> bool:
        """Any of ``payloads``, in order (REST's totalParams forms)."""
        return self.public_key.verify(payloads, signature)

    def __repr__(self) -> str:
        return f"PublicKeyCredential(kind={self.kind!r})"
