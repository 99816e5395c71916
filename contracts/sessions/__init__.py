"""Integration events of the sessions service (topic ``tandem.sessions.v1``).

One module per part of the relationship; this package's ``registry`` holds them all.
Free text (notes, reflections, feedback comments, agendas) never travels here: events
carry ids, dates, statuses, ratings and counts, so insights can measure without
reading what people wrote.
"""

from __future__ import annotations

from chassis.events import EventRegistry
from contracts.sessions import development, meetings, notes, relationships

registry = EventRegistry()
for _module in (relationships, meetings, notes, development):
    registry.include(_module.registry)
