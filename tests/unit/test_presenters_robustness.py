"""The robustness presenter on hand-made figures (no database): the chart's geometry, the
words for ties and the most sensitive weight, and the shapes of the API and memo data."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.domain import analysis
from app.services.robustness import (
    CriterionRobustness,
    OptionRobustness,
    Robustness,
    Settings,
)
from app.web.presenters import robustness as presenter
from app.web.views.api import analysis_json


def option(option_id: int, title: str, acceptability: list[float], rank: int) -> OptionRobustness:
    return OptionRobustness(
        option_id=option_id,
        title=title,
        rank=rank,
        total=50.0,
        first=acceptability[0],
        acceptability=acceptability,
        acceptability_se=[0.01 for _ in acceptability],
        confidence=None,
        confidence_se=None,
        first_samples=0,
        central_weights=None,
        topsis=None,
    )


def sensitivity(criterion: int, *, upper: float, smallest: float | None) -> CriterionRobustness:
    s = analysis.CriterionSensitivity(
        criterion=criterion,
        weight=0.5,
        top_option=0,
        top_options=(0,),
        tied_at_top=False,
        lower=0.0,
        upper=upper,
        below_option=None,
        above_option=None if smallest is None else 1,
        smallest_change=smallest,
    )
    return CriterionRobustness(
        criterion_id=10 + criterion,
        name=f"Criterion {criterion}",
        weight=0.5,
        top_option_id=1,
        tied_at_top=False,
        lower=0.0,
        upper=upper,
        below_option_id=None,
        below_option=None,
        above_option_id=None if smallest is None else 2,
        above_option=None if smallest is None else "Beta",
        smallest_change=smallest,
        sensitivity=s,
    )


def figures(*, tied: bool = False, ready: bool = True) -> Robustness:
    return Robustness(
        decision_id=1,
        round_number=1,
        method="mean",
        settings=Settings(samples=2000, band=10.0),
        ready=ready,
        note=None if ready else "Robustness appears once analysts have scored this round.",
        criteria=[(10, "Criterion 0", 0.5), (11, "Criterion 1", 0.5)],
        options=[
            option(1, "Alpha", [0.7, 0.3], 1),
            option(2, "Beta <b>", [0.3, 0.7], 2 if not tied else 1),
        ]
        if ready
        else [],
        ranks=2 if ready else 0,
        titles=["Alpha", "Beta <b>"] if ready else [],
        sensitivity=[
            sensitivity(0, upper=0.6, smallest=0.1),
            sensitivity(1, upper=1.0, smallest=None),
        ]
        if ready
        else [],
        weighted_sum_top=(["Alpha", "Beta <b>"] if tied else ["Alpha"]) if ready else [],
        topsis_top=["Alpha"] if ready else [],
        topsis_agrees=True if ready else None,
        topsis_excluded=[],
    )


def test_chart_bars_fill_the_width_in_rank_order() -> None:
    chart = presenter.acceptability_chart(figures())
    assert (chart.width, chart.axis_x1, chart.axis_x2) == (1000, 4, 996)
    assert [b.title for b in chart.bars] == ["Alpha", "Beta <b>"]
    for bar in chart.bars:
        assert bar.segments[0].x == chart.axis_x1
        end = bar.segments[-1].x + bar.segments[-1].width
        assert end == pytest.approx(chart.axis_x2)
        assert bar.y == bar.title_y + 6 and bar.label_y == bar.y + 16
    assert chart.bars[1].y - chart.bars[0].y == presenter.BAR_ROW_HEIGHT
    first = chart.bars[0].segments[0]
    assert first.label == "70 %" and first.label_x == pytest.approx(first.x + first.width / 2)
    assert first.paint_id == "ra-rank-1" and first.dark
    assert str(first.title) == "Alpha: 1st in 70.0&nbsp;% of samples"
    assert "&lt;b&gt;" in str(chart.bars[1].segments[0].title)  # titles are escaped
    assert chart.height == chart.axis_y + 26 and chart.last_rank == "2nd"


def test_chart_paints_ranks_dark_to_light_with_every_second_hatched() -> None:
    chart = presenter.acceptability_chart(figures(), id_prefix="memo")
    assert [p.grey for p in chart.paints] == ["#222222", "#e2e2e2"]
    assert [p.hatch for p in chart.paints] == [None, "#1d2430"]
    assert [p.id for p in chart.paints] == ["memo-rank-1", "memo-rank-2"]
    assert [(i.text, i.x, i.text_x) for i in chart.legend] == [("1st", 4, 26), ("2nd", 102, 124)]
    assert [(t.x, t.text, t.anchor) for t in chart.ticks] == [
        (4.0, "0 %", "start"),
        (252.0, "25 %", "middle"),
        (500.0, "50 %", "middle"),
        (748.0, "75 %", "middle"),
        (996.0, "100 %", "end"),
    ]


def test_a_narrow_segment_carries_no_label() -> None:
    r = figures()
    narrow = option(1, "Alpha", [0.04, 0.96], 1)
    chart = presenter.acceptability_chart(replace(r, options=[narrow]))
    assert [s.label for s in chart.bars[0].segments] == [None, "96 %"]


def test_a_share_of_zero_draws_no_segment() -> None:
    r = figures()
    sure = option(1, "Alpha", [1.0, 0.0], 1)
    chart = presenter.acceptability_chart(replace(r, options=[sure]))
    assert len(chart.bars[0].segments) == 1


@pytest.mark.parametrize(("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th")])
def test_ordinal(n: int, text: str) -> None:
    assert presenter.ordinal(n) == text
    assert presenter.ordinal(n + 10) == f"{n + 10}th"
    assert presenter.ordinal(n + 20) == f"{n + 20}{text[-2:]}"


def test_sentences_name_a_tie_first() -> None:
    tied = presenter.sentences(figures(tied=True))
    assert tied[0] == "Alpha and Beta <b> are tied for first at the agreed weights."
    assert len(tied) == 3
    assert presenter.sentences(figures())[0].startswith("Alpha stays first unless")


def test_most_sensitive_names_the_smallest_change() -> None:
    assert presenter.most_sensitive(figures()) == (
        "The top option is most sensitive to the weight of Criterion 0: a change of "
        "10 percentage points alters which option comes first."
    )
    assert presenter.most_sensitive(figures(ready=False)) is None


def test_weights_described() -> None:
    assert presenter.weights_described(Settings()) == (
        "each weight within ± 5 percentage points of the agreed weight"
    )
    assert presenter.weights_described(Settings(band=None)) == (
        "weights drawn at random from every possible weighting"
    )
    assert presenter.weights_described(Settings(band=0)) == "weights fixed at the agreed weights"
    assert presenter.weights_described(Settings(band=1)) == (
        "each weight within ± 1 percentage point of the agreed weight"
    )


def test_present_keeps_none_and_views() -> None:
    assert presenter.present(None) is None
    view = presenter.present(figures())
    assert view is not None and presenter.present(view) is view
    assert view.rank_labels == ["1st", "2nd"]
    assert (
        view.weights_described == "each weight within ± 10 percentage points of the agreed weight"
    )


def test_memo_section_keeps_words_and_orders_by_sensitivity() -> None:
    assert presenter.memo_section(None) is None
    assert presenter.memo_section(figures(ready=False)) == {
        "ready": False,
        "note": "Robustness appears once analysts have scored this round.",
    }
    section = presenter.memo_section(figures(tied=True))
    assert section is not None
    assert section["ties"] == ["Alpha and Beta <b> are tied for first at the agreed weights."]
    assert [s["criterion_id"] for s in section["sensitivity"]] == [10, 11]
    assert section["first"] == [
        {"option_id": 1, "p": 0.7, "text": "70\u00a0% ± 1"},
        {"option_id": 2, "p": 0.3, "text": "30\u00a0% ± 1"},
    ]


def test_as_json_when_not_ready() -> None:
    data = analysis_json(figures(ready=False))
    assert data["ready"] is False and data["sentences"] == [] and data["options"] == []
    assert data["most_sensitive"] is None
    assert data["settings"]["weights"] == "band"
