"""The wire protocol, sans I/O: bytes and params in, values and bytes out.

No sockets, no asyncio, no wall clock: every time is an injected integer of
milliseconds. Where each rule lives:

- ``errors``    ``WireError`` and its constructors, one per meaning; ``ERROR_CATALOGUE``
                (SPEC §6, §12)
- ``envelope``  ``parse_request`` (with the limits of one request: params, lengths,
                structure) and the response/event encoders: ids echoed with their JSON
                type, ``rateLimits``, the ``serverShutdown`` frame (SPEC §2, §7, §12)
- ``frames``    WebSocket messages from frames: fragments, reserved bits, the limits of
                one message (RFC 6455 §5)
- ``params``    typed param readers (LONG, BOOLEAN, symbol, apiKey, recvWindow) and the
                timestamp window (SPEC §2, §5, §12)
- ``payload``   what a signature covers: the canonical payload and every form real
                clients sign (SPEC §3)
- ``signing``   HMAC / Ed25519 / RSA sign and verify, key loading and generation,
                credentials (SPEC §3)
- ``ratelimit`` clock-aligned request-weight windows, 429 → 418 decisions and the ban
                ladder (SPEC §7, §12)
- ``streams``   stream URLs: the forms, names, listenKeys, ``events=``, path categories
- ``subscriptions`` a stream connection's frames: SUBSCRIBE, UNSUBSCRIBE,
                LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY and their errors
"""

from .envelope import (
    MAX_PARAM_LENGTH,
    MAX_PARAMS,
    MAX_REQUEST_BYTES,
    SERVER_SHUTDOWN,
    Request,
    RequestId,
    encode_error,
    encode_event,
    encode_result,
    parse_request,
    rate_limits_entry,
    server_shutdown,
)
from .errors import ERROR_CATALOGUE, ErrorTemplate, WireError
from .frames import BINARY, DEFAULT_MAX_FRAGMENTS, PROTOCOL_ERROR, Fail, MessageAssembler
from .limits import (
    Banned,
    ConnectionAttempts,
    Limiter,
    Outcome,
    RequestWeightLimiter,
)
from .order_limits import (
    BATCH_COST,
    ORDER_COST,
    ORDER_WINDOWS,
    OrderCount,
    OrderCounter,
    OrderLimiter,
    OrderWindow,
)
from .params import (
    DEFAULT_RECV_WINDOW,
    MAX_RECV_WINDOW,
    check_timestamp,
    read_api_key,
    read_bool,
    read_decimal,
    read_long,
    read_recv_window,
    read_signature,
    read_symbol,
)
from .payload import MAX_URLENCODED, canonical_payload, signature_payloads, total_params_payloads
from .ratelimit import (
    DEFAULT_METHOD_WEIGHTS,
    Allow,
    Ban,
    Decision,
    LimitRules,
    Throttle,
    WindowState,
    ban_duration,
    decide,
    interval_label,
    retry_after,
    window_start,
)
from .signing import (
    Credential,
    HmacCredential,
    KeyKind,
    PrivateKey,
    PublicKey,
    PublicKeyCredential,
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
    verify_ed25519,
    verify_hmac,
    verify_rsa,
)

__all__ = [
    "BATCH_COST",
    "BINARY",
    "DEFAULT_MAX_FRAGMENTS",
    "DEFAULT_METHOD_WEIGHTS",
    "DEFAULT_RECV_WINDOW",
    "ERROR_CATALOGUE",
    "MAX_PARAMS",
    "MAX_PARAM_LENGTH",
    "MAX_RECV_WINDOW",
    "MAX_REQUEST_BYTES",
    "MAX_URLENCODED",
    "ORDER_COST",
    "ORDER_WINDOWS",
    "PROTOCOL_ERROR",
    "SERVER_SHUTDOWN",
    "Allow",
    "Ban",
    "Banned",
    "ConnectionAttempts",
    "Credential",
    "Decision",
    "ErrorTemplate",
    "Fail",
    "HmacCredential",
    "KeyKind",
    "LimitRules",
    "Limiter",
    "MessageAssembler",
    "OrderCount",
    "OrderCounter",
    "OrderLimiter",
    "OrderWindow",
    "Outcome",
    "PrivateKey",
    "PublicKey",
    "PublicKeyCredential",
    "Request",
    "RequestId",
    "RequestWeightLimiter",
    "Throttle",
    "WindowState",
    "WireError",
    "ban_duration",
    "canonical_payload",
    "check_timestamp",
    "decide",
    "decode_signature",
    "ed25519_sign",
    "encode_error",
    "encode_event",
    "encode_result",
    "generate_api_key",
    "generate_ed25519",
    "generate_hmac_secret",
    "generate_rsa",
    "hmac_signature",
    "interval_label",
    "load_private_key",
    "load_public_key",
    "parse_request",
    "rate_limits_entry",
    "read_api_key",
    "read_bool",
    "read_decimal",
    "read_long",
    "read_recv_window",
    "read_signature",
    "read_symbol",
    "retry_after",
    "rsa_sign",
    "server_shutdown",
    "signature_payloads",
    "total_params_payloads",
    "verify_ed25519",
    "verify_hmac",
    "verify_rsa",
    "window_start",
]
