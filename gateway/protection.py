"""What stops one query from taking the platform down, and trusted documents.

Limits (all configurable in :class:`GatewaySettings`): depth, aliases, tokens, a
query cost, operations per batched request, and the page size of every connection.
The **cost** of a query is the work it can cause in the worst case: each field costs
its weight, times the page size of every connection or list above it (the ``first``
argument when given as a literal, the maximum page size when it comes from a
variable, 20 by default; other lists count 10). A plain field weighs 1; a root field
weighs what its upstream call costs (``ROOT_QUERY_WEIGHT``, ``MUTATION_WEIGHT``), and
the fields that make a service compute a report weigh far more (``FIELD_WEIGHTS``: a
programme scorecard folds every relationship of the tenant). It is computed
statically, before anything is called, so an expensive query costs the caller an
error, not the services their time. One HTTP request with several (batched)
operations shares one budget (``max_request_cost``): :class:`RequestBudget` refuses
the operations that would overspend it.

**Directives**: a document with more than ``max_directives`` directives is refused
before it is validated (:class:`DocumentLimits`), so 1,000 unknown directives cost
one typed error, not a thousand.

**Persisted queries**: a client may send ``extensions.persistedQuery.sha256Hash`` (the
Apollo convention) or ``documentId`` instead of ``query``. Documents come from a JSON
file (``PERSISTED_QUERIES_FILE``: hash → document); in production with
``TRUSTED_QUERIES_ONLY=true`` every other document is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    InlineFragmentNode,
    IntValueNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    Visitor,
    get_operation_ast,
    visit,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLUnionType
from strawberry.extensions import SchemaExtension

from gateway.connections import DEFAULT_PAGE

LIST_GUESS = 10


def _unwrap(t: GraphQLType) -> tuple[GraphQLType, bool]:
    is_list = False
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        if isinstance(t, GraphQLList):
            is_list = True
        t = t.of_type
    return t, is_list


# The upstream work a field triggers, in the unit of the cost model (a plain field).
ROOT_QUERY_WEIGHT = 10
MUTATION_WEIGHT = 25
FIELD_WEIGHTS: dict[str, int] = {
    # insights folds the tenant's events into these reports on every read
    "Query.programmeScorecard": 400,
    "Query.cohortScorecard": 200,
    "Query.relationshipScorecard": 50,
    "Query.menteeScorecard": 50,
    "Query.menteeScorecards": 50,
    "Query.relationshipHealth": 20,
    "Query.relationshipHealths": 50,
    "Query.earlyWarnings": 50,
    "Query.relationshipHealthHistory": 300,
    "Query.mentorImpact": 100,
    "Query.equityReport": 300,
    "Query.pairingPatterns": 150,
    "Query.programmeOperations": 150,
    "Query.riskHeatMap": 30,
    # matching scores every candidate mentor
    "Query.suggestions": 100,
    "Query.rotationPlan": 50,
    # one upstream call per parent object
    "Cohort.eligibility": 10,
    "ImportJob.records": 10,
    "PulseSurvey.results": 20,
}


def field_weight(parent: GraphQLType | None, name: str) -> int:
    """What one ``parent.name`` costs before its children (see ``FIELD_WEIGHTS``)."""
    parent_name = getattr(parent, "name", "")
    weight = FIELD_WEIGHTS.get(f"{parent_name}.{name}")
    if weight is not None:
        return weight
    if parent_name == "Mutation":
        return MUTATION_WEIGHT
    if parent_name in ("Query", "Subscription"):
        return ROOT_QUERY_WEIGHT
    return 1


class CostModel:
    """The static cost of an operation (see the module docstring)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        max_page: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.max_page = max_page

    def operation(self, node: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(node.operation)
        return self._selection_cost(root, node.selection_set, frozenset())

    def _selection_cost(
        self,
        parent: GraphQLType | None,
        selections: SelectionSetNode | None,
        seen: frozenset[str],
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
                    target = self.schema.get_type(sel.type_condition.name.value)
                total += self._selection_cost(target, sel.selection_set, seen)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                frag = self.fragments.get(name)
                if frag is None or name in seen:
                    continue
                target = self.schema.get_type(frag.type_condition.name.value)
                total += self._selection_cost(target, frag.selection_set, seen | {name})
        return total

    def _field_cost(
        self, parent: GraphQLType | None, node: FieldNode, seen: frozenset[str]
    ) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        if not isinstance(
            parent, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)
        ):
            return 1
        fields = getattr(parent, "fields", None)
        field_def = fields.get(name) if fields else None
        if field_def is None:
            return 1
        inner, is_list = _unwrap(field_def.type)
        multiplier = 1
        first = next((a for a in node.arguments or () if a.name.value == "first"), None)
        if first is not None:
            if isinstance(first.value, IntValueNode):
                multiplier = min(max(int(first.value.value), 1), 10**6)
            elif isinstance(first.value, VariableNode):
                multiplier = self.max_page
        elif getattr(inner, "name", "").endswith("Connection"):
            multiplier = DEFAULT_PAGE
        elif is_list and not getattr(parent, "name", "").endswith("Connection"):
            # a connection's ``edges`` were counted by the connection's page
            multiplier = LIST_GUESS
        return field_weight(parent, name) + multiplier * self._selection_cost(
            inner, node.selection_set, seen
        )


def too_expensive(
    cost: int, limit: int, node: Node | None = None, *, batch: bool = False
) -> GraphQLError:
    where = "this request's operations together cost" if batch else "query cost"
    return GraphQLError(
        f"{where} {cost}, more than the limit of {limit}: ask for smaller pages "
        "(`first`), fewer reports or fewer operations per request",
        node,
        extensions={"code": "QueryTooExpensive", "cost": cost, "limit": limit},
    )


def cost_rule(max_cost: int, max_page: int) -> type[ValidationRule]:
    """A validation rule refusing operations that cost more than ``max_cost``."""

    class QueryCost(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.ctx = context

        def enter_operation_definition(
            self, node: OperationDefinitionNode, *_: Any
        ) -> None:
            fragments = {
                d.name.value: d
                for d in self.ctx.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            cost = CostModel(self.ctx.schema, fragments, max_page).operation(node)
            if cost > max_cost:
                self.report_error(too_expensive(cost, max_cost, node))

    return QueryCost


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    max_page: int,
) -> int:
    """The cost of the operation of ``document`` that would run (0 if none does)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    fragments = {
        d.name.value: d
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    return CostModel(schema, fragments, max_page).operation(operation)


def count_directives(document: DocumentNode) -> int:
    """How many directives ``document`` uses (anywhere)."""
    count = 0

    class Counter(Visitor):
        def enter_directive(self, *_: Any) -> None:
            nonlocal count
            count += 1

    visit(document, Counter())
    return count


class DocumentLimits(SchemaExtension):
    """Refuses a document with more than ``max_directives`` directives, unvalidated."""

    def __init__(self, *, max_directives: int) -> None:
        self.max_directives = max_directives

    def on_parse(self) -> Iterator[None]:
        yield
        document = self.execution_context.graphql_document
        if document is None:
            return
        query = self.execution_context.query
        if isinstance(query, str) and query.count("@") <= self.max_directives:
            return  # every directive is written with an "@": not more than those
        found = count_directives(document)
        if found > self.max_directives:
            raise GraphQLError(
                f"the document uses {found} directives, more than the limit of "
                f"{self.max_directives}",
                extensions={"code": "TooManyDirectives", "limit": self.max_directives},
            )


class RequestBudget(SchemaExtension):
    """One cost budget for every operation of one HTTP request (a batch).

    The per-request context keeps what was spent; an operation that would overspend
    it is refused (before anything is called) with ``QueryTooExpensive``.
    """

    def __init__(
        self,
        *,
        max_request_cost: int,
        max_page: int,
        costs: dict[tuple[str, str | None], int] | None = None,
    ) -> None:
        self.max_request_cost = max_request_cost
        self.max_page = max_page
        # The cost of a document's operation, by (document text, operation name):
        # shared by the schema's requests (a document's cost never changes).
        self.costs = costs if costs is not None else {}

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        context = ec.context
        if (
            not ec.pre_execution_errors
            and ec.graphql_document is not None
            and getattr(context, "spent_cost", None) is not None
        ):
            cost = self._cost_of(ec.query, ec.graphql_document, ec.operation_name)
            total = context.spent_cost + cost
            if total > self.max_request_cost:
                ec.pre_execution_errors = [
                    too_expensive(total, self.max_request_cost, batch=True)
                ]
            else:
                context.spent_cost = total
        yield

    def _cost_of(
        self, query: str | None, document: DocumentNode, operation_name: str | None
    ) -> int:
        schema = self.execution_context.schema._schema
        if query is None:
            return operation_cost(schema, document, operation_name, self.max_page)
        key = (query, operation_name)
        cost = self.costs.get(key)
        if cost is None:
            cost = operation_cost(schema, document, operation_name, self.max_page)
            if len(self.costs) >= COST_CACHE_SIZE:
                self.costs.pop(next(iter(self.costs)))  # the oldest
            self.costs[key] = cost
        return cost


# Documents whose cost is remembered (per schema; the oldest is forgotten first).
COST_CACHE_SIZE = 512


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
