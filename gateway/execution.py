"""Field execution with a short path for plain leaf fields.

graphql-core executes every field the same way: a path entry, a resolve-info
object, the resolver, an awaitable check, then completion. Most fields of a list
page are plain attributes of an object already in hand (a session's ``startsAt``,
``state``, ``agenda``): for those, that machinery costs several times the value
itself, and a 50-item page has hundreds of them.

:class:`LeanExecutionContext` takes a short path for a field that

* reads an attribute (Strawberry's resolver of a field without a resolver of its
  own, or a node's ``id`` read directly, ``gateway.schema``),
* takes no argument, and
* is a scalar or an enum (nullable or not),

when no resolver middleware runs (the tracing extension's spans need every field):
its value is read and serialised in place. Anything else, and any such field whose
value is missing where it may not be, or does not serialise, takes graphql-core's
own path (which reports the error exactly as before). The answer is the same.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple

from graphql import (
    ExecutionResult,
    GraphQLEnumType,
    GraphQLID,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import gather_with_cancel
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# A resolver marked with this attribute reads an attribute of ``source`` (and its
# ``info`` is not used) whenever ``type(source)`` is the marked class (None: any).
DIRECT = "_tandem_direct_of"
_SLOW = object()


class _Leaf(NamedTuple):
    resolve: Any
    leaf: GraphQLScalarType | GraphQLEnumType
    non_null: bool
    only_for: type | None
    # A value of exactly this type is its own serialisation (a ``str`` of a
    # ``String`` or ``ID``), or is serialised by this table (a Strawberry enum's
    # members to their GraphQL names); anything else is coerced by the type.
    same: type | None
    names: dict[Any, str] | None
    names_of: type | None


# (response name, its field details, the short path or None)
_Plan = list[tuple[str, FieldDetailsList, _Leaf | None]]


def _leaf_of(parent: GraphQLObjectType, details: FieldDetailsList) -> _Leaf | None:
    node = details[0].node
    name = node.name.value
    if name.startswith("__") or node.arguments:
        return None
    field = parent.fields.get(name)
    if field is None or field.args or field.resolve is None:
        return None
    resolve = field.resolve
    if getattr(resolve, "_is_default", False) and (
        getattr(resolve, "__name__", "") == "_get_basic_result"
    ):
        # Strawberry's attribute read of a basic field (no resolver, no field
        # extension such as a permission class): info is not used. A field with
        # extensions is also marked ``_is_default``; it keeps graphql-core's path.
        only_for = None
    elif hasattr(resolve, DIRECT):
        only_for = getattr(resolve, DIRECT)
    else:
        return None
    kind = field.type
    non_null = isinstance(kind, GraphQLNonNull)
    if non_null:
        kind = kind.of_type
    if not isinstance(kind, (GraphQLScalarType, GraphQLEnumType)):
        return None
    same = str if kind in (GraphQLString, GraphQLID) else None
    names, names_of = _enum_names(kind)
    return _Leaf(resolve, kind, non_null, only_for, same, names, names_of)


def _enum_names(
    kind: GraphQLScalarType | GraphQLEnumType,
) -> tuple[dict[Any, str] | None, type | None]:
    """A Strawberry enum's members by their GraphQL names, as its
    ``coerce_output_value`` names them (the first GraphQL value equal to the
    member's value)."""
    wrapped = getattr(kind, "wrapped_cls", None)
    if not isinstance(kind, GraphQLEnumType) or not isinstance(wrapped, type):
        return None, None
    if not issubclass(wrapped, Enum):
        return None, None
    names: dict[Any, str] = {}
    for member in wrapped:
        for name, value in kind.values.items():
            if member.value == value.value:
                names[member] = name
                break
    return names, wrapped


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the short path described above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # By (parent type, grouped field set): graphql-core memoises the set of a
        # list's items, so one plan serves the whole list. The set is kept with its
        # plan, so its id is not reused while this execution lives.
        self._plans: dict[tuple[int, int], tuple[Any, _Plan | None]] = {}

    def build_response(self, data: dict[str, Any] | None) -> Any:
        response = super().build_response(data)
        if isinstance(response, ExecutionResult):
            # Answered in full (nothing deferred): the memoised plans and field sets
            # are no longer needed. The context refers to itself (its async helpers
            # are its own bound methods), so what it holds would otherwise wait for
            # the cycle collector.
            self._plans.clear()
            self._relevant_sub_fields.clear()
        return response

    def _plan(
        self, parent_type: GraphQLObjectType, fields: GroupedFieldSet
    ) -> _Plan | None:
        key = (id(parent_type), id(fields))
        found = self._plans.get(key)
        if found is None:
            plan: _Plan = [
                (name, details, _leaf_of(parent_type, details))
                for name, details in fields.items()
            ]
            found = (fields, plan if any(p[2] for p in plan) else None)
            self._plans[key] = found
        return found[1]

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        middleware = self.middleware_manager
        plan = (
            None
            if middleware is not None and middleware.middlewares
            else self._plan(parent_type, grouped_field_set)
        )
        if plan is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, details, leaf in plan:
                if leaf is not None:
                    value = _read(leaf, source_value)
                    if value is not _SLOW:
                        results[response_name] = value
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    details,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[f] for f in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                name = awaitable_fields[0]
                results[name] = await results[name]
            else:
                awaited = await gather_with_cancel(
                    *(results[name] for name in awaitable_fields)
                )
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()


def _read(leaf: _Leaf, source: Any) -> Any:
    """The field's serialised value, or ``_SLOW`` for graphql-core's own path."""
    if leaf.only_for is not None and type(source) is not leaf.only_for:
        return _SLOW
    try:
        value = leaf.resolve(source, None)
        if value is None:
            return _SLOW if leaf.non_null else None
        kind = type(value)
        if kind is leaf.same:
            return value
        if kind is leaf.names_of:
            name = leaf.names.get(value)  # type: ignore[union-attr]
            if name is not None:
                return name
        coerced = leaf.leaf.coerce_output_value(value)
    except Exception:
        return _SLOW  # graphql-core's path raises it again, as a field error
    if coerced is Undefined or coerced is None:
        return _SLOW
    return coerced
