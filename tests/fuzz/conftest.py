"""The fuzz tests use the service tests' keys and known scenario."""

from ..service.conftest import keys

__all__ = ["keys"]
