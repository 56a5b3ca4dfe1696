"""Decisions, their members, and how much one decision may hold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, SQLModel, col

from app.db.models import (
    Criterion,
    Decision,
    DecisionCreate,
    DecisionSettings,
    DecisionStatus,
    Member,
    Option,
    Role,
    Round,
    User,
)
from app.db.schemas import parse
from app.domain.errors import InvalidInput, ServiceError
from app.domain.policy import Action, require_admin
from app.domain.vocabulary import CriterionStatus, OptionStatus, Paper, ScoringMode
from app.services import audit, notifications, revisions
from app.services.permissions import authorize, lock_decision

# How much one decision may hold (each page and every analysis grows with these). Withdrawn
# options count: they stay on the overview and in history, and are never deleted.
MAX_OPTIONS = 60
MAX_CRITERIA = 30
MAX_MEMBERS = 300  # a facilitated session of 200 analysts and their observers fits


def decision_state(decision: Decision) -> dict[str, Any]:
    """What a revision records of a decision (rebuilt by history as ``DecisionSettings``)."""
    return DecisionSettings.model_validate(decision).model_dump()


def check_room(
    *, session: Session, decision_id: int, model: type[SQLModel], limit: int, field: str, noun: str
) -> None:
    """Refuse (422) adding one more ``model`` row to a decision that holds ``limit`` already.

    The caller holds the decision's lock (:func:`lock_decision`), so two additions at once
    cannot both pass the count."""
    table: Any = model
    count = session.scalar(
        select(func.count()).select_from(model).where(table.decision_id == decision_id)
    )
    if (count or 0) >= limit:
        raise InvalidInput(
            {field: f"A decision can hold at most {limit} {noun}; this one has {count}."}
        )


def decisions_for_user(*, session: Session, user_id: int) -> list[tuple[Decision, str]]:
    """The decisions the user is a member of, with their role (archived ones included;
    deleted ones never)."""
    stmt = (
        select(Decision, col(Member.role))
        .join(Member, col(Member.decision_id) == col(Decision.id))
        .where(col(Member.user_id) == user_id, col(Decision.deleted).is_(False))
        .order_by(col(Decision.id))
    )
    return [(d, role) for d, role in session.execute(stmt).all()]


def create_decision(*, session: Session, actor: User, data: dict[str, Any]) -> Decision:
    require_admin(actor.is_admin)
    valid, errors = parse(DecisionCreate, data)
    if not errors and valid.scale_max <= valid.scale_min:
        errors = {"scale_max": "Scale maximum must be greater than the scale minimum."}
    mode = str(data.get("scoring_mode") or ScoringMode.OPEN.value)
    if not errors and mode not in {m.value for m in ScoringMode}:
        errors = {"scoring_mode": "Scoring must be open or blind."}
    if errors:
        raise InvalidInput(errors)
    decision = Decision(
        title=valid.title,
        question=valid.question,
        background=valid.background,
        scale_min=valid.scale_min,
        scale_max=valid.scale_max,
        classification=valid.classification.upper(),
        # A new decision is a draft: nobody scores until the facilitator starts scoring, so
        # blind mode is chosen here, before any analyst could see another's scores.
        status=DecisionStatus.DRAFT.value,
        scoring_mode=mode,
        created_by=actor.id,
    )
    session.add(decision)
    session.flush()
    session.add(Member(decision_id=decision.id, user_id=actor.id, role=Role.FACILITATOR.value))
    session.add(Round(decision_id=decision.id, number=1, opened_by=actor.id))
    revisions.record(
        session=session,
        decision_id=decision.id,
        actor_id=actor.id,
        entity="decision",
        entity_id=decision.id,
        action="create",
        before=None,
        after=decision_state(decision),
    )
    audit.record(
        session=session,
        kind=audit.Kind.ROLE_CHANGED,
        actor_id=actor.id,
        decision_id=decision.id,
        details={"member": actor.username, "role_before": None, "role": Role.FACILITATOR.value},
    )
    return decision


@dataclass(frozen=True)
class SetupStep:
    """One item of a draft decision's set-up checklist."""

    key: str  # question, options, criteria, analysts, mode
    label: str
    done: bool
    detail: str


def setup_checklist(*, session: Session, decision: Decision) -> list[SetupStep]:
    """What a draft decision needs before scoring starts, each step done or not."""
    options = session.scalar(
        select(func.count())
        .select_from(Option)
        .where(
            col(Option.decision_id) == decision.id,
            col(Option.status) == OptionStatus.ACTIVE.value,
        )
    )
    weights = [
        w
        for (w,) in session.execute(
            select(col(Criterion.weight)).where(
                col(Criterion.decision_id) == decision.id,
                col(Criterion.status) == CriterionStatus.ACTIVE.value,
            )
        ).all()
    ]
    analysts = session.scalar(
        select(func.count())
        .select_from(Member)
        .where(col(Member.decision_id) == decision.id, col(Member.role) == Role.ANALYST.value)
    )
    weighted = sum(1 for w in weights if w > 0)
    return checklist_steps(
        decision,
        options=options or 0,
        weighted=weighted,
        unweighted=len(weights) - weighted,
        analysts=analysts or 0,
    )


