"""The short paths for plain leaf fields and for plain object and list fields
(``gateway.execution``) answer exactly what graphql-core's own path answers:
values, enums, ids, nulls, field errors and their propagation."""

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

    @strawberry.field
    async def echo(self) -> str:
        return self.item_id


def items() -> list[Item]:
    at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    return [
        Item(item_id="a", label="one", mood=Mood.GOOD, at=at, count=1),
        Item(item_id="b", label=None, mood=Mood.BAD, at=at, count=2),
        Item(item_id="c", label="three", mood=None, at=at, count=3),  # type: ignore[arg-type]
        Item(item_id="d", label="four", mood=Mood.GOOD, at=at, count="x"),  # type: ignore[arg-type]
    ]


@strawberry.type
class Other:
    item_id: str


@strawberry.type
class Edge:
    node: Item
    maybe: Item | None = None


@strawberry.type
class Page:
    edges: list[Edge]
    loose: list[Edge | None] | None
    firm: list[Item]
    first: Edge | None


def page(edges: Any, loose: Any = None, firm: Any = (), first: Any = None) -> Page:
    return Page(edges=edges, loose=loose, firm=firm, first=first)


def pages() -> dict[str, Page]:
    a, b, c, d = items()
    return {
        "good": page(
            [Edge(node=a), Edge(node=b, maybe=a)], [None, Edge(node=b)], [a, b]
        ),
        # an item without a non-null value: the item's error nulls the next nullable
        # field up (the non-null list, then the page)
        "propagates": page([Edge(node=a)], [Edge(node=c), None], [a, d]),
        "tuples": page(
            (Edge(node=a), Edge(node=b)), (Edge(node=b),), (a,), Edge(node=b)
        ),
        # not the shapes the short path takes: graphql-core's own path runs them
        "null_node": page([Edge(node=None)], [Edge(node=None)]),  # type: ignore[arg-type]
        "other_type": page([Edge(node=Other(item_id="z"))], None, [Other(item_id="y")]),  # type: ignore[arg-type]
        "null_in_list": page([Edge(node=a), None], None, [a, None]),
        "generator": page(iter([Edge(node=a)]), iter([Edge(node=b)]), iter([a])),
        "not_a_list": page(Edge(node=a), None, a),
        "missing": page([Edge(node=a)], None, [a], None),
    }


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return list(items())

    @strawberry.field
    async def later(self) -> list[Item | None]:
        return list(items())

    @strawberry.field
    def page(self, name: str) -> Page | None:
        return pages()[name]

    @strawberry.field
    async def page_later(self, name: str) -> Page | None:
        return pages()[name]


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


PAGE_SELECTION = """
  edges { node { id label mood echo count } maybe { id } }
  loose { node { id echo } }
  firm { id label count }
  first { node { id } }
"""


@pytest.mark.parametrize("name", sorted(pages()))
@pytest.mark.parametrize("field", ["page", "pageLater"])
async def test_objects_and_lists_answer_as_graphql_core_does(name: str, field: str):
    document = f'{{ {field}(name: "{name}") {{ {PAGE_SELECTION} }} }}'
    lean = await schema(LeanExecutionContext).execute(document)
    plain = await schema(StrawberryGraphQLCoreExecutionContext).execute(document)
    assert lean.data is not None
    assert lean.data == plain.data
    assert [(e.message, e.path, e.locations) for e in lean.errors or []] == [
        (e.message, e.path, e.locations) for e in plain.errors or []
    ]


async def test_a_page_of_items_is_answered_in_full():
    document = f'{{ page(name: "good") {{ {PAGE_SELECTION} }} }}'
    lean = await schema(LeanExecutionContext).execute(document)
    assert lean.errors is None and lean.data is not None
    answered = lean.data["page"]
    assert [e["node"]["echo"] for e in answered["edges"]] == ["a", "b"]
    assert answered["edges"][1]["maybe"] == {"id": relay.to_base64("Item", "a")}
    assert answered["loose"] == [
        None,
        {"node": {"id": relay.to_base64("Item", "b"), "echo": "b"}},
    ]
    assert [i["count"] for i in answered["firm"]] == [1, 2]


async def test_an_error_below_a_non_null_list_nulls_the_page_with_its_path():
    document = f'{{ page(name: "propagates") {{ {PAGE_SELECTION} }} }}'
    lean = await schema(LeanExecutionContext).execute(document)
    assert lean.data == {"page": None}
    paths = {tuple(e.path or ()) for e in lean.errors or []}
    assert ("page", "firm", 1, "count") in paths
    assert ("page", "loose", 0, "node", "mood") not in paths  # not selected there
