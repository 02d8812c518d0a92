import base64
import hashlib
import hmac
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from posrisk.protocol import (
    MAX_URLENCODED,
    HmacCredential,
    PrivateKey,
    PublicKeyCredential,
    canonical_payload,
    decode_signature,
    ed25519_sign,
    generate_api_key,
    generate_ed25519,
    generate_hmac_secret,
    generate_rsa,
    hmac_signature,
    load_private_key,
    load_public_key,
    rsa_sign,
    signature_payloads,
    total_params_payloads,
    verify_ed25519,
    verify_hmac,
    verify_rsa,
)

# SPEC §3 test vector (Binance's documentation).
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PAYLOAD = (
    b"apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=52000.00"
    b"&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC"
    b"&timestamp=1645423376532&type=LIMIT"
)
SIGNATURE = "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
VECTOR_PARAMS: dict[str, object] = {  # as a client sends them: unsorted, ints as ints
    "symbol": "BTCUSDT",
    "side": "SELL",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.01000000",
    "price": "52000.00",
    "recvWindow": 100,
    "timestamp": 1645423376532,
    "apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
    "signature": SIGNATURE,
}


@pytest.fixture(scope="module")
def ed25519_pair() -> tuple[str, str]:
    return generate_ed25519()


@pytest.fixture(scope="module")
def rsa_pair() -> tuple[str, str]:
    return generate_rsa(2048)


# -- payload ----------------------------------------------------------------------------


def test_hmac_test_vector() -> None:
    assert hmac_signature(SECRET, PAYLOAD) == SIGNATURE
    assert hmac_signature(SECRET.encode(), PAYLOAD) == SIGNATURE


def test_canonical_payload_of_the_vector_params() -> None:
    assert canonical_payload(VECTOR_PARAMS) == PAYLOAD
    assert list(signature_payloads(VECTOR_PARAMS)) == [PAYLOAD]
    assert HmacCredential(SECRET).verify(VECTOR_PARAMS, SIGNATURE)


def test_the_same_params_as_strings_give_the_same_payload() -> None:
    as_strings = {name: str(value) for name, value in VECTOR_PARAMS.items()}
    assert canonical_payload(as_strings) == PAYLOAD


def test_bool_params_have_raw_and_python_forms() -> None:
    params = {"timestamp": 1, "returnRateLimits": False, "apiKey": "k", "signature": "x"}
    assert list(signature_payloads(params)) == [
        b"apiKey=k&returnRateLimits=false&timestamp=1",
        b"apiKey=k&returnRateLimits=False&timestamp=1",
    ]
    assert canonical_payload({"a": True}) == b"a=true"


def test_urlencode_form_differs_for_special_characters() -> None:
    params = {"b": "x y&z=é", "a": 1}
    assert list(signature_payloads(params)) == [
        "a=1&b=x y&z=é".encode(),
        b"a=1&b=x+y%26z%3D%C3%A9",
    ]


def test_the_urlencode_form_is_tried_only_for_payloads_of_a_real_requests_size() -> None:
    """urlencode() runs in Python per byte: 15 params of 4096 '/' with a boolean cost 6.6 ms
    per wrong signature. Past MAX_URLENCODED characters only the raw forms are tried."""
    small = {"a": "/" * (MAX_URLENCODED - 2)}
    assert len(list(signature_payloads(small))) == 2
    large = {"a": "/" * (MAX_URLENCODED - 1), "b": True}
    assert list(signature_payloads(large)) == [
        ("a=" + "/" * (MAX_URLENCODED - 1) + "&b=true").encode(),
        ("a=" + "/" * (MAX_URLENCODED - 1) + "&b=True").encode(),
    ]


def test_other_json_values_render_as_json() -> None:
    params = {"f": 0.1, "g": 1e-07, "n": None, "l": [1, "a"], "o": {"k": True}}
    assert canonical_payload(params) == b'f=0.1&g=1e-07&l=[1,"a"]&n=null&o={"k":true}'


def test_signature_param_is_left_out_and_empty_params_sign_the_empty_string() -> None:
    assert canonical_payload({"signature": "s"}) == b""
    assert list(signature_payloads({})) == [b""]


def test_surrogates_do_not_make_signing_raise() -> None:
    assert next(signature_payloads({"a": "\ud800"})) == b"a=\xed\xa0\x80"


