"""The events the sessions service stores.

Each shares its name with the contract in ``contracts.sessions`` and may add private
references (ids of rows in ``private_texts``) that are never published; the text itself
never enters an event, so erasure can delete it while the history stays.
"""

from __future__ import annotations

from chassis.events import EventRegistry
from contracts.sessions import registry as public
from contracts.sessions import relationships as r

registry = EventRegistry()


@registry.register
class ContractDrafted(r.ContractDrafted):
    terms_text_id: str | None = (
        None  # mentor's role, objectives, norms, escalation path
    )


def include_public() -> None:
    """Every contract event not redefined here is stored as published."""
    for event_type in public.event_types:
        if event_type not in registry:
            registry.register(public.model(event_type))


include_public()
