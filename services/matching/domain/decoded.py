"""The one type of decoded JSON the domain takes: a payload or a stored document
whose shape is its producer's (a profiles event, a recorded fairness report). The
domain reads the fields it needs from it and checks them; nothing else is untyped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JsonObject = Mapping[str, Any]
"""A decoded JSON object of another part's shape (values are whatever JSON holds)."""
