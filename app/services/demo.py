"""The demo decision: US engagement in Central Asia's security as Russia's role grows (2021).

``seed`` is idempotent: it creates what is missing and leaves existing data alone.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.adapters.passwords import hash_password, verify_password
from app.db.models import Decision, Role, Round, Score, User
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import options as option_service
from app.services.scores import record_score

DEMO_TITLE = "US engagement in Central Asian security, 2021"

USERS = [
    ("facilitator", "Morgan Hale", True),
    ("analyst-a", "Priya Natarajan", False),
    ("analyst-b", "Tom Becker", False),
    ("analyst-c", "Elena Sokolova", False),
    ("observer", "Chris Dunn", False),
]
ROLES = {
    "analyst-a": Role.ANALYST,
    "analyst-b": Role.ANALYST,
    "analyst-c": Role.ANALYST,
    "observer": Role.OBSERVER,
}

QUESTION = (
    "How should the United States stay engaged in Central Asia's security after the withdrawal "
    "from Afghanistan, given Russia's growing military role in the region?"
)

BACKGROUND = """\
**Situation, early August 2021.** The Taliban are advancing fast as US forces leave Afghanistan,
and Afghanistan's northern neighbours fear the fighting will spill over.

- More than 1,600 Afghan soldiers crossed into Tajikistan after Taliban gains in Badakhshan and
  Takhar. Uzbekistan returned dozens of Afghan soldiers after the Taliban seized a crossing, and
  Kyrgyzstan asked Tajikistan to let about 1,000 ethnic Kyrgyz from Afghanistan pass through.
- The Tajik–Afghan border, drawn in the 19th century largely along the Panj river, is porous:
  opium trafficking, extremist movement and ethnic tension cross it. On 5 July Tajikistan called
  up 20,000 reservists; the Taliban hold about 70 % of the border.
- Russia's 201st Military Base in Tajikistan (about 7,000 troops, agreed until 2042) is its
  largest abroad. Moscow has offered to help secure the border and scheduled joint exercises:
  Russian–Tajik–Uzbek drills at Harb-Maidon (5–10 August) and Russian–Uzbek drills near
  Termez (30 July–10 August).
- The US presence depends on host goodwill. Uzbekistan hosted US forces at Karshi-Khanabad
  from 2001 and joined the Northern Distribution Network, but later closed the arrangement and
  banned foreign bases. Tajikistan belongs to the Russian-led CSTO and hosts both a Russian base
  and a Chinese border post. Secretary Blinken met Kazakh, Uzbek and Tajik counterparts on
  Afghanistan on 22 April.

