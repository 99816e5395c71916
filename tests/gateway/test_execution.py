"""The short path for plain leaf fields (``gateway.execution``) answers exactly what
graphql-core's own path answers: values, enums, ids, nulls and field errors."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.execution import LeanExecutionContext
from gateway.schema import _direct_global_ids

pytestmark = pytest.mark.asyncio


@strawberry.enum
class Mood(enum.Enum):
    GOOD = "good"
    BAD = "bad"


@strawberry.type
class Item(relay.Node):
    item_id: relay.NodeID[str]
    label: str | None
    mood: Mood
    at: datetime
    count: int  # an item below carries a string here: a field error

    @strawberry.field
    def shout(self) -> str:
        return (self.label or "").upper()


def items() -> list[Item]:
    at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    return [
        Item(item_id="a", label="one", mood=Mood.GOOD, at=at, count=1),
        Item(item_id="b", label=None, mood=Mood.BAD, at=at, count=2),
        Item(item_id="c", label="three", mood=None, at=at, count=3),  # type: ignore[arg-type]
        Item(item_id="d", label="four", mood=Mood.GOOD, at=at, count="x"),  # type: ignore[arg-type]
    ]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return list(items())

    @strawberry.field
    async def later(self) -> list[Item | None]:
        return list(items())


def schema(context: type[Any]) -> strawberry.Schema:
    built = strawberry.Schema(query=Query, execution_context_class=context)
    _direct_global_ids(built)
    return built


DOCUMENT = """{
  items { id label mood at count shout __typename again: label }
  later { id mood }
}"""


async def test_the_short_path_answers_as_graphql_core_does():
    lean = await schema(LeanExecutionContext).execute(DOCUMENT)
    plain = await schema(StrawberryGraphQLCoreExecutionContext).execute(DOCUMENT)
    assert lean.data == plain.data
    assert [(e.message, e.path) for e in lean.errors or []] == [
        (e.message, e.path) for e in plain.errors or []
    ]
    assert lean.data is not None
    # a non-null field without a value, and one that does not serialise: the item
    # becomes null with an error at its path; the others are answered
    assert [i is None for i in lean.data["items"]] == [False, False, True, True]
    assert lean.data["items"][1]["mood"] == "BAD"
    assert lean.data["later"][0] == {"id": relay.to_base64("Item", "a"), "mood": "GOOD"}
    assert {tuple(e.path or ()) for e in lean.errors or []} >= {
        ("items", 2, "mood"),
        ("items", 3, "count"),
    }


async def test_values_enums_and_ids_are_read_in_place():
    document = "{ items { id label at } later { id at } }"
    lean = await schema(LeanExecutionContext).execute(document)
    plain = await schema(StrawberryGraphQLCoreExecutionContext).execute(document)
    assert lean.errors is None and lean.data == plain.data
    assert lean.data is not None
    assert lean.data["items"][0] == {
        "id": relay.to_base64("Item", "a"),
        "label": "one",
        "at": "2026-01-02T03:04:00+00:00",
    }
    assert lean.data["items"][1]["label"] is None
    assert lean.data["later"][3]["id"] == relay.to_base64("Item", "d")
