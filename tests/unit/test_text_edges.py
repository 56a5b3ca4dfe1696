"""People's text loses invisible characters at its edges: a title of nothing visible is empty."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.db.models import OptionCreate, strip_text


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("\u200b", ""),
        ("\u2060\ufeff", ""),
        (" \u202e \u200f ", ""),
        (" \u202e Option A \u2069\n", "Option A"),
        ("a\u200bb", "a\u200bb"),  # inside the text it stays
        ("Ölpreis 🛢", "Ölpreis 🛢"),
    ],
)
def test_edges_lose_spaces_and_invisible_characters(raw: str, kept: str) -> None:
    assert strip_text(raw) == kept


@pytest.mark.parametrize("title", ["\u200b", "\u200f\u202e", " \u2060 "])
def test_an_invisible_title_is_refused(title: str) -> None:
    with pytest.raises(ValidationError):
        OptionCreate.model_validate({"title": title})
