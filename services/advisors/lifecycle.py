"""Part of the advisors service, being built (see main.py's install hooks)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

router = APIRouter()


def install(app: Any, runtime: Any, cipher: Any) -> None:
    """Add this part's application object, consumer handlers and schema to the app."""
