"""Password hashing: production parameters unless the environment lowers them (tests do)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from app.adapters import passwords
from app.adapters.passwords import DEFAULT_PARAMETERS, HashParameters, hash_parameters

ROOT = Path(__file__).resolve().parents[2]


def test_the_production_parameters_are_the_defaults() -> None:
    assert HashParameters(time_cost=3, memory_cost=65536, parallelism=1) == DEFAULT_PARAMETERS
    assert hash_parameters({}) == DEFAULT_PARAMETERS
    assert hash_parameters({"PASSWORD_HASH_TIME_COST": "", "PASSWORD_HASH_MEMORY_KIB": " "}) == (
        DEFAULT_PARAMETERS
    )


def test_the_module_hashes_with_the_production_parameters_when_nothing_is_set() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PASSWORD_HASH_TIME_COST", "PASSWORD_HASH_MEMORY_KIB")
    }
    script = (
        "from app.adapters import passwords as p; "
        "print(tuple(p.PARAMETERS)); print(p.hash_password('a long password'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    parameters, stored = result.stdout.splitlines()
    assert parameters == "(3, 65536, 1)"
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=1$")


def test_the_environment_lowers_the_cost() -> None:
    lowered = {"PASSWORD_HASH_TIME_COST": "1", "PASSWORD_HASH_MEMORY_KIB": "8"}
    assert hash_parameters(lowered) == HashParameters(time_cost=1, memory_cost=8, parallelism=1)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PASSWORD_HASH_TIME_COST", "three", "whole number"),
        ("PASSWORD_HASH_TIME_COST", "0", "at least 1"),
        ("PASSWORD_HASH_MEMORY_KIB", "4", "at least 8"),
    ],
)
def test_a_bad_setting_is_refused_with_its_name(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        hash_parameters({name: value})
    assert name in str(refused.value)


def test_the_suite_runs_with_cheap_hashes() -> None:
    """tests/conftest.py lowers the cost for the whole run (and the browser tests' server)."""
    assert hash_parameters(os.environ) == passwords.PARAMETERS
    assert passwords.PARAMETERS.memory_cost < DEFAULT_PARAMETERS.memory_cost
    used = passwords.PARAMETERS
    assert passwords.hash_password("x" * 12).startswith(
        f"$argon2id$v=19$m={used.memory_cost},t={used.time_cost},p={used.parallelism}$"
    )


def test_a_hash_made_with_other_parameters_verifies_and_is_due_for_rehash() -> None:
    stronger = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1).hash("a long password")
    assert passwords.verify_password(stronger, "a long password")
    assert not passwords.verify_password(stronger, "another password")
    assert passwords.needs_rehash(stronger)
    assert not passwords.needs_rehash(passwords.hash_password("a long password"))
    assert not passwords.verify_password("not a hash", "a long password")