# -- HMAC -------------------------------------------------------------------------------


def test_hmac_accepts_uppercase_hex() -> None:
    assert verify_hmac(SECRET, [PAYLOAD], SIGNATURE.upper())


@pytest.mark.parametrize(
    "signature",
    [SIGNATURE[:-1], SIGNATURE + "0", "", "zz", "é" * 64, SIGNATURE[:-1] + "5"],
)
def test_hmac_refuses_other_signatures(signature: str) -> None:
    assert not verify_hmac(SECRET, [PAYLOAD], signature)


def test_hmac_refuses_a_tampered_payload_and_a_wrong_secret() -> None:
    assert not verify_hmac(SECRET, [PAYLOAD.replace(b"SELL", b"BUY")], SIGNATURE)
    assert not verify_hmac(SECRET[:-1] + "k", [PAYLOAD], SIGNATURE)
    tampered = dict(VECTOR_PARAMS, recvWindow=101)
    assert not HmacCredential(SECRET).verify(tampered, SIGNATURE)


def test_hmac_credential_accepts_each_client_style() -> None:
    credential = HmacCredential(SECRET)
    params = {"apiKey": "k", "timestamp": 5, "returnRateLimits": False, "note": "a b"}
    ccxt = hmac_signature(SECRET, b"apiKey=k&note=a b&returnRateLimits=false&timestamp=5")
    sdk = hmac_signature(SECRET, b"apiKey=k&note=a+b&returnRateLimits=False&timestamp=5")
    urlencoded = hmac_signature(SECRET, b"apiKey=k&note=a+b&returnRateLimits=false&timestamp=5")
    unsorted = hmac_signature(SECRET, b"timestamp=5&apiKey=k&note=a b&returnRateLimits=false")
    assert credential.verify(params, ccxt)
    assert credential.verify(params, sdk)
    assert credential.verify(params, urlencoded)
    assert not credential.verify(params, unsorted)
    assert credential.kind == "hmac"
    assert SECRET not in repr(credential)


# -- base64 -------------------------------------------------------------------------------


def test_decode_signature_variants() -> None:
    raw = bytes(range(250, 256)) + b"\xfb\xff"  # encodes with + and /
    standard = base64.b64encode(raw).decode()
    assert "+" in standard and "/" in standard
    for text in (
        standard,
        quote(standard, safe=""),
        base64.urlsafe_b64encode(raw).decode(),
        standard.rstrip("="),
        standard.replace("+", " "),
    ):
        assert decode_signature(text) == raw, text
    for bad in ("***", "a", "%ZZ", "é", "abc$"):
        assert decode_signature(bad) is None


# -- Ed25519 --------------------------------------------------------------------------------


def test_ed25519_round_trip(ed25519_pair: tuple[str, str]) -> None:
    private_pem, public_pem = ed25519_pair
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    private = load_private_key(private_pem)
    public = load_public_key(public_pem)
    assert (private.kind, public.kind) == ("ed25519", "ed25519")
    assert private.public_pem() == public_pem
    signature = private.sign(PAYLOAD)
    assert len(base64.b64decode(signature)) == 64
    assert public.verify([PAYLOAD], signature)
    assert public.verify([b"other", PAYLOAD], signature)
    assert not public.verify([PAYLOAD + b"&x=1"], signature)
    assert not public.verify([PAYLOAD], signature[:-4])
    assert not public.verify([PAYLOAD], "garbage!")
    assert not public.verify([PAYLOAD], "")


def test_ed25519_module_functions(ed25519_pair: tuple[str, str]) -> None:
    private = load_private_key(ed25519_pair[0])
    signature = ed25519_sign(private.key, PAYLOAD)  # type: ignore[arg-type]
    public_key = load_public_key(ed25519_pair[1]).key
    assert verify_ed25519(public_key, [PAYLOAD], signature)  # type: ignore[arg-type]
    assert not verify_ed25519(public_key, [PAYLOAD[:-1]], signature)  # type: ignore[arg-type]


def test_ed25519_wrong_key(ed25519_pair: tuple[str, str]) -> None:
    other_private, _ = generate_ed25519()
    signature = load_private_key(other_private).sign(PAYLOAD)
    assert not load_public_key(ed25519_pair[1]).verify([PAYLOAD], signature)


