"""Who may do what in a decision: the one permission policy.

Services enforce it (``require`` raises :class:`~app.domain.errors.Forbidden`); the web layer
asks it (``allows``) only to decide which controls to show, never to grant anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain.errors import Forbidden, ServiceError
from app.domain.vocabulary import DecisionStatus, Role


class Action(StrEnum):
    VIEW = "view"
    SCORE = "score"
    MARK_DONE = "mark_done"
    PROPOSE_OPTION = "propose_option"
    EDIT_OPTION = "edit_option"
    WITHDRAW_OPTION = "withdraw_option"
    RESTORE_OPTION_TEXT = "restore_option_text"
    EDIT_CRITERIA = "edit_criteria"
    EDIT_DECISION = "edit_decision"
    CHANGE_SETTINGS = "change_settings"
    MANAGE_MEMBERS = "manage_members"
    REVEAL_ROUND = "reveal_round"
    OPEN_ROUND = "open_round"
    ISSUE_MEMO = "issue_memo"
    CREATE_DECISION = "create_decision"
    VIEW_AUDIT = "view_audit"
    COMMENT = "comment"


# The least role that may take each action (analysts editing options: see ``allows``).
_LEAST_ROLE: dict[Action, Role] = {
    Action.VIEW: Role.OBSERVER,
    Action.PROPOSE_OPTION: Role.ANALYST,
    Action.EDIT_OPTION: Role.ANALYST,
    Action.WITHDRAW_OPTION: Role.FACILITATOR,
    Action.RESTORE_OPTION_TEXT: Role.FACILITATOR,
    Action.EDIT_CRITERIA: Role.FACILITATOR,
    Action.EDIT_DECISION: Role.FACILITATOR,
    Action.CHANGE_SETTINGS: Role.FACILITATOR,
    Action.MANAGE_MEMBERS: Role.FACILITATOR,
    Action.REVEAL_ROUND: Role.FACILITATOR,
    Action.OPEN_ROUND: Role.FACILITATOR,
    Action.ISSUE_MEMO: Role.FACILITATOR,
    # A facilitator reads their decision's audit log; administrators read all of it.
    Action.VIEW_AUDIT: Role.FACILITATOR,
    Action.COMMENT: Role.ANALYST,
}
# Actions only analysts take (a facilitator does not score).
_ANALYSTS_ONLY = frozenset({Action.SCORE, Action.MARK_DONE})
# Actions still allowed while a decision is closed (reopening it, issuing its memo).
_WHILE_CLOSED = frozenset({Action.VIEW, Action.CHANGE_SETTINGS, Action.ISSUE_MEMO})

_REFUSALS: dict[Action, str] = {
    Action.SCORE: "Only analysts score options.",
    Action.MARK_DONE: "Only analysts mark their scoring done.",
    Action.EDIT_OPTION: (
        "Only the facilitator or the analyst who proposed it can edit this option."
    ),
    Action.CREATE_DECISION: "Only administrators start decisions.",
    Action.COMMENT: "Observers read the discussion; analysts and the facilitator write in it.",
    Action.VIEW_AUDIT: (
        "Only administrators read the whole audit log; facilitators read their decision's."
    ),
}


@dataclass(frozen=True)
class Actor:
    """A user acting in one decision with one role."""

    user_id: int
    role: Role


def allows(role: Role, action: Action, *, is_author: bool = False) -> bool:
    """Whether ``role`` may take ``action`` (``is_author``: the actor proposed the option)."""
    if action in _ANALYSTS_ONLY:
        return role is Role.ANALYST
    if action is Action.EDIT_OPTION:
        return role is Role.FACILITATOR or (role is Role.ANALYST and is_author)
    least = _LEAST_ROLE.get(action)
    return least is not None and role.level >= least.level


def require(actor: Actor, action: Action, *, is_author: bool = False) -> None:
    """Raise Forbidden unless the actor's role allows the action."""
    if not allows(actor.role, action, is_author=is_author):
        raise Forbidden(
            _REFUSALS.get(
                action, f"Your role in this decision ({actor.role.value}) does not allow that."
            )
        )


def require_admin(is_admin: bool, action: Action = Action.CREATE_DECISION) -> None:
    if not is_admin:
        raise Forbidden(_REFUSALS.get(action, "Only administrators may do that."))


def require_open(status: str, action: Action) -> None:
    """A closed decision is frozen: refuse every change but reopening it and issuing memos."""
    if status == DecisionStatus.CLOSED.value and action not in _WHILE_CLOSED:
        raise ServiceError(
            "This decision is closed. The facilitator can reopen it (status: scoring) to "
            "make changes.",
            status=409,
        )
