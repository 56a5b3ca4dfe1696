"""Password hashing with argon2id (OWASP parameters; stronger than Werkzeug's default scrypt).

The cost is read once from the environment, with the production values as defaults:

- ``PASSWORD_HASH_TIME_COST``: argon2id passes (default 3).
- ``PASSWORD_HASH_MEMORY_KIB``: argon2id memory in KiB (default 65536, i.e. 64 MiB).

Only the test suite lowers them. A stored hash made with other parameters is re-hashed at the
next successful login (see :func:`needs_rehash`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class HashParameters(NamedTuple):
    time_cost: int
    memory_cost: int
    parallelism: int


DEFAULT_PARAMETERS = HashParameters(time_cost=3, memory_cost=65536, parallelism=1)


def hash_parameters(environ: Mapping[str, str]) -> HashParameters:
    """The argon2id parameters that ``environ`` asks for (production defaults when unset)."""
    return HashParameters(
        time_cost=_positive(environ, "PASSWORD_HASH_TIME_COST", DEFAULT_PARAMETERS.time_cost),
        memory_cost=_positive(
            environ, "PASSWORD_HASH_MEMORY_KIB", DEFAULT_PARAMETERS.memory_cost, minimum=8
        ),
        parallelism=DEFAULT_PARAMETERS.parallelism,
    )


def _positive(environ: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}.")
    return value


PARAMETERS = hash_parameters(os.environ)
_hasher = PasswordHasher(
    time_cost=PARAMETERS.time_cost,
    memory_cost=PARAMETERS.memory_cost,
    parallelism=PARAMETERS.parallelism,
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
