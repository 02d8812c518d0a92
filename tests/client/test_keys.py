from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from posrisk.client import HmacSigner, KeySigner, load_signer
from posrisk.protocol import load_public_key

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