def checklist_steps(
    decision: Decision, *, options: int, weighted: int, unweighted: int, analysts: int
) -> list[SetupStep]:
    """The set-up checklist from counts (the home page counts many decisions at once)."""
    blind = decision.scoring_mode == ScoringMode.BLIND.value
    return [
        SetupStep(
            "question",
            "State the question",
            bool(decision.question.strip()),
            "stated" if decision.question.strip() else "no question yet",
        ),
        SetupStep(
            "options",
            "Add at least two options",
            options >= 2,
            f"{options} option{'' if options == 1 else 's'}",
        ),
        SetupStep(
            "criteria",
            "Add criteria with weights",
            weighted >= 1,
            f"{weighted} weighted criteri{'on' if weighted == 1 else 'a'}"
            + (f", {unweighted} at weight 0" if unweighted else ""),
        ),
        SetupStep(
            "analysts",
            "Add analysts",
            analysts >= 1,
            f"{analysts} analyst{'' if analysts == 1 else 's'}",
        ),
        SetupStep(
            "mode",
            "Choose open or blind scoring",
            True,
            "blind until the facilitator reveals each round" if blind else "open",
        ),
    ]


def start_scoring(*, session: Session, decision: Decision, actor_id: int) -> Decision:
    """Move a draft decision to scoring once its set-up checklist is complete.

    Refused with 409 when scoring has already started, 422 naming what is missing otherwise."""
    from app.services.scores import update_settings  # local: the scoring service imports us

    decision = lock_decision(session, decision)
    authorize(session=session, decision=decision, user_id=actor_id, action=Action.CHANGE_SETTINGS)
    if decision.status != DecisionStatus.DRAFT.value:
        raise ServiceError(
            f"Scoring cannot start: the decision is already {decision.status}.", status=409
        )
    missing = [
        s.label.lower() for s in setup_checklist(session=session, decision=decision) if not s.done
    ]
    if missing:
        raise InvalidInput(
            {"status": "Scoring cannot start yet. Still to do: " + "; ".join(missing) + "."}
        )
    started = update_settings(
        session=session,
        decision=decision,
        actor_id=actor_id,
        data={"status": DecisionStatus.SCORING.value},
    )
    notifications.round_opened(session, decision.id, started.current_round, actor_id=actor_id)
    return started


def update_decision(
    *, session: Session, decision: Decision, actor_id: int, data: dict[str, Any]
) -> Decision:
    """Edit title, question, background, marking, memo naming and paper; the scale only
    before scoring."""
    decision = lock_decision(session, decision)
    authorize(session=session, decision=decision, user_id=actor_id, action=Action.EDIT_DECISION)
    from app.db.models import Round, Score  # local: avoids a cycle with the scoring service

    merged = decision_state(decision) | {
        k: v for k, v in data.items() if k in DecisionCreate.model_fields
    }
    valid, errors = parse(DecisionCreate, merged)
    if not errors and valid.scale_max <= valid.scale_min:
        errors = {"scale_max": "Scale maximum must be greater than the scale minimum."}
    paper = str(data.get("paper") or decision.paper)
    if paper not in {p.value for p in Paper}:
        errors = {**errors, "paper": "Memo paper must be US Letter or A4."}
    if errors:
        raise InvalidInput(errors)
    scale_changes = (valid.scale_min, valid.scale_max) != (decision.scale_min, decision.scale_max)
    if scale_changes:
        scored = session.scalar(
            select(col(Score.round_id))
            .join(Round, col(Round.id) == col(Score.round_id))
            .where(col(Round.decision_id) == decision.id)
            .limit(1)
        )
        if scored is not None:
            raise InvalidInput({"scale_min": "The scale cannot change once scores exist."})
    before = decision_state(decision)
    decision.title = valid.title
    decision.question = valid.question
    decision.background = valid.background
    decision.classification = valid.classification.upper()
    decision.scale_min, decision.scale_max = valid.scale_min, valid.scale_max
    decision.paper = paper
    if "name_analysts_in_memo" in data or "title" in data:
        decision.name_analysts_in_memo = str(data.get("name_analysts_in_memo", "")).lower() in {
            "1",
            "true",
            "on",
            "yes",
        }
    record_decision_update(session=session, decision=decision, actor_id=actor_id, before=before)
    return decision


def record_decision_update(
    *, session: Session, decision: Decision, actor_id: int, before: dict[str, Any]
) -> None:
    """If the decision's settings changed since ``before``, bump its version and record it."""
    after = decision_state(decision)
    if after == before:
        return
    decision.version += 1
    session.add(decision)
    revisions.record(
        session=session,
        decision_id=decision.id,
        actor_id=actor_id,
        entity="decision",
        entity_id=decision.id,
        action="update",
        before=before,
        after=after,
    )


