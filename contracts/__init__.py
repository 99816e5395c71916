"""The published language: event payload models per producer, versioned.

Every string a contract model carries is declared one of two things, next to the model:
personal (``personal_fields``: the producer stores it encrypted with the person's key,
so erasure shreds it, and a consumer that keeps it must forget it on ``PersonErased``),
or not personal (``@not_personal(field="why")``: an id, a code, a vocabulary word, an
organisation's own name for something). ``tests/test_personal_fields.py`` walks every
model of every producer and fails on a string field that is neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_NOT_PERSONAL: dict[type[BaseModel], dict[str, str]] = {}


def not_personal(**reasons: str) -> Callable[[type[M]], type[M]]:
    """Declare fields of a contract model as holding no personal data, each with why."""

    def declare(model: type[M]) -> type[M]:
        unknown = set(reasons) - set(model.model_fields)
        if unknown:
            raise ValueError(f"{model.__name__} has no field {sorted(unknown)}")
        personal = set(getattr(model, "personal_fields", ()))
        if personal & set(reasons):
            raise ValueError(
                f"{model.__name__}: {sorted(personal & set(reasons))} declared "
                "personal and not personal"
            )
        if not all(why.strip() for why in reasons.values()):
            raise ValueError(f"{model.__name__}: every declaration needs a reason")
        _NOT_PERSONAL[model] = dict(reasons)
        return model

    return declare


def not_personal_fields(model: type[BaseModel]) -> dict[str, str]:
    """The fields ``model`` (or a model it extends) declares not personal, with why."""
    declared: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        declared.update(_NOT_PERSONAL.get(cls, {}))
    return declared
