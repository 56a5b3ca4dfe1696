"""History of a decision, derived from the append-only revision table.

* :mod:`.feed` — the activity feed and option timelines (revisions as the viewer may see
  them, the blind-round rule in SQL), names for sentences, bringing back an option's text;
* :mod:`.state` — the decision as it stood after any revision and its matrix "as of" then;
* :mod:`.compare` — which ranks moved between two points, and why.

Turning revisions into sentences is the web layer's job (``app.web.presenters.history``).
"""

from app.services.history.compare import (
    CellChange,
    Comparison,
    OptionMove,
    ScoreChange,
    ScoreValue,
    WeightChange,
    compare,
)
from app.services.history.feed import (
    KINDS,
    PAGE_SIZE,
    TEXT_KEYS,
    TIMELINE_PAGE_SIZE,
    FeedFilter,
    MemoFilter,
    MemoMark,
    Names,
    Page,
    feed_page,
    load_names,
    memo_marks,
    option_text_revision,
    option_timeline,
    restore_option_text,
    revision_id,
    text_of,
    visible_clause,
)
from app.services.history.state import (
    DecisionState,
    PastScore,
    RoundState,
    hidden_today,
    latest_revision_id,
    load_state,
    matrix_as_of,
    matrix_at,
    revision_at,
    state_criteria,
    state_options,
)

__all__ = [
    "KINDS",
    "PAGE_SIZE",
    "TEXT_KEYS",
    "TIMELINE_PAGE_SIZE",
    "CellChange",
    "Comparison",
    "DecisionState",
    "FeedFilter",
    "MemoFilter",
    "MemoMark",
    "Names",
    "OptionMove",
    "Page",
    "PastScore",
    "RoundState",
    "ScoreChange",
    "ScoreValue",
    "WeightChange",
    "compare",
    "feed_page",
    "hidden_today",
    "latest_revision_id",
    "load_names",
    "load_state",
    "matrix_as_of",
    "matrix_at",
    "memo_marks",
    "option_text_revision",
    "option_timeline",
    "restore_option_text",
    "revision_at",
    "revision_id",
    "state_criteria",
    "state_options",
    "text_of",
    "visible_clause",
]
