"""The robustness panel on the decision page and GET /api/decisions/<id>/analysis."""

from __future__ import annotations

import html as html_lib
import re

import numpy as np
import pytest

from app.config import VERSION
from app.domain import analysis
from app.domain.errors import ServiceError
from app.services import robustness
from app.web.presenters import robustness as presenter
from tests.factories import World

# Scores (analyst-a, analyst-b) on a 1-5 scale. Group means: Intelligence sharing 4.5 / 4,
# Joint drills 2 / 1.5, so with weights 60 / 40 (Escalation risk is a cost):
#   Intelligence sharing: 0.6 * 0.875 + 0.4 * 0.25  = 62.5
#   Joint drills:         0.6 * 0.25  + 0.4 * 0.875 = 50.0
# and the two totals cross where the Escalation risk weight is 50 % (Acceptability 50 %).
SCORES = {
    "analyst-a": {(0, 0): 5, (0, 1): 4, (1, 0): 2, (1, 1): 1},
    "analyst-b": {(0, 0): 4, (0, 1): 4, (1, 0): 2, (1, 1): 2},
}
ESCALATION_SENTENCE = (
    "Intelligence sharing stays first unless the weight of Escalation risk rises from 40 % "
    "to above 50 %, when Joint drills overtakes it."
)
ACCEPTABILITY_SENTENCE = (
    "Intelligence sharing stays first unless the weight of Acceptability falls from 60 % "
    "to below 50 %, when Joint drills overtakes it."
)


def page_url(world: World, query: str = "") -> str:
    return f"/decisions/{world.decision_id}{query}"


def api_url(world: World, query: str = "") -> str:
    return f"/api/decisions/{world.decision_id}/analysis{query}"


