"""Integration events of the sessions service (topic ``tandem.sessions.v1``).

One module per part of the relationship; this package's ``registry`` holds them all.
Free text (notes, reflections, feedback comments, agendas) never travels here: events
carry ids, dates, statuses, ratings and counts, so insights can measure without
reading what people wrote.
"""

from __future__ import annotations

from chassis.events import EventRegistry
from contracts.sessions import relationships

registry = EventRegistry()
registry.include(relationships.registry)

# Each module below adds its events when it exists (built part by part).
for _name in ("meetings", "notes", "development"):
    try:
        _module = __import__(f"contracts.sessions.{_name}", fromlist=["registry"])
    except ModuleNotFoundError:
        continue
    registry.include(_module.registry)
