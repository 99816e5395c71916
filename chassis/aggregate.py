"""Event-sourced aggregates: they decide, record events, and are rebuilt from them.

Framework-free on purpose, so a service's domain package can subclass it. An aggregate
method checks the business rule, then calls ``self._record(SomethingHappened(...))``;
``_record`` applies the event to the aggregate's state (through ``mutate``) and keeps it
as pending until the application saves it. Loading replays the stored events through
the same ``mutate``, so live state and replayed state cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Self

from chassis.events import EventPayload


class Aggregate:
    """Base of every event-sourced aggregate.

    ``stream_type`` names the kind of stream (``Person``, ``Pairing``); ``id`` is the
    stream id; ``version`` the number of events applied so far (stored ones and
    pending ones); ``tenant`` the organisation the stream belongs to.
    """

    stream_type: ClassVar[str] = ""

    def __init__(self, id: str, tenant: str) -> None:
        self.id = id
        self.tenant = tenant
        self.version = 0
        self._pending: list[EventPayload] = []

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("stream_type"):
            cls.stream_type = cls.__name__

    # -- recording ------------------------------------------------------------------

    def _record(self, event: EventPayload) -> None:
        self.mutate(event)
        self.version += 1
        self._pending.append(event)

    def mutate(self, event: EventPayload) -> None:
        """Change state for one event; subclasses dispatch on the event's type."""
        handler = getattr(self, f"when_{event.event_type}", None)
        if handler is not None:
            handler(event)

    @property
    def pending_events(self) -> list[EventPayload]:
        return list(self._pending)

    def collect_pending(self) -> list[EventPayload]:
        """Hand over the pending events (the application saves them)."""
        pending, self._pending = self._pending, []
        return pending

    @property
    def stored_version(self) -> int:
        """The version the stream had when this aggregate was loaded."""
        return self.version - len(self._pending)

    # -- rebuilding -----------------------------------------------------------------

    @classmethod
    def rebuild(cls, id: str, tenant: str, events: Iterable[EventPayload]) -> Self:
        """Replay stored events into a fresh aggregate."""
        aggregate = cls.__new__(cls)
        Aggregate.__init__(aggregate, id, tenant)
        aggregate.initial_state()
        for event in events:
            aggregate.mutate(event)
            aggregate.version += 1
        return aggregate

    def initial_state(self) -> None:
        """Set the attributes a fresh aggregate has before any event (override)."""