def score_all(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    for analyst, cells in SCORES.items():
        acts = as_role(analyst)
        for (i, j), value in cells.items():
            response = acts.post(
                f"/decisions/{world.decision_id}/matrix/scores",
                {
                    "option_id": str(world.options[i]),
                    "criterion_id": str(world.criteria[j]),
                    "value": str(value),
                },
                htmx=True,
            )
            assert response.status_code == 200


def expected_smaa(
    samples: int = 10_000, band: float | None = 0.05, score_model: str = "panel"
) -> analysis.SmaaResult:
    """SMAA straight from the analysis module on the same scores, same seed (by default the
    page's defaults: weights within +/- 5 points, the panel resampled, cells by the mean)."""
    tensor = np.full((2, 2, 2), np.nan)
    for k, cells in enumerate(SCORES.values()):
        for (i, j), value in cells.items():
            tensor[k, i, j] = value
    return analysis.run_smaa(
        tensor,
        [60, 40],
        ["benefit", "cost"],
        analysis.Scale(1, 5),
        samples=samples,
        seed=0,
        band=band,
        score_model=score_model,  # type: ignore[arg-type]
        method="mean",
    )


def panel(html: str) -> str:
    start = html.index('<section id="robustness"')
    return html[start : html.index("</section>", start)]


def first_probabilities(html: str) -> dict[int, float]:
    """Option id → probability of ranking first, read from the page's data elements."""
    rows = re.findall(r'data-option-id="(\d+)">.*?class="p-first" value="([0-9.]+)"', html, re.S)
    return {int(o): float(p) for o, p in rows}


def acceptability_rows(html: str) -> dict[int, list[float]]:
    start = html.index("robustness-acceptability")
    table = html[start : html.index("</table>", start)]
    out = {}
    for option_id, row in re.findall(r'<tr data-option-id="(\d+)">(.*?)</tr>', table, re.S):
        out[int(option_id)] = [float(v) for v in re.findall(r'<data value="([0-9.]+)"', row)]
    return out


def sentences(html: str) -> list[str]:
    items = re.findall(r"<li>(.*?)</li>", panel(html), re.S)
    return [html_lib.unescape(s).replace("\u00a0", " ") for s in items]


# --- the panel and the API agree with the analysis module ------------------------------------


def test_panel_api_and_analysis_give_the_same_numbers(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    score_all(as_role, world)
    fac = as_role("facilitator")
    response = fac.get(page_url(world))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    section = panel(html)
    assert "<h2" in section and "Robustness" in section
    assert '<svg class="acceptability"' in section and "<pattern" in section
    assert "Probability each option ranks first" in section

    expected = expected_smaa()
    on_page = first_probabilities(section)
    data = fac.get(api_url(world)).get_json()
    from_api = {o["id"]: o["first_rank_probability"] for o in data["options"]}
    assert set(on_page) == set(from_api) == set(world.options)
    for i, option_id in enumerate(world.options):
        assert on_page[option_id] == pytest.approx(expected.first_rank_acceptability[i], abs=1e-6)
        assert from_api[option_id] == pytest.approx(on_page[option_id], abs=1e-6)
    rows = acceptability_rows(section)
    api_rows = {o["id"]: o["rank_acceptability"] for o in data["options"]}
    for i, option_id in enumerate(world.options):
        assert rows[option_id] == pytest.approx(list(expected.rank_acceptability[i]), abs=1e-6)
        assert api_rows[option_id] == pytest.approx(rows[option_id], abs=1e-6)
        assert sum(rows[option_id]) == pytest.approx(1, abs=1e-5)
    confidence = {o["id"]: o["confidence"] for o in data["options"]}
    assert confidence[world.options[0]] == pytest.approx(expected.confidence[0], abs=1e-6)

    assert data["settings"] == {
        "samples": 10_000,
        "band_percentage_points": 5.0,
        "weights": "band",
        "score_model": "panel",
        "seed": 0,
        "described": "each weight within ± 5 percentage points of the agreed weight",
        "scores_described": "the panel of analysts drawn again with replacement and each cell "
        "combined by the mean, as the decision does",
    }
    assert data["reproducibility"] == {
        "aggregation": "mean",
        "missing_policy": "skip",
        "weight_model": "band",
        "band_percentage_points": 5.0,
        "score_model": "panel",
        "samples": 10_000,
        "seed": 0,
        "app_version": VERSION,
    }
    assert f"seed 0; Options Matrix {VERSION}" in section
    # Each Monte-Carlo figure comes with its standard error and the samples behind it.
    for i, option in enumerate(data["options"]):
        assert option["rank_acceptability_se"] == pytest.approx(
            list(expected.rank_acceptability_se[i]), abs=1e-6
        )
        assert option["confidence_samples"] == int(expected.first_samples[i])
    assert data["ready"] is True and data["group_visible"] is True and data["round"] == 1
    assert [o["id"] for o in data["options"]] == world.options  # weighted-sum rank order
    assert [o["total"] for o in data["options"]] == pytest.approx([62.5, 50.0])


def test_sentences_name_criteria_and_options(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    score_all(as_role, world)
    observer = as_role("observer")
    html = observer.get(page_url(world)).get_data(as_text=True)
    assert sentences(html) == [ACCEPTABILITY_SENTENCE, ESCALATION_SENTENCE]
    data = observer.get(api_url(world)).get_json()
    assert data["sentences"] == [ACCEPTABILITY_SENTENCE, ESCALATION_SENTENCE]
    escalation = data["sensitivity"][1]
    assert escalation["criterion_id"] == world.criteria[1]
    assert escalation["criterion"] == "Escalation risk"
    assert escalation["weight"] == pytest.approx(0.4)
    assert escalation["upper"] == pytest.approx(0.5)
    assert escalation["above_option_id"] == world.options[1]
    assert escalation["above_option"] == "Joint drills"
    assert escalation["below_option_id"] is None
    assert escalation["smallest_change"] == pytest.approx(0.1)
    # A 10-point move of either weight is enough (60 → 50 or 40 → 50); the first is named.
    assert data["most_sensitive"] == (
        "The top option is most sensitive to the weight of Acceptability: a change of "
        "10 percentage points alters which option comes first."
    )
    # Both methods put Intelligence sharing first.
    assert data["methods"]["agree"] is True
    assert data["methods"]["weighted_sum_top"] == data["methods"]["topsis_top"]
    assert data["methods"]["topsis_top"] == ["Intelligence sharing"]
    assert "TOPSIS" in panel(html) and "also puts Intelligence sharing first, as the" in html


def test_band_and_samples_are_read_from_the_query(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    score_all(as_role, world)
    fac = as_role("facilitator")
    query = "?band=10&samples=2000"
    data = fac.get(api_url(world, query)).get_json()
    assert data["settings"]["samples"] == 2000
    assert data["settings"]["band_percentage_points"] == 10
    expected = expected_smaa(samples=2000, band=0.1)
    html = fac.get(page_url(world, query)).get_data(as_text=True)
    on_page = first_probabilities(panel(html))
    for i, option_id in enumerate(world.options):
        assert on_page[option_id] == pytest.approx(expected.first_rank_acceptability[i], abs=1e-6)
        assert data["options"][i]["first_rank_probability"] == pytest.approx(
            on_page[option_id], abs=1e-6
        )
    # The form shows the chosen settings, and the page says them in words.
    assert re.search(r'id="robustness-band".*?<option value="10" selected>', html, re.S)
    assert re.search(r'id="robustness-samples".*?<option value="2000" selected>', html, re.S)
    assert "2,000 times" in html and "within ± 10 percentage points" in html
    # Same settings, same figures (fixed seed).
    again = fac.get(api_url(world, query)).get_json()
    assert again["options"] == data["options"]
    # The score model: one analyst per cell, or one analyst's whole set.
    for model in ("cell", "analyst"):
        other = fac.get(api_url(world, query + f"&scores={model}")).get_json()
        assert other["settings"]["score_model"] == model
        assert other["reproducibility"]["score_model"] == model
        expected = expected_smaa(samples=2000, band=0.1, score_model=model)
        for i in range(len(world.options)):
            assert other["options"][i]["rank_acceptability"] == pytest.approx(
                list(expected.rank_acceptability[i]), abs=1e-6
            )
    # Band 0: weights fixed, only the analysts' disagreement remains.
    fixed = fac.get(api_url(world, "?band=0")).get_json()
    assert fixed["settings"]["weights"] == "band"
    assert fixed["settings"]["described"] == "weights fixed at the agreed weights"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?samples=abc", "one of 1,000, 2,000, 5,000, 10,000, 20,000 or 50,000"),
        ("?samples=999", "one of 1,000, 2,000"),
        ("?samples=50001", "one of 1,000, 2,000"),
        ("?samples=2.5", "one of 1,000, 2,000"),
        ("?samples=12345", "one of 1,000, 2,000"),
        ("?band=-1", "one of 0, 2, 5, 10, 15, 20 or 30 percentage points, or 'any'"),
        ("?band=50.5", "one of 0, 2, 5"),
        ("?band=7.77", "one of 0, 2, 5"),
        ("?band=nan", "one of 0, 2, 5"),
        ("?band=inf", "one of 0, 2, 5"),
        ("?band=wide", "one of 0, 2, 5"),
        ("?scores=median", "The score model must be one of panel, analyst, cell"),
    ],
)
def test_bad_settings_answer_400_with_a_clear_message(
    as_role, world: World, query: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    score_all(as_role, world)
    fac = as_role("facilitator")
    page = fac.get(page_url(world, query))
    assert page.status_code == 400
    assert message in html_lib.unescape(page.get_data(as_text=True))
    fragment = fac.get(page_url(world, query), htmx=True)
    assert fragment.status_code == 400 and message in fragment.get_data(as_text=True)
    api = fac.get(api_url(world, query))
    assert api.status_code == 400 and message in api.get_json()["error"]


def test_empty_settings_take_the_defaults(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    score_all(as_role, world)
    data = as_role("facilitator").get(api_url(world, "?band=&samples=&scores=")).get_json()
    assert data["settings"]["samples"] == 10_000
    assert data["settings"]["band_percentage_points"] == 5.0
    assert data["settings"]["score_model"] == "panel"
    anything = as_role("facilitator").get(api_url(world, "?band=any")).get_json()
    assert anything["settings"]["band_percentage_points"] is None
    assert anything["reproducibility"]["weight_model"] == "simplex"


# --- roles and visibility --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "controls"),
    [("facilitator", True), ("analyst-a", False), ("observer", False)],
)
def test_every_member_sees_the_panel_only_the_facilitator_the_controls(
    as_role, world: World, username: str, controls: bool
) -> None:  # type: ignore[no-untyped-def]
    score_all(as_role, world)
    acts = as_role(username)
    section = panel(acts.get(page_url(world)).get_data(as_text=True))
    assert "Probability each option ranks first" in section
    assert ('id="robustness-band"' in section) is controls
    assert ('id="robustness-samples"' in section) is controls
    if controls:
        assert '<label for="robustness-band">' in section
        assert '<label for="robustness-samples">' in section
        assert 'method="get"' in section
    assert acts.get(api_url(world)).status_code == 200


def test_outsiders_and_anonymous_callers_get_nothing(as_role, world: World, client) -> None:  # type: ignore[no-untyped-def]
    score_all(as_role, world)
    outsider = as_role("outsider")
    assert outsider.get(page_url(world)).status_code == 404
    response = outsider.get(api_url(world))
    assert response.status_code == 404 and "probability" not in response.get_data(as_text=True)
    assert client.get(api_url(world)).status_code == 401
    assert as_role("facilitator").get(api_url(world, "?round=7")).status_code == 404


def test_blind_round_shows_nothing_until_revealed(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    fac.post(f"/decisions/{world.decision_id}/settings", {"scoring_mode": "blind"})
    score_all(as_role, world)
    for username in ("facilitator", "analyst-a", "observer"):
        acts = as_role(username)
        section = panel(acts.get(page_url(world)).get_data(as_text=True))
        assert "appear once the facilitator reveals round 1" in section
        assert "<svg" not in section and "<table" not in section and "<form" not in section
        assert "Intelligence sharing" not in section and "%" not in section
        data = acts.get(api_url(world)).get_json()
        assert data["group_visible"] is False
        assert set(data) == {"decision_id", "round", "group_visible", "note"}
    assert fac.post(f"/decisions/{world.decision_id}/rounds/reveal", {}).status_code == 303
    section = panel(as_role("observer").get(page_url(world)).get_data(as_text=True))
    assert "Probability each option ranks first" in section and "<svg" in section
    assert as_role("observer").get(api_url(world)).get_json()["ready"] is True


def test_before_any_score_the_panel_says_so(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    section = panel(fac.get(page_url(world)).get_data(as_text=True))
    assert "once analysts have scored" in section and "<svg" not in section
    data = fac.get(api_url(world)).get_json()
    assert data["ready"] is False and data["options"] == [] and data["sentences"] == []


# --- wording (no database) -------------------------------------------------------------------

TITLES = ["Joint drills", "Intelligence sharing", "Troops"]


def _sens(**kw: object) -> analysis.CriterionSensitivity:
    base: dict[str, object] = {
        "criterion": 0,
        "weight": 0.2,
        "top_option": 0,
        "top_options": (0,),
        "tied_at_top": False,
        "lower": 0.0,
        "upper": 1.0,
        "below_option": None,
        "above_option": None,
        "smallest_change": None,
    }
    base.update(kw)
    return analysis.CriterionSensitivity(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sens", "sentence"),
    [
        (
            _sens(upper=0.31, above_option=1, smallest_change=0.11),
            "Joint drills stays first unless the weight of Escalation risk rises from 20 % to "
            "above 31 %, when Intelligence sharing overtakes it.",
        ),
        (
            _sens(lower=0.1234, below_option=2, smallest_change=0.0766),
            "Joint drills stays first unless the weight of Escalation risk falls from 20 % to "
            "below 12.4 %, when Troops overtakes it.",
        ),
        (
            _sens(lower=0.05, below_option=2, upper=0.31, above_option=1, smallest_change=0.11),
            "Joint drills stays first unless the weight of Escalation risk rises from 20 % to "
            "above 31 %, when Intelligence sharing overtakes it, or falls below 5 %, when Troops "
            "overtakes it.",
        ),
        (
            _sens(),
            "Joint drills stays first whatever the weight of Escalation risk (now 20 %).",
        ),
        (
            _sens(
                top_options=(0, 1), tied_at_top=True, upper=0.2, above_option=1, smallest_change=0
            ),
            "Joint drills (tied for first with Intelligence sharing) stays first unless the "
            "weight of Escalation risk rises at all from 20 %, when Intelligence sharing "
            "overtakes it.",
        ),
        (
            # Overtaken only beyond 100 %: unreachable.
            _sens(upper=1.0, above_option=1, smallest_change=0.8),
            "Joint drills stays first whatever the weight of Escalation risk (now 20 %).",
        ),
        (
            # 68.97 % prints as "above 68.9 %" (never 69 %), and the current weight gets more
            # decimals only when one is not enough to tell them apart.
            _sens(weight=0.1, upper=0.6897, above_option=1, smallest_change=0.5897),
            "Joint drills stays first unless the weight of Escalation risk rises from 10 % to "
            "above 68.9 %, when Intelligence sharing overtakes it.",
        ),
        (
            _sens(weight=0.2001, upper=0.20049, above_option=1, smallest_change=0.0004),
            "Joint drills stays first unless the weight of Escalation risk rises from 20.01 % to "
            "above 20.04 %, when Intelligence sharing overtakes it.",
        ),
        (
            _sens(weight=0.9995, upper=0.99999, above_option=1, lower=0.00001, below_option=2),
            "Joint drills stays first unless the weight of Escalation risk rises from 99.95 % "
            "to above 99.99 %, when Intelligence sharing overtakes it, or falls below 0.1 %, "
            "when Troops overtakes it.",
        ),
    ],
)
def test_sensitivity_sentences(sens: analysis.CriterionSensitivity, sentence: str) -> None:
    assert presenter.sensitivity_sentence(sens, TITLES, "Escalation risk") == sentence


@pytest.mark.parametrize(
    ("args", "samples", "band"),
    [
        ({}, 10_000, 5.0),
        ({"samples": "1000", "band": "0"}, 1000, 0.0),
        ({"samples": "50,000", "band": "15 %"}, 50_000, 15.0),
        ({"samples": " 20000 ", "band": " "}, 20_000, 5.0),
        ({"band": "ANY"}, 10_000, None),
    ],
)
def test_parse_settings(args: dict[str, str], samples: int, band: float | None) -> None:
    settings = robustness.parse_settings(args)
    assert (settings.samples, settings.band, settings.seed) == (samples, band, 0)


def test_parse_settings_refuses_out_of_range() -> None:
    with pytest.raises(ServiceError) as caught:
        robustness.parse_settings({"samples": "60000"})
    assert caught.value.status == 400


def test_figures_follow_a_changed_score(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    score_all(as_role, world)
    observer = as_role("observer")
    before = observer.get(api_url(world)).get_json()
    as_role("analyst-b").post(
        f"/decisions/{world.decision_id}/matrix/scores",
        {"option_id": str(world.options[1]), "criterion_id": str(world.criteria[0]), "value": "5"},
        htmx=True,
    )
    after = observer.get(api_url(world)).get_json()
    assert after["options"] != before["options"]
    assert after["sentences"] != before["sentences"]
