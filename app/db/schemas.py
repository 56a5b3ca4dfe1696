"""Validated input for options, criteria and decisions (non-table SQLModel models).

Table models skip validation in ``__init__``; every form is parsed into one of these first,
and only then copied into a table row.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError, field_validator
from sqlmodel import Field, SQLModel

from app.db.models import Direction

TITLE_MAX = 200
SUMMARY_MAX = 500
TEXT_MAX = 20_000
RATIONALE_MAX = 2_000


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class OptionBase(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    summary: str = Field(default="", max_length=SUMMARY_MAX)
    description: str = Field(default="", max_length=TEXT_MAX)

    _strip_title = field_validator("title", "summary", mode="before")(_strip)


class OptionCreate(OptionBase):
    pass


class OptionUpdate(OptionBase):
    version: int = Field(ge=1)


class CriterionBase(SQLModel):
    name: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str = Field(default="", max_length=TEXT_MAX)
    weight: float = Field(ge=0, le=1_000_000)
    direction: Direction = Direction.BENEFIT

    _strip_name = field_validator("name", mode="before")(_strip)

    @field_validator("weight", mode="before")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return value  # reported as "must be a number"
        if not math.isfinite(number):
            raise ValueError("must be a finite number")
        return value


class CriterionCreate(CriterionBase):
    pass


class CriterionUpdate(CriterionBase):
    version: int = Field(ge=1)


class DecisionCreate(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    question: str = Field(default="", max_length=TEXT_MAX)
    background: str = Field(default="", max_length=TEXT_MAX)
    scale_min: int = Field(default=1, ge=-100, le=100)
    scale_max: int = Field(default=5, ge=-100, le=100)
    classification: str = Field(default="UNCLASSIFIED", min_length=1, max_length=80)

    _strip_title = field_validator("title", "classification", mode="before")(_strip)


FIELD_LABELS = {
    "title": "Title",
    "summary": "Summary",
    "description": "Description",
    "name": "Name",
    "weight": "Weight",
    "direction": "Direction",
    "version": "Version",
    "question": "Question",
    "background": "Background",
    "scale_min": "Scale minimum",
    "scale_max": "Scale maximum",
    "classification": "Classification",
}


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "string_too_short":
        return (
            "is required."
            if ctx.get("min_length") == 1
            else f"needs at least {ctx.get('min_length')} characters."
        )
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters."
    if kind in {"float_parsing", "int_parsing", "float_type", "int_type"}:
        return "must be a number."
    if kind == "finite_number":
        return "must be a finite number."
    if kind in {"greater_than_equal"}:
        return f"must be at least {ctx.get('ge'):g}."
    if kind in {"less_than_equal"}:
        return f"must be at most {ctx.get('le'):g}."
    if kind == "enum":
        return f"must be one of {ctx.get('expected')}."
    if kind == "missing":
        return "is required."
    return str(error.get("msg", "is not valid.")).removeprefix("Value error, ") + (
        "" if str(error.get("msg", "")).endswith(".") else "."
    )


def errors_by_field(exc: ValidationError) -> dict[str, str]:
    """Turn a pydantic error into ``{field: "Weight must be at least 0."}`` messages."""
    out: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error.get("loc") else "form"
        label = FIELD_LABELS.get(field, field.replace("_", " ").capitalize())
        out.setdefault(field, f"{label} {_message(error)}")
    return out


def parse(model: type[SQLModel], data: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """Validate ``data`` with ``model``; return ``(instance, {})`` or ``(None, errors)``."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, errors_by_field(exc)
