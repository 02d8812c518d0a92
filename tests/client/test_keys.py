from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from posrisk.client import HmacSigner, KeySigner, load_signer
from posrisk.client.keys import canonical_payload, load_private_key
from posrisk.protocol import canonical_payload as server_payload
from posrisk.protocol import generate_ed25519, generate_rsa, hmac_signature, load_public_key

SPEC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
SPEC_PAYLOAD = (
    "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=52000.00"
    "&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC"
    "&timestamp=1645423376532&type=LIMIT"
)


def test_the_published_hmac_vector() -> None:
    signer = load_signer(SPEC_SECRET)
    assert isinstance(signer, HmacSigner) and signer.kind == "hmac"
    assert signer.sign(SPEC_PAYLOAD.encode()) == (
        "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    )
    assert SPEC_SECRET not in repr(signer)


def pem(key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey, password: bytes | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
@pytest.mark.parametrize("password", [None, b"correct horse"])
def test_private_keys_are_detected_from_text_bytes_or_a_path(
    tmp_path: Path, kind: str, password: bytes | None
) -> None:
    key = (
        ed25519.Ed25519PrivateKey.generate()
        if kind == "ed25519"
        else (rsa.generate_private_key(public_exponent=65537, key_size=2048))
    )
    text = pem(key, password)
    path = tmp_path / "key.pem"
    path.write_bytes(text)
    public = load_public_key(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    for given in (text, text.decode(), path):
        signer = load_signer(given, password)
        assert isinstance(signer, KeySigner) and signer.kind == kind
        assert public.verify([b"payload"], signer.sign(b"payload"))
        assert "PRIVATE" not in repr(signer)


def test_bad_keys_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read the key file"):
        load_signer(tmp_path / "missing.pem")
    (tmp_path / "junk.pem").write_bytes(b"not a key")
    with pytest.raises(ValueError, match="no PEM private key"):
        load_signer(tmp_path / "junk.pem")
    encrypted = pem(ed25519.Ed25519PrivateKey.generate(), b"pw")
    with pytest.raises(ValueError):
        load_signer(encrypted)  # no password
    with pytest.raises(ValueError):
        load_signer(encrypted, b"wrong")
    with pytest.raises(ValueError, match="printable"):
        load_signer("")


PARAMS: list[dict[str, object]] = [
    {"symbol": "BTCUSDT", "timestamp": 1645423376532, "recvWindow": 5000, "apiKey": "k"},
    {"b": True, "a": False, "signature": "left out", "c": 0.1, "d": 1e-07},
    {"list": [1, "x", None], "obj": {"k": 2}, "none": None, "text": "ünïcode & = ?"},
    {"big": [2**70], "empty": ""},
    {},
]


@pytest.mark.parametrize("params", PARAMS)
def test_the_client_signs_the_payload_the_server_checks_first(params: dict[str, object]) -> None:
    # The client writes its own (it is used without the server); they must agree.
    assert canonical_payload(params) == server_payload(params)


def test_the_payload_is_sorted_and_leaves_the_signature_out() -> None:
    assert canonical_payload({"z": 1, "a": "x", "signature": "s", "t": True}) == (b"a=x&t=true&z=1")


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_a_key_signer_signs_what_the_server_verifies(kind: str) -> None:
    private, public = generate_ed25519() if kind == "ed25519" else generate_rsa()
    signer = KeySigner(load_private_key(private))
    assert signer.kind == kind
    assert load_public_key(public).verify([b"a=1"], signer.sign(b"a=1"))
    assert not load_public_key(public).verify([b"a=2"], signer.sign(b"a=1"))


def test_an_hmac_signer_signs_what_the_server_verifies() -> None:
    assert HmacSigner("secret").sign(b"a=1") == hmac_signature("secret", b"a=1")


def test_load_private_key_says_why_it_refuses() -> None:
    with pytest.raises(ValueError, match="not a PEM private key"):
        load_private_key("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----")
    encrypted = pem(ed25519.Ed25519PrivateKey.generate(), b"pw")
    with pytest.raises(ValueError, match="password problem"):
        load_private_key(encrypted)
    with pytest.raises(ValueError, match="wrong password"):
        load_private_key(encrypted, "nope")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ValueError, match="unsupported private key type"):
        load_private_key(pem(ec_key))  # type: ignore[arg-type]