def delete_decision(*, session: Session, decision: Decision, actor_id: int) -> Decision:
    """A facilitator deletes a draft: it disappears from every page and URL for everyone
    (``Decision.deleted``). Nothing is erased: its revisions stay (history is append-only) and
    the deletion is one more. Refused (409) once scoring has started: archive it instead."""
    decision = lock_decision(session, decision)
    authorize(session=session, decision=decision, user_id=actor_id, action=Action.CHANGE_SETTINGS)
    if decision.status != DecisionStatus.DRAFT.value:
        raise ServiceError(
            "Only a draft can be deleted; this decision has started scoring. Archive it "
            "instead: it leaves the home page and can be restored.",
            status=409,
        )
    return _set_flag(session, decision, actor_id, "deleted", True, action="delete")


def set_archived(
    *, session: Session, decision: Decision, actor_id: int, archived: bool
) -> Decision:
    """Archive a decision (hidden from the home page's main list, still readable by its
    members through its URL) or restore it; recorded as a revision. Doing what is already
    done changes nothing."""
    decision = lock_decision(session, decision)
    authorize(session=session, decision=decision, user_id=actor_id, action=Action.CHANGE_SETTINGS)
    if decision.archived == archived:
        return decision
    return _set_flag(
        session,
        decision,
        actor_id,
        "archived",
        archived,
        action="archive" if archived else "restore",
    )


def _set_flag(
    session: Session, decision: Decision, actor_id: int, flag: str, value: bool, *, action: str
) -> Decision:
    before = decision_state(decision)
    setattr(decision, flag, value)
    decision.version += 1
    session.add(decision)
    revisions.record(
        session=session,
        decision_id=decision.id,
        actor_id=actor_id,
        entity="decision",
        entity_id=decision.id,
        action=action,
        before=before,
        after=decision_state(decision),
    )
    return decision


def list_members(*, session: Session, decision_id: int) -> list[tuple[Member, User]]:
    stmt = (
        select(Member, User)
        .join(User, col(User.id) == col(Member.user_id))
        .where(col(Member.decision_id) == decision_id)
        .order_by(col(Member.id))
    )
    return [(m, u) for m, u in session.execute(stmt).all()]


def find_person(*, session: Session, username: str = "", user_id: int | None = None) -> User:
    """The account chosen in the member form: by id (a search result), else by username;
    ``InvalidInput`` when there is none."""
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None:
            raise InvalidInput({"username": "That person no longer exists; search again."})
        return user
    typed = (username or "").strip()
    if not typed:
        raise InvalidInput({"username": "Choose a person: search by name or username."})
    user = session.scalar(select(User).where(col(User.username) == typed.lower()))
    if user is None:
        # A name typed in full finds its person when exactly one account has it.
        named = session.scalars(
            select(User).where(func.lower(col(User.display_name)) == typed.lower()).limit(2)
        ).all()
        user = named[0] if len(named) == 1 else None
    if user is None:
        raise InvalidInput({"username": f"No user is called “{typed}”."})
    return user


def set_member(
    *,
    session: Session,
    decision_id: int,
    actor_id: int,
    role: str,
    username: str = "",
    user_id: int | None = None,
) -> Member:
    """Add a user (by ``user_id``, else by ``username``) to the decision with ``role``, or
    change their role.

    The decision is locked first: two facilitators demoting each other at once leave one
    facilitator, and the same user added twice at once is one member."""
    lock_decision(session, decision_id)
    authorize(session=session, decision=decision_id, user_id=actor_id, action=Action.MANAGE_MEMBERS)
    try:
        role_value = Role(role)
    except ValueError:
        raise InvalidInput({"role": "Role must be facilitator, analyst or observer."}) from None
    user = find_person(session=session, username=username, user_id=user_id)
    member = session.scalar(
        select(Member).where(col(Member.decision_id) == decision_id, col(Member.user_id) == user.id)
    )
    before = {"username": user.username, "role": member.role} if member else None
    if member is None:
        check_room(
            session=session,
            decision_id=decision_id,
            model=Member,
            limit=MAX_MEMBERS,
            field="username",
            noun="members",
        )
        member = Member(decision_id=decision_id, user_id=user.id, role=role_value.value)
    elif member.role == role_value.value:
        return member
    else:
        if member.role == Role.FACILITATOR.value:
            facilitators = session.scalar(
                select(func.count())
                .select_from(Member)
                .where(
                    col(Member.decision_id) == decision_id,
                    col(Member.role) == Role.FACILITATOR.value,
                )
            )
            if facilitators == 1:
                raise InvalidInput(
                    {"role": "A decision needs a facilitator: make someone else facilitator first."}
                )
        member.role = role_value.value
    session.add(member)
    session.flush()
    revisions.record(
        session=session,
        decision_id=decision_id,
        actor_id=actor_id,
        entity="member",
        entity_id=user.id,
        action="create" if before is None else "update",
        before=before,
        after={"username": user.username, "role": role_value.value},
    )
    audit.record(
        session=session,
        kind=audit.Kind.ROLE_CHANGED,
        actor_id=actor_id,
        decision_id=decision_id,
        details={
            "member": user.username,
            "role_before": before["role"] if before else None,
            "role": role_value.value,
        },
    )
    return member
