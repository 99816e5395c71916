"""What stops one query from taking the platform down, and trusted documents.

Limits (all configurable in :class:`GatewaySettings`): depth, aliases, tokens, a
query cost, operations per batched request, and the page size of every connection.
The **cost** of a query is the number of objects it can return in the worst case:
each field costs 1, times the page size of every connection or list above it (the
``first`` argument when given as a literal, the maximum page size when it comes from a
variable, 20 by default; other lists count 10). It is computed statically, before
anything is called, so an expensive query costs the caller an error, not the
services their time.

**Persisted queries**: a client may send ``extensions.persistedQuery.sha256Hash`` (the
Apollo convention) or ``documentId`` instead of ``query``. Documents come from a JSON
file (``PERSISTED_QUERIES_FILE``: hash → document); in production with
``TRUSTED_QUERIES_ONLY=true`` every other document is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLUnionType

from gateway.connections import DEFAULT_PAGE

LIST_GUESS = 10


def _unwrap(t: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        if isinstance(t, GraphQLList):
            is_list = True
        t = t.of_type
    return t, is_list


def cost_rule(max_cost: int, max_page: int) -> type[ValidationRule]:
    """A validation rule refusing operations that cost more than ``max_cost``."""

    class QueryCost(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.ctx = context

        def _selection_cost(
            self, parent: Any, selections: SelectionSetNode | None, seen: frozenset
        ) -> int:
            if selections is None:
                return 0
            total = 0
            for sel in selections.selections:
                if isinstance(sel, FieldNode):
                    total += self._field_cost(parent, sel, seen)
                elif isinstance(sel, InlineFragmentNode):
                    target = parent
                    if sel.type_condition is not None:
                        target = self.ctx.schema.get_type(sel.type_condition.name.value)
                    total += self._selection_cost(target, sel.selection_set, seen)
                elif isinstance(sel, FragmentSpreadNode):
                    name = sel.name.value
                    frag = self.ctx.get_fragment(name)
                    if frag is None or name in seen:
                        continue
                    target = self.ctx.schema.get_type(frag.type_condition.name.value)
                    total += self._selection_cost(
                        target, frag.selection_set, seen | {name}
                    )
            return total

        def _field_cost(self, parent: Any, node: FieldNode, seen: frozenset) -> int:
            name = node.name.value
            if name.startswith("__"):
                return 0
            fields = getattr(parent, "fields", None)
            if not isinstance(
                parent, (GraphQLObjectType, GraphQLInterfaceType)
            ) and not isinstance(parent, GraphQLUnionType):
                return 1
            field_def = fields.get(name) if fields else None
            if field_def is None:
                return 1
            inner, is_list = _unwrap(field_def.type)
            multiplier = 1
            first = next(
                (a for a in node.arguments or () if a.name.value == "first"), None
            )
            if first is not None:
                if isinstance(first.value, IntValueNode):
                    multiplier = max(int(first.value.value), 1)
                elif isinstance(first.value, VariableNode):
                    multiplier = max_page
            elif getattr(inner, "name", "").endswith("Connection"):
                multiplier = DEFAULT_PAGE
            elif is_list and not getattr(parent, "name", "").endswith("Connection"):
                # a connection's ``edges`` were counted by the connection's page
                multiplier = LIST_GUESS
            return 1 + multiplier * self._selection_cost(
                inner, node.selection_set, seen
            )

        def enter_operation_definition(
            self, node: OperationDefinitionNode, *_: Any
        ) -> None:
            root = self.ctx.schema.get_root_type(node.operation)
            cost = self._selection_cost(root, node.selection_set, frozenset())
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"query cost {cost} exceeds the limit of {max_cost}: ask for "
                        "smaller pages (`first`) or fewer nested lists",
                        node,
                        extensions={"code": "QueryTooExpensive", "cost": cost},
                    )
                )

    return QueryCost


class PersistedQueries:
    """Trusted documents by hash."""

    def __init__(self, documents: dict[str, str] | None = None) -> None:
        self.documents: dict[str, str] = {}
        for doc in (documents or {}).values():
            self.add(doc)

    @classmethod
    def from_file(cls, path: str | None) -> PersistedQueries:
        if not path:
            return cls()
        data = json.loads(Path(path).read_text())
        docs = data.values() if isinstance(data, dict) else data
        return cls({str(i): d for i, d in enumerate(docs)})

    def add(self, document: str) -> str:
        digest = hashlib.sha256(document.encode()).hexdigest()
        self.documents[digest] = document
        return digest

    def resolve(self, extensions: dict[str, Any] | None, document_id: Any) -> str:
        """The document a request names by hash; a clear error when unknown."""
        key = document_id
        if key is None and extensions:
            key = (extensions.get("persistedQuery") or {}).get("sha256Hash")
        if not isinstance(key, str):
            raise LookupError("no persisted query hash given")
        key = key.removeprefix("sha256:")
        if key not in self.documents:
            raise KeyError(key)
        return self.documents[key]