def test_ed25519_percent_encoded_signature_as_python_binance_sends_it(
    ed25519_pair: tuple[str, str],
) -> None:
    credential = PublicKeyCredential(ed25519_pair[1])
    params = {"apiKey": "k", "timestamp": 1702920680303}
    private = load_private_key(ed25519_pair[0])
    for extra in range(40):  # until the base64 text holds a character that gets escaped
        params["recvWindow"] = 1000 + extra
        signature = private.sign(canonical_payload(params))
        quoted = quote(signature, safe="")
        if quoted != signature:
            break
    assert "%" in quoted
    assert credential.verify(params, quoted)
    assert credential.verify(params, base64.urlsafe_b64encode(base64.b64decode(signature)).decode())
    assert credential.kind == "ed25519"


def test_ed25519_bool_forms(ed25519_pair: tuple[str, str]) -> None:
    private = load_private_key(ed25519_pair[0])
    credential = PublicKeyCredential(private.public_key())
    params = {"apiKey": "k", "timestamp": 1, "returnRateLimits": False}
    sdk = private.sign(b"apiKey=k&returnRateLimits=False&timestamp=1")
    assert credential.verify(params, sdk)
    assert not credential.verify(dict(params, returnRateLimits="false"), sdk)
    assert credential.verify(
        dict(params, returnRateLimits="false"),
        private.sign(b"apiKey=k&returnRateLimits=false&timestamp=1"),
    )


# -- RSA -------------------------------------------------------------------------------------


def test_rsa_round_trip(rsa_pair: tuple[str, str]) -> None:
    private = load_private_key(rsa_pair[0])
    public = load_public_key(rsa_pair[1])
    assert (private.kind, public.kind) == ("rsa", "rsa")
    assert private.public_pem() == rsa_pair[1]
    signature = private.sign(PAYLOAD)
    assert len(base64.b64decode(signature)) == 256
    assert public.verify([PAYLOAD], signature)
    assert public.verify([PAYLOAD], quote(signature, safe=""))
    assert not public.verify([PAYLOAD.replace(b"100", b"101")], signature)
    assert not public.verify([PAYLOAD], signature[:-8])
    assert not public.verify([PAYLOAD], base64.b64encode(b"\0" * 256).decode())


def test_rsa_module_functions_and_credential(rsa_pair: tuple[str, str]) -> None:
    private = load_private_key(rsa_pair[0])
    signature = rsa_sign(private.key, PAYLOAD)  # type: ignore[arg-type]
    public_key = load_public_key(rsa_pair[1]).key
    assert verify_rsa(public_key, [PAYLOAD], signature)  # type: ignore[arg-type]
    assert not verify_rsa(public_key, [PAYLOAD], "not base64")  # type: ignore[arg-type]
    credential = PublicKeyCredential(rsa_pair[1])
    assert credential.kind == "rsa"
    assert credential.verify(VECTOR_PARAMS, private.sign(PAYLOAD))


def test_rsa_wrong_key(rsa_pair: tuple[str, str], ed25519_pair: tuple[str, str]) -> None:
    ed_signature = load_private_key(ed25519_pair[0]).sign(PAYLOAD)
    assert not load_public_key(rsa_pair[1]).verify([PAYLOAD], ed_signature)
    rsa_signature = load_private_key(rsa_pair[0]).sign(PAYLOAD)
    assert not load_public_key(ed25519_pair[1]).verify([PAYLOAD], rsa_signature)


# -- key loading -----------------------------------------------------------------------------


def test_encrypted_private_key(ed25519_pair: tuple[str, str]) -> None:
    key = load_private_key(ed25519_pair[0]).key
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    assert load_private_key(encrypted, "s3cret").public_pem() == ed25519_pair[1]
    assert load_private_key(encrypted.decode(), b"s3cret").kind == "ed25519"
    with pytest.raises(ValueError, match="password"):
        load_private_key(encrypted)
    with pytest.raises(ValueError, match="wrong password"):
        load_private_key(encrypted, "nope")
    with pytest.raises(ValueError, match="password"):
        load_private_key(ed25519_pair[0], "unneeded")


