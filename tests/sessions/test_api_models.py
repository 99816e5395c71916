"""The sessions API's response models say everything the service answers.

Answers are rendered through ``contracts.api.sessions``; a field the model forgot
would be refused (the models forbid extra fields) or, worse, silently dropped. A
development item's answer is the merge of its events' fields, so its model must
declare every field any of those events carries.
"""

from __future__ import annotations

from contracts.api.sessions import DevelopmentItem, ItemKind, Note
from contracts.sessions.development import CheckInKind
from services.sessions.domain import checkin, milestone, rotation  # noqa: F401
from services.sessions.domain.events import registry
from services.sessions.projections.development import ITEMS, TEXTS


def test_a_development_item_declares_every_field_its_events_carry() -> None:
    carried = {
        TEXTS.get(name, name)
        for event_type in ITEMS
        for name in registry.model(event_type).model_fields
    } - {"raised_by"}  # an escalation's author is never shown
    assert carried <= set(DevelopmentItem.model_fields)
    assert set(DevelopmentItem.model_fields) - carried == {"id", "state"}
    assert {kind for kind, _ in ITEMS.values()} == set(ItemKind)


def test_fields_a_reader_may_not_see_stay_absent_not_null() -> None:
    overseer = Note(
        note_id="n",
        relationship_id="r",
        kind="journal",
        author_role="mentee",
        visibility="shared",
        created_at="2027-01-04T09:00:00+00:00",
        edited_at=None,
        erased=False,
    )
    shown = overseer.model_dump(mode="json", exclude_unset=True)
    assert "body" not in shown and shown["edited_at"] is None
    item = DevelopmentItem.model_validate(
        {"id": "c", "kind": "monthly", "state": "recorded", "relationship_id": "r"}
    )
    assert item.kind == CheckInKind.MONTHLY
    assert item.model_dump(mode="json", exclude_unset=True) == {
        "id": "c",
        "kind": "monthly",
        "state": "recorded",
        "relationship_id": "r",
    }
