"""What the gateway refuses in arguments before any service is called.

Strings in variables and literals are checked once per operation (a validation rule
for literals, :func:`check_variables` for variables): no NUL or other control
character (tab, line feed and carriage return are allowed in free text), and at most
``max_string`` characters, except the few bulk fields named in ``BULK_FIELDS`` (an
HRIS export sent inline), which the request body limit bounds instead. The services
check every value again with the shared input policy (``chassis.inputs``); this is
the cheap first refusal, so a 1 MB name or a NUL byte never costs an upstream call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLType,
    ObjectFieldNode,
    OperationDefinitionNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    get_operation_ast,
    type_from_ast,
)
from strawberry.extensions import SchemaExtension

# Input fields whose strings may be long (bounded by the request body limit).
BULK_FIELDS = frozenset({"ImportPeopleInput.content"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InvalidInput(GraphQLError):
    """A value the gateway refuses before calling a service (a ``ValidationError``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(
            f"`{path}` {message}",
            extensions={"code": "ValidationError", "path": path},
        )


def string_problem(value: str, max_length: int | None) -> str | None:
    """Why ``value`` is refused, or ``None``."""
    if _CONTROL.search(value):
        return "must not contain control characters (NUL and the like)"
    if max_length is not None and len(value) > max_length:
        return f"is longer than {max_length} characters"
    return None


def check_variables(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    max_string: int,
) -> InvalidInput | None:
    """The first refused string in ``variables`` (walked along their types)."""
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if not variables or name not in variables:
            continue
        gql_type = type_from_ast(schema, definition.type)
        found = _walk(variables[name], gql_type, f"${name}", None, max_string)
        if found is not None:
            return found
    return None


def _walk(
    value: Any,
    gql_type: GraphQLType | None,
    path: str,
    field: str | None,
    max_string: int,
) -> InvalidInput | None:
    while isinstance(gql_type, GraphQLNonNull):
        gql_type = gql_type.of_type
    if isinstance(value, str):
        limit = None if field in BULK_FIELDS else max_string
        problem = string_problem(value, limit)
        return InvalidInput(path, problem) if problem else None
    if isinstance(value, list):
        inner = gql_type.of_type if isinstance(gql_type, GraphQLList) else gql_type
        for i, item in enumerate(value):
            found = _walk(item, inner, f"{path}[{i}]", field, max_string)
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        fields = gql_type.fields if isinstance(gql_type, GraphQLInputObjectType) else {}
        type_name = getattr(gql_type, "name", "")
        for key, item in value.items():
            if not isinstance(key, str) or string_problem(key, max_string):
                return InvalidInput(path, "has a key that is not a field name")
            inner = fields[key].type if key in fields else None
            found = _walk(
                item, inner, f"{path}.{key}", f"{type_name}.{key}", max_string
            )
            if found is not None:
                return found
    return None


class VariableStrings(SchemaExtension):
    """Refuses the operation (nothing runs) when a variable holds a bad string."""

    def __init__(self, *, max_string: int) -> None:
        self.max_string = max_string

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        document = ec.graphql_document
        operation = get_operation_ast(document, ec.operation_name) if document else None
        if operation is not None and ec.variables:
            found = check_variables(
                ec.schema._schema, operation, ec.variables, self.max_string
            )
            if found is not None:
                ec.result = ExecutionResult(data=None, errors=[found])
        yield


def string_rule(max_string: int) -> type[ValidationRule]:
    """A validation rule refusing control characters and over-long string literals."""

    class StringLiterals(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.ctx = context
            self.fields: list[str] = []

        def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
            parent = self.ctx.get_parent_input_type()
            self.fields.append(f"{getattr(parent, 'name', '')}.{node.name.value}")

        def leave_object_field(self, *_: Any) -> None:
            self.fields.pop()

        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            field = self.fields[-1] if self.fields else None
            limit = None if field in BULK_FIELDS else max_string
            problem = string_problem(node.value, limit)
            if problem:
                self.report_error(
                    GraphQLError(
                        f"a string argument {problem}",
                        node,
                        extensions={"code": "ValidationError"},
                    )
                )

    return StringLiterals
