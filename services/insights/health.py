"""Part of the insights service, being built (see main.py's install hooks)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

router = APIRouter()


def install(app: Any, runtime: Any) -> None:
    """Add this part's read models, handlers (via app.state.fact_handlers) and routes."""
