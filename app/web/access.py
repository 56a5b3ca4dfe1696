"""Loading a decision for the logged-in user and checking their role, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, g, request

from app.db.models import Decision, DecisionStatus, Option, Role, User
from app.services.decisions import role_of
from app.web.transaction import get_session


@dataclass(frozen=True)
class Access:
    decision: Decision
    role: Role
    user: User

    @property
    def is_facilitator(self) -> bool:
        return self.role is Role.FACILITATOR

    @property
    def is_analyst(self) -> bool:
        return self.role is Role.ANALYST

    def can_edit_option(self, option: Option) -> bool:
        """Facilitators edit any option; analysts edit the options they proposed."""
        return self.is_facilitator or (self.is_analyst and option.created_by == self.user.id)


def load_decision(
    decision_id: int, need: Role = Role.OBSERVER, *, allow_closed: bool = False
) -> Access:
    """The decision if the user is a member (404 otherwise) with at least ``need`` (403).

    A closed decision is frozen: any state-changing request is refused (409) unless the
    endpoint says ``allow_closed`` (changing the status back, issuing memos).
    """
    session = get_session()
    role = role_of(session=session, decision_id=decision_id, user_id=g.user.id)
    decision = session.get(Decision, decision_id) if role else None
    if role is None or decision is None:
        abort(404, "That decision does not exist or you are not a member of it.")
    g.decision = decision  # lets an error page inside this decision keep its navigation
    if role.level < need.level:
        abort(403, f"Your role in this decision ({role.value}) does not allow that.")
    if (
        request.method not in {"GET", "HEAD", "OPTIONS"}
        and decision.status == DecisionStatus.CLOSED.value
        and not allow_closed
    ):
        abort(
            409,
            "This decision is closed. The facilitator can reopen it (status: scoring) to make changes.",
        )
    return Access(decision=decision, role=role, user=g.user)
