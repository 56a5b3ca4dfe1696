"""The suite is steady: property tests run under the "ci" profile unless told otherwise."""

from __future__ import annotations

import os

from hypothesis import settings


def test_the_ci_profile_has_no_deadline_and_the_same_examples_every_run() -> None:
    ci = settings.get_profile("ci")
    assert ci.deadline is None
    assert ci.derandomize
    assert ci.print_blob


def test_the_ci_profile_is_the_default() -> None:
    expected = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    assert settings.default.deadline == expected.deadline
    assert settings.default.derandomize == expected.derandomize