**Why now.** Each week of Russian-led exercises and border offers makes Moscow the default
security partner; options that need host consent must be raised before that settles.
"""

OPTIONS = [
    (
        "intel",
        "Intelligence sharing on Afghan threats",
        "Share threat intelligence with Central Asian governments on militant movement and the border.",
        "Establish regular, classified-level exchanges with Tashkent, Dushanbe, Astana and Bishkek "
        "on militant networks, border crossings and trafficking. Low visibility; builds on existing "
        "liaison relationships.",
    ),
    (
        "drills",
        "Joint military drills with Central Asian partners",
        "Hold bilateral or multilateral exercises focused on border security and counter-terrorism.",
        "Schedule exercises with willing partners (Uzbekistan, Kazakhstan) on border security, "
        "counter-terrorism and disaster response, building interoperability without a permanent "
        "footprint.",
    ),
    (
        "troops",
        "Limited US troop stationing with a willing host",
        "Station a small US contingent in the region, subject to host consent.",
        "Negotiate a limited rotational presence (a few hundred personnel) for counter-terrorism "
        "support and over-the-horizon operations. Requires a host willing to set aside legal or "
        "political bars to foreign forces.",
    ),
    (
        "us-russia",
        "Joint US–Russian stabilisation efforts",
        "Coordinate with Moscow on border security and counter-terrorism in the region.",
        "Seek narrow, deconflicted cooperation with Russia on the Afghan border: information "
        "exchange, counter-narcotics and humanitarian corridors.",
    ),
    (
        "baseline",
        "Baseline: disengage militarily, rely on diplomacy",
        "Withdraw from security engagement and pursue diplomatic and economic ties only.",
        "The do-little baseline: no new military cooperation; keep diplomatic, economic and "
        "humanitarian channels. Every other option is judged against it.",
    ),
]

CRITERIA = [
    (
        "accept",
        "Host-government acceptability",
        "benefit",
        20,
        "Will Tashkent, Dushanbe, Astana and Bishkek agree to it?",
    ),
    (
        "ct",
        "Counter-terrorism and border-security effect",
        "benefit",
        20,
        "How much does it reduce spill-over of militancy and trafficking from Afghanistan?",
    ),
    (
        "escalation",
        "Risk of escalation with Russia and the CSTO",
        "cost",
        15,
        "Score the size of the risk: 5 = serious friction or escalation is likely.",
    ),
    (
        "cost",
        "Cost to the US",
        "cost",
        10,
        "Money, forces and political capital. Score the size of the cost: 5 = very costly.",
    ),
    ("speed", "Speed to implement", "benefit", 10, "How quickly can it take effect?"),
    (
        "influence",
        "Sustained US influence in the region",
        "benefit",
        15,
        "Does it keep the US a relevant partner over the next decade?",
    ),
    (
        "legal",
        "Legal and domestic-political feasibility",
        "benefit",
        10,
        "Authorities, Congress, and US public opinion.",
    ),
]

# (analyst-a, analyst-b, analyst-c): score and a short rationale for each cell.
S = tuple[int, str]
SCORES: dict[str, dict[str, tuple[S, S, S]]] = {
    "intel": {
        "accept": (
            (4, "Quiet liaison already exists with Tashkent and Dushanbe."),
            (4, "Low visibility makes it easy to say yes to."),
            (5, "Fits every host's neutrality line; no foreign boots."),
        ),
        "ct": (
            (3, "Helps warning, adds no capacity at the border."),
            (3, "Targeting improves, but hosts must act on it."),
            (4, "Early warning is the main gap on the Panj."),
        ),
        "escalation": (
            (2, "Moscow may grumble but has little to object to."),
            (1, "Invisible to the CSTO in practice."),
            (2, "Russia will notice but not escalate."),
        ),
        "cost": (
            (1, "Uses existing collection."),
            (1, "Marginal cost only."),
            (2, "Analyst time and liaison officers."),
        ),
        "speed": (
            (5, "Can start within weeks."),
            (4, "Needs sharing agreements first."),
            (4, "Some channels need new authorities."),
        ),
        "influence": (
            (3, "Keeps a seat at the table."),
            (2, "Transactional; influence fades."),
            (3, "Useful but easy to replace with Russian intelligence."),
        ),
        "legal": (
            (4, "Existing authorities mostly cover it."),
            (5, "No new authorities needed."),
            (4, "Human-rights vetting needed for some services."),
        ),
    },
    "drills": {
        "accept": (
            (3, "Tashkent open to it; Dushanbe less so."),
            (4, "Uzbekistan and Kazakhstan have drilled with us before."),
            (2, "Hosts will not want to look like they pick sides now."),
        ),
        "ct": (
            (4, "Builds skills that matter on the Panj within a year."),
            (4, "Border units gain real capability."),
            (3, "Limited by how often we can run them."),
        ),
        "escalation": (
            (3, "Visible signal alongside Russian drills."),
            (2, "Routine exercises are normal practice."),
            (5, "Parallel to Harb-Maidon, Moscow will read it as a challenge."),
        ),
        "cost": (
            (2, "Modest; exercise funds exist."),
            (2, "Small rotational units."),
            (3, "Transport to the region is expensive."),
        ),
        "speed": (
            (3, "Next exercise cycle at the earliest."),
            (4, "Existing exercise slots can be re-purposed."),
            (3, "Six months or more."),
        ),
        "influence": (
            (4, "Regular contact builds relationships."),
            (5, "Military-to-military ties last a generation."),
            (4, "Lasting, if sustained for years."),
        ),
        "legal": (
            (4, "Standard security cooperation."),
            (4, "Existing programmes."),
            (4, "No special approval needed."),
        ),
    },
    "troops": {
        "accept": (
            (1, "Uzbekistan's law bars foreign bases."),
            (2, "Possible only as a short rotation."),
            (1, "Tajikistan hosts Russia's 201st; no room for us."),
        ),
        "ct": (
            (4, "Direct capability near the threat."),
            (5, "Over-the-horizon strikes become feasible."),
            (4, "Strong effect if a host can be found."),
        ),
        "escalation": (
            (5, "Direct challenge in Russia's sphere."),
            (4, "Serious friction, but manageable."),
            (5, "Almost certain CSTO counter-move."),
        ),
        "cost": (
            (5, "Basing, force protection, logistics."),
            (4, "Costly but bounded."),
            (5, "Large political capital with the host."),
        ),
        "speed": (
            (1, "Basing talks would take a year."),
            (2, "Rotational forces can move quickly once agreed."),
            (1, "Host consent is the bottleneck."),
        ),
        "influence": (
            (4, "Presence is influence."),
            (5, "Troops on the ground anchor the partnership."),
            (2, "Could provoke a backlash that costs influence."),
        ),
        "legal": (
            (2, "Congress wary of new deployments after Afghanistan."),
            (3, "Existing authorities might stretch."),
            (2, "Domestic appetite is low."),
        ),
    },
    "us-russia": {
        "accept": (
            (4, "Hosts welcome great-power calm."),
            (3, "Some hosts fear being bargained over."),
            (4, "Fits their multi-vector policy."),
        ),
        "ct": (
            (3, "Pooled effort on the border."),
            (2, "Russia will not share much."),
            (3, "Counter-narcotics gains possible."),
        ),
        "escalation": (
            (1, "Lowers friction by design."),
            (2, "Disputes over terms are possible."),
            (1, "Least escalatory option."),
        ),
        "cost": (
            (2, "Cheap in money."),
            (3, "Political capital at home is costly."),
            (2, "Low direct cost."),
        ),
        "speed": (
            (2, "Needs high-level talks first."),
            (2, "Slow to negotiate."),
            (3, "Channels exist since 2001 cooperation."),
        ),
        "influence": (
            (1, "Cedes the lead to Moscow."),
            (1, "Confirms Russia as the gatekeeper."),
            (2, "Some visibility, little leverage."),
        ),
        "legal": (
            (1, "Sanctions and Congress stand in the way."),
            (2, "Narrow cooperation may be allowed."),
            (1, "Politically toxic in Washington."),
        ),
    },
    "baseline": {
        "accept": (
            (3, "No demands, but reads as walking away."),
            (2, "Hosts will read it as abandonment."),
            (4, "Nothing for hosts to refuse."),
        ),
        "ct": (
            (1, "Leaves the border to Russia."),
            (1, "No added capability."),
            (2, "Diplomacy can still fund border projects."),
        ),
        "escalation": ((1, "No friction."), (1, "None."), (1, "None.")),
        "cost": ((1, "Lowest cost."), (1, "Minimal."), (1, "Minimal.")),
        "speed": ((5, "Immediate."), (5, "Immediate."), (4, "Diplomatic moves still take time.")),
        "influence": (
            (1, "Influence drains away."),
            (1, "Russia and China fill the space."),
            (2, "Economic ties keep a little."),
        ),
        "legal": (
            (5, "No authorities needed."),
            (5, "Popular at home."),
            (5, "Fits the withdrawal mood."),
        ),
    },
}


@dataclass
class SeedResult:
    decision_id: int
    decision_title: str
    created: bool
    passwords: dict[str, str] = field(default_factory=dict)


def _ensure_users(
    session: Session, *, reset_passwords: bool
) -> tuple[dict[str, User], dict[str, str]]:
    fixed = os.environ.get("DEMO_PASSWORD")
    users: dict[str, User] = {}
    shown: dict[str, str] = {}
    for username, display_name, is_admin in USERS:
        user = session.exec(select(User).where(col(User.username) == username)).first()
        if (
            user is None
            or reset_passwords
            or (fixed and not verify_password(user.password_hash, fixed))
        ):
            password = fixed or secrets.token_urlsafe(12)
            if user is None:
                user = User(
                    username=username,
                    display_name=display_name,
                    is_admin=is_admin,
                    password_hash=hash_password(password),
                )
            else:
                user.password_hash = hash_password(password)
                user.session_version += 1
            session.add(user)
            session.flush()
            shown[username] = password
        users[username] = user
    return users, shown


def seed(*, session: Session, reset_passwords: bool = False) -> SeedResult:
    users, shown = _ensure_users(session, reset_passwords=reset_passwords)
    existing = session.exec(select(Decision).where(col(Decision.title) == DEMO_TITLE)).first()
    if existing is not None:
        return SeedResult(existing.id, existing.title, False, shown)

    facilitator = users["facilitator"]
    decision = decision_service.create_decision(
        session=session,
        actor=facilitator,
        data={
            "title": DEMO_TITLE,
            "question": QUESTION,
            "background": BACKGROUND,
            "scale_min": 1,
            "scale_max": 5,
            "classification": "UNCLASSIFIED",
        },
    )
    for username, role in ROLES.items():
        decision_service.set_member(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            username=username,
            role=role.value,
        )
    option_ids: dict[str, int] = {}
    for key, title, summary, description in OPTIONS:
        option = option_service.create_option(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            data={"title": title, "summary": summary, "description": description},
        )
        option_ids[key] = option.id
    criterion_ids: dict[str, int] = {}
    for key, name, direction, weight, description in CRITERIA:
        criterion = criteria_service.create_criterion(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            data={
                "name": name,
                "direction": direction,
                "weight": weight,
                "description": description,
            },
        )
        criterion_ids[key] = criterion.id
    decision = decision_service.start_scoring(
        session=session, decision=decision, actor_id=facilitator.id
    )
    round_one = session.exec(
        select(Round).where(col(Round.decision_id) == decision.id, col(Round.number) == 1)
    ).one()
    analysts = [users["analyst-a"], users["analyst-b"], users["analyst-c"]]
    for option_key, by_criterion in SCORES.items():
        for criterion_key, triple in by_criterion.items():
            for analyst, (value, rationale) in zip(analysts, triple, strict=True):
                score = Score(
                    round_id=round_one.id,
                    option_id=option_ids[option_key],
                    criterion_id=criterion_ids[criterion_key],
                    analyst_id=analyst.id,
                    value=float(value),
                    rationale=rationale,
                )
                session.add(score)
                record_score(session, decision, round_one, score, before=None)
    session.flush()
    return SeedResult(decision.id, decision.title, True, shown)
