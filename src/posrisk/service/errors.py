"""Refusals of the service layer that are not the engine's: unknown accounts, duplicates,
malformed input. Each carries a Binance-style code and an HTTP status for the admin API."""

from __future__ import annotations

from ..errors import PosriskError

__all__ = ["AccountExists", "ServiceError", "UnknownAccount", "UnknownKey"]


class ServiceError(PosriskError):
    """``code``/``msg`` as on the wire; ``status`` for the admin API."""

    def __init__(self, msg: str, *, code: int = -1130, status: int = 400) -> None:
        super().__init__(msg)
        self.msg = msg
        self.code = code
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, status={self.status}, msg={self.msg!r})"


class UnknownAccount(ServiceError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Account {name!r} does not exist.", status=404)


class AccountExists(ServiceError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Account {name!r} already exists.", status=409)


class UnknownKey(ServiceError):
    def __init__(self, api_key: str) -> None:
        super().__init__(f"API key {api_key!r} does not exist.", code=-2015, status=404)
