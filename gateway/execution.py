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

A field that reads an attribute, takes no argument or directive and is an object
type (not an interface or union) or a list of one, such as a connection's ``edges``
and an edge's ``node``, also skips the resolve-info object and graphql-core's
completion: its object (or each of its objects) is checked with the type's own
``is_type_of`` and its selection executed directly (again by the plan above). A
value that does not fit (missing where it may not be, of another type, not a list
or tuple, awaitable) takes graphql-core's path before anything of it ran. Errors
raised below such a field are located, nulled and propagated as graphql-core does:
the same ``handle_field_error`` at the same paths.
"""

from __future__ import annotations

import weakref
from enum import Enum
from functools import partial
from operator import attrgetter
from typing import Any, NamedTuple

from graphql import (
    ExecutionResult,
    GraphQLEnumType,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
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


class _Nest(NamedTuple):
    """An attribute read of an object type, or of a list of one."""

    resolve: Any
    only_for: type | None
    field_type: GraphQLOutputType  # as declared: errors are handled against it
    non_null: bool
    listed: bool
    item_type: GraphQLOutputType  # a list's item type as declared (else unused)
    item_non_null: bool
    object_type: GraphQLObjectType
    is_type_of: Any  # Strawberry's own check (its info is not used), or None


# (response name, its field details, the leaf short path, the nested short path)
_Plan = list[tuple[str, FieldDetailsList, _Leaf | None, _Nest | None]]

# Strawberry's generated ``is_type_of`` (an object type with interfaces) reads only
# the object; one a type declares itself may read its info, so it keeps the slow path.
_STRAWBERRY_IS_TYPE_OF = "._get_is_type_of.<locals>.is_type_of"


def _attribute_read(
    parent: GraphQLObjectType, details: FieldDetailsList
) -> tuple[Any, Any, type | None] | None:
    """(field, read, only_for) of a field that reads an attribute of its source
    and takes no argument (``read(source)`` is the resolver's value); None
    otherwise."""
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
        # With the default resolver (``getattr``) the read is the attribute itself.
        definition = (field.extensions or {}).get("strawberry-definition")
        if (
            definition is not None
            and definition.base_resolver is None
            and definition.default_resolver is getattr
        ):
            return field, attrgetter(definition.python_name), None
        return field, partial(resolve, info=None), None
    if hasattr(resolve, DIRECT):
        return field, partial(resolve, info=None), getattr(resolve, DIRECT)
    return None


def _leaf_of(parent: GraphQLObjectType, details: FieldDetailsList) -> _Leaf | None:
    read = _attribute_read(parent, details)
    if read is None:
        return None
    field, resolve, only_for = read
    kind = field.type
    non_null = isinstance(kind, GraphQLNonNull)
    if non_null:
        kind = kind.of_type
    if not isinstance(kind, (GraphQLScalarType, GraphQLEnumType)):
        return None
    same = str if kind in (GraphQLString, GraphQLID) else None
    names, names_of = _enum_names(kind)
    return _Leaf(resolve, kind, non_null, only_for, same, names, names_of)


def _nest_of(parent: GraphQLObjectType, details: FieldDetailsList) -> _Nest | None:
    if any(d.node.directives for d in details):
        return None  # @stream and the like are graphql-core's to apply
    read = _attribute_read(parent, details)
    if read is None:
        return None
    field, resolve, only_for = read
    declared = field.type
    kind = declared
    non_null = isinstance(kind, GraphQLNonNull)
    if non_null:
        kind = kind.of_type
    listed = isinstance(kind, GraphQLList)
    item_type = kind.of_type if listed else kind
    item_non_null = False
    inner = item_type
    if listed:
        item_non_null = isinstance(inner, GraphQLNonNull)
        if item_non_null:
            inner = inner.of_type
    if not isinstance(inner, GraphQLObjectType):
        return None  # a scalar, an abstract type, or a list of lists
    is_type_of = inner.is_type_of
    if is_type_of is not None and not getattr(is_type_of, "__qualname__", "").endswith(
        _STRAWBERRY_IS_TYPE_OF
    ):
        return None
    return _Nest(
        resolve,
        only_for,
        declared,
        non_null,
        listed,
        item_type,
        item_non_null,
        inner,
        is_type_of,
    )


# The short paths of a type's fields, by (field name, the selection's arguments,
# its directives): they depend on the schema alone, so each is worked out once per
# process, not once per query.
_PATHS: weakref.WeakKeyDictionary[
    GraphQLObjectType, dict[tuple[str, bool, bool], tuple[_Leaf | None, _Nest | None]]
] = weakref.WeakKeyDictionary()


def _paths_of(
    parent: GraphQLObjectType, details: FieldDetailsList
) -> tuple[_Leaf | None, _Nest | None]:
    known = _PATHS.get(parent)
    if known is None:
        known = _PATHS.setdefault(parent, {})
    node = details[0].node
    key = (
        node.name.value,
        bool(node.arguments),
        any(d.node.directives for d in details),
    )
    found = known.get(key)
    if found is None:
        leaf = _leaf_of(parent, details)
        found = (leaf, None if leaf is not None else _nest_of(parent, details))
        known[key] = found
    return found


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
                (name, details, *_paths_of(parent_type, details))
                for name, details in fields.items()
            ]
            found = (fields, plan if any(p[2] or p[3] for p in plan) else None)
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
            for response_name, details, leaf, nest in plan:
                if leaf is not None:
                    value = _read(leaf, source_value)
                    if value is not _SLOW:
                        results[response_name] = value
                        continue
                elif nest is not None and position_context is None:
                    # (inside a deferred fragment, graphql-core delivers it)
                    value = self._nested(
                        nest, parent_type, source_value, path, response_name, details
                    )
                    if value is not _SLOW:
                        results[response_name] = value
                        if is_awaitable(value):
                            awaitable_fields.append(response_name)
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
        return _gathered(results, awaitable_fields)

    def _nested(
        self,
        nest: _Nest,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        response_name: str,
        details: FieldDetailsList,
    ) -> Any:
        """The field's completed value (or an awaitable of it), or ``_SLOW`` when
        graphql-core's path must run it; see the module docstring."""
        if nest.only_for is not None and type(source) is not nest.only_for:
            return _SLOW
        try:
            value = nest.resolve(source)
        except Exception:
            return _SLOW  # graphql-core's path raises it again, as a field error
        if value is None:
            return _SLOW if nest.non_null else None
        is_type_of = nest.is_type_of
        if nest.listed:
            if type(value) is not list and type(value) is not tuple:
                return _SLOW
            for item in value:
                if item is None:
                    if nest.item_non_null:
                        return _SLOW
                elif is_type_of is not None and not is_type_of(item, None):
                    return _SLOW
        elif is_type_of is not None and not is_type_of(value, None):
            return _SLOW
        grouped, deferred = self.collect_subfields(nest.object_type, details)[:2]
        if deferred:
            return _SLOW
        field_path = Path(path, response_name, parent_type.name)
        try:
            if nest.listed:
                completed = self._items(nest, value, field_path, grouped, details)
            else:
                completed = self.execute_fields(
                    nest.object_type, value, field_path, grouped, None
                )
        except Exception as raw_error:
            self.handle_field_error(raw_error, nest.field_type, details, field_path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, nest.field_type, details, field_path)
                return None

        return await_completed()

    def _items(
        self,
        nest: _Nest,
        items: list[Any] | tuple[Any, ...],
        field_path: Path,
        grouped: GroupedFieldSet,
        details: FieldDetailsList,
    ) -> Any:
        """A list field's items completed as ``complete_iterable_value`` does."""
        is_awaitable = self.is_awaitable
        execute = self.execute_fields
        object_type = nest.object_type
        item_type = nest.item_type
        completed: list[Any] = []
        waiting: list[int] = []
        try:
            for index, item in enumerate(items):
                if item is None:
                    completed.append(None)
                    continue
                item_path = field_path.add_key(index, None)
                try:
                    done = execute(object_type, item, item_path, grouped, None)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, details, item_path)
                    done = None
                if is_awaitable(done):
                    done = self._await_item(done, item_type, details, item_path)
                    waiting.append(index)
                completed.append(done)
        except Exception:
            if waiting:
                self.settle_in_background([completed[i] for i in waiting])
            raise
        if not waiting:
            return completed
        return _gathered(completed, waiting)

    async def _await_item(
        self,
        done: Any,
        item_type: GraphQLOutputType,
        details: FieldDetailsList,
        item_path: Path,
    ) -> Any:
        try:
            return await done
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, details, item_path)
            return None


async def _gathered(found: Any, waiting: list[Any]) -> Any:
    """``found`` (a dict of fields or a list of items) with the awaitables at the
    keys ``waiting`` replaced by their values, awaited together."""
    if len(waiting) == 1:
        found[waiting[0]] = await found[waiting[0]]
    else:
        awaited = await gather_with_cancel(*(found[key] for key in waiting))
        for key, value in zip(waiting, awaited, strict=True):
            found[key] = value
    return found


def _read(leaf: _Leaf, source: Any) -> Any:
    """The field's serialised value, or ``_SLOW`` for graphql-core's own path."""
    if leaf.only_for is not None and type(source) is not leaf.only_for:
        return _SLOW
    try:
        value = leaf.resolve(source)
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