@pytest.mark.parametrize(
    "pem",
    ["", "garbage", b"\x00\x01", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"],
)
def test_garbage_keys_raise_value_error(pem: str | bytes) -> None:
    with pytest.raises(ValueError, match="not a PEM public key"):
        load_public_key(pem)
    with pytest.raises(ValueError, match="not a PEM private key"):
        load_private_key(pem)


def test_unsupported_key_types_raise_value_error() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="unsupported public key type"):
        load_public_key(public_pem)
    with pytest.raises(ValueError, match="unsupported private key type"):
        load_private_key(private_pem)
    with pytest.raises(ValueError):
        PublicKeyCredential(public_pem)


def test_private_key_repr_hides_the_key(ed25519_pair: tuple[str, str]) -> None:
    private = load_private_key(ed25519_pair[0])
    assert isinstance(private, PrivateKey)
    assert repr(private) == "PrivateKey(kind='ed25519')"
    assert repr(load_public_key(ed25519_pair[1])) == "PublicKey(kind='ed25519')"


# -- generated secrets ---------------------------------------------------------------------------


@pytest.mark.parametrize("generate", [generate_hmac_secret, generate_api_key])
def test_generated_secrets_look_like_binance_ones(generate) -> None:
    values = {generate() for _ in range(20)}
    assert len(values) == 20
    for value in values:
        assert len(value) == 64
        assert value.isascii() and value.isalnum()


def test_ed25519_without_pynacl_uses_cryptography(
    ed25519_pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from posrisk.protocol import signing

    monkeypatch.setattr(signing, "_NaclVerifyKey", None)
    public = load_public_key(ed25519_pair[1])
    signature = load_private_key(ed25519_pair[0]).sign(PAYLOAD)
    assert public.verify([PAYLOAD], signature)
    assert not public.verify([PAYLOAD + b"x"], signature)


@given(st.binary(max_size=200), st.binary(max_size=300))
def test_the_precomputed_hmac_is_hmac_sha256(key: bytes, payload: bytes) -> None:
    expected = hmac.new(key, payload, hashlib.sha256).hexdigest()
    credential = HmacCredential(key)
    assert credential.verify_payload(payload, expected)
    assert credential.verify_payload(payload, expected.upper())
    assert not credential.verify_payload(payload + b"x", expected)


# REST totalParams vectors (Binance's authentication examples 1 and 3).
REST_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
ONE_PART = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
    "&recvWindow=5000&timestamp=1591702613943"
)
ONE_PART_SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
QUERY = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
BODY = "quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943"
MIXED_SIGNATURE = "30baaf0fab549bbeda7f5ef201898b34122da25fd23c646cac2c529aebe670a4"


def test_total_params_vectors_in_the_query_or_the_body_or_both() -> None:
    key = HmacCredential(REST_SECRET)
    assert hmac_signature(REST_SECRET, ONE_PART.encode()) == ONE_PART_SIGNATURE
    assert hmac_signature(REST_SECRET, (QUERY + BODY).encode()) == MIXED_SIGNATURE
    signed = f"{ONE_PART}&signature={ONE_PART_SIGNATURE}"
    assert key.verify_payloads(total_params_payloads(signed, ""), ONE_PART_SIGNATURE)
    assert key.verify_payloads(total_params_payloads("", signed), ONE_PART_SIGNATURE)
    assert key.verify_payloads(
        total_params_payloads(QUERY, f"{BODY}&signature={MIXED_SIGNATURE}"),
        MIXED_SIGNATURE.upper(),
    )
    # The two parts joined with "&" sign another payload: a client may have signed that.
    assert next(iter(total_params_payloads(QUERY, BODY))) == (QUERY + BODY).encode()
    # Same params in another order: another payload, refused (totalParams is not sorted).
    assert not key.verify_payloads(total_params_payloads(QUERY, BODY), ONE_PART_SIGNATURE)


def test_total_params_forms_exact_then_joined_then_decoded() -> None:
    forms = list(total_params_payloads("a=1&signature=x", "b=%2F+c&signature=y"))
    assert forms == [b"a=1b=%2F+c", b"a=1&b=%2F+c", b"a=1&b=/ c"]
    assert list(total_params_payloads("a=1", "")) == [b"a=1"]
    ed_private, ed_public = generate_ed25519()
    signature = load_private_key(ed_private).sign(b"a=1&b=/ c")
    assert PublicKeyCredential(ed_public).verify_payloads(
        total_params_payloads("a=1", "b=%2F+c"), quote(signature, safe="")
    )
