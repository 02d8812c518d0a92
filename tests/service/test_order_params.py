"""The order params' reading helpers that the service tests do not reach directly."""

from __future__ import annotations

import re
import secrets
import string
from unittest import mock

from posrisk.service.order_params import new_client_id


def test_a_default_client_id_is_22_base62_characters_and_varies_in_every_position() -> None:
    ids = [new_client_id() for _ in range(3000)]
    assert all(re.fullmatch(r"[A-Za-z0-9]{22}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    for position in range(22):
        assert len({i[position] for i in ids}) > 50, position
    assert set("".join(ids)) == set(string.ascii_letters + string.digits)


def test_a_default_client_id_takes_one_draw_from_the_os() -> None:
    # It was 22 draws (one secrets.choice per character): a syscall each, per order.
    with mock.patch.object(secrets, "randbits", wraps=secrets.randbits) as draws:
        new_client_id()
    assert draws.call_count == 1
