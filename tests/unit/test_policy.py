"""The permission policy as a table: every role against every action."""

from __future__ import annotations

import pytest

from app.domain.errors import Forbidden, ServiceError
from app.domain.policy import Action, Actor, allows, require, require_admin, require_open
from app.domain.vocabulary import Role

OBS, A, F = Role.OBSERVER, Role.ANALYST, Role.FACILITATOR

# action → roles allowed (for EDIT_OPTION: analysts only for options they proposed)
EXPECTED: dict[Action, set[Role]] = {
    Action.VIEW: {OBS, A, F},
    Action.SCORE: {A},
    Action.MARK_DONE: {A},
    Action.PROPOSE_OPTION: {A, F},
    Action.EDIT_OPTION: {F},
    Action.WITHDRAW_OPTION: {F},
    Action.RESTORE_OPTION_TEXT: {F},
    Action.EDIT_CRITERIA: {F},
    Action.EDIT_DECISION: {F},
    Action.CHANGE_SETTINGS: {F},
    Action.MANAGE_MEMBERS: {F},
    Action.REVEAL_ROUND: {F},
    Action.VIEW_AUDIT: {F},
    Action.OPEN_ROUND: {F},
    Action.ISSUE_MEMO: {F},
    Action.COMMENT: {A, F},
    Action.CREATE_DECISION: set(),  # an administrator's right, not a role's
}


def test_every_action_has_an_expectation() -> None:
    assert set(EXPECTED) == set(Action)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_roles_against_actions(role: Role, action: Action) -> None:
    allowed = role in EXPECTED[action]
    assert allows(role, action) is allowed
    actor = Actor(user_id=1, role=role)
    if allowed:
        require(actor, action)
    else:
        with pytest.raises(Forbidden) as caught:
            require(actor, action)
        assert caught.value.status == 403
        assert caught.value.message


@pytest.mark.parametrize(
    ("role", "is_author", "allowed"),
    [(A, True, True), (A, False, False), (OBS, True, False), (F, False, True)],
)
def test_analysts_edit_the_options_they_proposed(
    role: Role, is_author: bool, allowed: bool
) -> None:
    assert allows(role, Action.EDIT_OPTION, is_author=is_author) is allowed


def test_only_administrators_create_decisions() -> None:
    require_admin(True)
    with pytest.raises(Forbidden):
        require_admin(False)


@pytest.mark.parametrize("action", list(Action))
def test_a_closed_decision_allows_only_reading_reopening_and_memos(action: Action) -> None:
    require_open("scoring", action)
    if action in {Action.VIEW, Action.CHANGE_SETTINGS, Action.ISSUE_MEMO}:
        require_open("closed", action)
    else:
        with pytest.raises(ServiceError) as caught:
            require_open("closed", action)
        assert caught.value.status == 409
