"""Loading a decision for the logged-in user, in one place: membership (404) and the
permission policy (403, 409 while closed) for the action the request takes."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

from app.db.models import Decision, Option, Role, User
from app.domain import policy
from app.domain.errors import NotFound
from app.domain.policy import Action, Actor
from app.services.permissions import role_of
from app.web.transaction import get_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Access:
    decision: Decision
    role: Role
    user: User

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user_id, role=self.role)

    @property
    def user_id(self) -> int:
        assert self.user.id is not None
        return self.user.id

    @property
    def is_facilitator(self) -> bool:
        return self.role is Role.FACILITATOR

    @property
    def is_analyst(self) -> bool:
        return self.role is Role.ANALYST

    def can(self, action: Action) -> bool:
        return policy.allows(self.role, action)

    def can_edit_option(self, option: Option) -> bool:
        """Facilitators edit any option; analysts edit the options they proposed."""
        return policy.allows(
            self.role, Action.EDIT_OPTION, is_author=option.created_by == self.user.id
        )


def load_decision(decision_id: int, action: Action = Action.VIEW) -> Access:
    """The decision if the user is a member and it is not deleted (404 otherwise) whose
    role allows ``action`` (403); a closed decision refuses every change but reopening and
    memos (409)."""
    session = get_session()
    user: User = g.user
    assert user.id is not None
    role = role_of(session=session, decision_id=decision_id, user_id=user.id)
    decision = session.get(Decision, decision_id) if role else None
    if role is None or decision is None or decision.deleted:
        # A deleted draft is gone for everyone, its facilitator included.
        raise NotFound("That decision does not exist or you are not a member of it.")
    g.decision = decision  # lets an error page inside this decision keep its navigation
    # Whether an analyst wrote the option is checked with the option; a role that may not
    # edit even its own options is refused here, before the option or the status counts.
    if action is not Action.EDIT_OPTION or not policy.allows(role, action, is_author=True):
        policy.require(Actor(user.id, role), action)
    if request.method not in SAFE_METHODS:
        policy.require_open(decision.status, action)
    return Access(decision=decision, role=role, user=user)
