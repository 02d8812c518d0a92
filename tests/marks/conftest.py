from ..service.conftest import env, keys, public_keys

__all__ = ["env", "keys", "public_keys"]
