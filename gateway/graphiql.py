"""GraphiQL page with Tandem's example queries (development only)."""

from __future__ import annotations


def ide_html(default: str) -> str:
    """The GraphiQL page to serve; ``default`` is Strawberry's own page."""
    return default
