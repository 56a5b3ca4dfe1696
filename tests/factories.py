"""Plain factory functions for tests: users, a decision with members, options and criteria."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from sqlmodel import Session

from app.adapters.passwords import hash_password
from app.db.models import User
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import options as option_service

PASSWORD = "correct horse battery"


@cache
def password_hash() -> str:
    """Hash once per test process (the suite lowers argon2id's cost, see tests/conftest.py)."""
    return hash_password(PASSWORD)


def make_user(
    session: Session, username: str, *, admin: bool = False, name: str | None = None
) -> User:
    user = User(
        username=username,
        display_name=name or username.replace("-", " ").title(),
        password_hash=password_hash(),
        is_admin=admin,
    )
    session.add(user)
    session.flush()
    return user


@dataclass
class World:
    """A small decision: ids of its people, options and criteria."""

    decision_id: int
    users: dict[str, int] = field(default_factory=dict)
    options: list[int] = field(default_factory=list)
    criteria: list[int] = field(default_factory=list)


def make_world(session: Session, *, scale: tuple[int, int] = (1, 5)) -> World:
    """facilitator, analyst-a, analyst-b, observer, outsider (not a member); 2 options; 2 criteria;
    scoring started (open)."""
    users = {
        "facilitator": make_user(session, "facilitator", admin=True),
        "analyst-a": make_user(session, "analyst-a"),
        "analyst-b": make_user(session, "analyst-b"),
        "observer": make_user(session, "observer"),
        "outsider": make_user(session, "outsider"),
    }
    decision = decision_service.create_decision(
        session=session,
        actor=users["facilitator"],
        data={
            "title": "Test decision",
            "question": "What should we do?",
            "background": "Some *background*.",
            "scale_min": scale[0],
            "scale_max": scale[1],
        },
    )
    for username, role in (
        ("analyst-a", "analyst"),
        ("analyst-b", "analyst"),
        ("observer", "observer"),
    ):
        decision_service.set_member(
            session=session,
            decision_id=decision.id,
            actor_id=users["facilitator"].id,
            username=username,
            role=role,
        )
    world = World(decision_id=decision.id, users={k: u.id for k, u in users.items()})
    for title in ("Intelligence sharing", "Joint drills"):
        option = option_service.create_option(
            session=session,
            decision_id=decision.id,
            actor_id=users["facilitator"].id,
            data={"title": title, "summary": f"{title} summary"},
        )
        world.options.append(option.id)
    for name, direction, weight in (
        ("Acceptability", "benefit", 60),
        ("Escalation risk", "cost", 40),
    ):
        criterion = criteria_service.create_criterion(
            session=session,
            decision_id=decision.id,
            actor_id=users["facilitator"].id,
            data={"name": name, "direction": direction, "weight": weight},
        )
        world.criteria.append(criterion.id)
    decision_service.start_scoring(
        session=session, decision=decision, actor_id=users["facilitator"].id
    )
    return world
