"""The event store: an append-only log of every service's domain events.

One table holds every stream. Appends name the version the writer last saw; a stale
writer gets ``ConcurrencyConflict`` and writes nothing. The global log is read in
``LogPosition`` order by the relay and catch-up projections, and never passes an event
that commits late (see ``postgres.py`` for how).
"""

from __future__ import annotations

from chassis.eventstore.base import EventStore, EventTooLarge, StreamTenantMismatch
from chassis.eventstore.factory import event_store_for

__all__ = ["EventStore", "EventTooLarge", "StreamTenantMismatch", "event_store_for"]
