"""Turning validation errors of the input models (``…Create``, ``…Update`` in
:mod:`app.db.models`) into one clear message per field."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlmodel import SQLModel

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


def _message(error: ErrorDetails) -> str:
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
