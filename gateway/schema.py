"""One schema from the feature packages (``merge_types``), with its protections."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

import strawberry
from graphql import (
    GraphQLFieldResolver,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLUnionType,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.tracing import OpenTelemetryExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from chassis.telemetry import spans_recorded
from gateway import (
    advisors,
    errors,
    history,
    insights,
    matching,
    notifications,
    people,
    sessions,
)
from gateway.execution import DIRECT, LeanExecutionContext
from gateway.extensions import TypedErrors, UpstreamCalls, input_paths
from gateway.inputs import VariableStrings, string_rule
from gateway.protection import DocumentLimits, RequestBudget, cost_rule
from gateway.settings import GatewaySettings

FEATURES = (people, matching, sessions, advisors, insights, history, notifications)


def _node_query() -> type:
    # ``relay.node()`` fields are bound to the schema they are converted in: a fresh
    # class per schema lets one process build several (tests, the exporter).
    @strawberry.type
    class NodeQuery:
        node: relay.Node | None = relay.node(
            description="Any object by its global id (null when it does not exist "
            "or is not visible to you)."
        )
        nodes: list[relay.Node | None] = relay.node(
            description="Several objects by global id, in the order asked."
        )

    return NodeQuery


def _merged(name: str, parts: tuple[type, ...]) -> type | None:
    return merge_types(name, parts) if parts else None


def _no_arguments(_args: dict[str, Any], _info: GraphQLResolveInfo) -> dict[str, Any]:
    return {}


class _Untraced(SchemaExtension):
    """Stands in for the tracing extension while no span would be recorded."""


def _tracing() -> SchemaExtension:
    """The operation's tracing: a span per resolved field makes every field's
    resolution a coroutine (100 items of 4 fields: 400 awaits), so it runs only
    while someone records spans (``chassis.telemetry.spans_recorded``). Resolver
    arguments carry personal data (names, e-mails): never in a trace."""
    if spans_recorded():
        return OpenTelemetryExtension(arg_filter=_no_arguments)
    return _Untraced()


def build_schema(settings: GatewaySettings | None = None) -> strawberry.Schema:
    """The gateway's schema, protected according to ``settings``."""
    settings = settings or GatewaySettings()
    query = merge_types(
        "Query", (_node_query(), *(q for f in FEATURES for q in f.QUERIES))
    )
    mutation = _merged("Mutation", tuple(m for f in FEATURES for m in f.MUTATIONS))
    subscription = _merged(
        "Subscription", tuple(s for f in FEATURES for s in f.SUBSCRIPTIONS)
    )
    rules: list[type[ASTValidationRule]] = [
        cost_rule(settings.max_cost, settings.max_page_size),
        string_rule(settings.max_string_length),
    ]
    if settings.is_production:
        rules.append(NoSchemaIntrospectionCustomRule)
    # Strawberry's depth and alias limiters make a new rule class per instance; one
    # instance per request made every operation's rules new, and the validation
    # cache (keyed by the rules) never hit. Their rules are made once, here.
    rules += QueryDepthLimiter(max_depth=settings.max_depth).validation_rules
    rules += MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules
    costs: dict[tuple[str, str | None], int] = {}  # RequestBudget's, by document
    extensions = [
        # First, so its exit sees every error of the operation.
        lambda: TypedErrors(
            reveal_internal_errors=settings.environment == "development"
        ),
        lambda: ParserCache(maxsize=512),
        lambda: DocumentLimits(max_directives=settings.max_directives),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=512),
        # After the validation cache: it sees the validation errors already found.
        lambda: RequestBudget(
            max_request_cost=settings.max_request_cost,
            max_page=settings.max_page_size,
            costs=costs,
        ),
        lambda: VariableStrings(max_string=settings.max_string_length),
        UpstreamCalls,
        _tracing,
    ]
    schema = strawberry.Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=[
            *errors.COMMON,
            errors.NotEligible,
            errors.CapacityExceeded,
            *(t for f in FEATURES for t in f.TYPES),
        ],
        extensions=extensions,
        execution_context_class=LeanExecutionContext,
        config=StrawberryConfig(
            disable_field_suggestions=settings.is_production,
            batching_config={"max_operations": settings.max_batch},
            relay_max_results=settings.max_page_size,
        ),
    )
    _describe_conventional_parts(schema)
    input_paths(schema._schema)
    _direct_global_ids(schema)
    return schema


def _direct_global_ids(schema: strawberry.Schema) -> None:
    """Every node's ``id`` resolved directly, as Strawberry's own resolver would.

    Strawberry resolves a node's ``id`` as a field with a resolver (its info object,
    argument conversion, the class's ``resolve_id``): about as much work as the rest
    of the node. For a node type that keeps Relay's own ``resolve_id`` and
    ``resolve_typename`` (the id is the ``NodeID`` attribute, the type name the
    GraphQL type's), the same global id is the base64 of ``"<Type>:<id>"``; any
    other object goes to Strawberry's resolver."""
    for gql_type in schema._schema.type_map.values():
        if not isinstance(gql_type, GraphQLObjectType) or "id" not in gql_type.fields:
            continue
        definition = schema.get_type_by_name(gql_type.name)
        origin = getattr(definition, "origin", None)
        if not (
            isinstance(origin, type)
            and issubclass(origin, relay.Node)
            and origin.resolve_id.__func__ is relay.Node.resolve_id.__func__  # type: ignore[attr-defined]
            and origin.resolve_typename.__func__  # type: ignore[attr-defined]
            is relay.Node.resolve_typename.__func__  # type: ignore[attr-defined]
        ):
            continue
        field = gql_type.fields["id"]
        if field.resolve is None:
            continue
        field.resolve = _global_id_of(
            origin, origin.resolve_id_attr(), gql_type.name, field.resolve
        )


def _global_id_of(
    cls: type, attribute: str, type_name: str, fallback: GraphQLFieldResolver
) -> GraphQLFieldResolver:
    prefix = f"{type_name}:"

    def resolve(root: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        if type(root) is cls:
            node_id = getattr(root, attribute)
            if node_id is not None:
                return b64encode(f"{prefix}{node_id}".encode()).decode()
        return fallback(root, info, **kwargs)

    setattr(resolve, DIRECT, cls)  # gateway.execution may read it in place
    return resolve


ROOT_DESCRIPTIONS = {
    "Query": "Everything that can be read: start from `me`, `node` or a list.",
    "Mutation": "Every change; each answers its payload or a typed error (`Error`).",
    "Subscription": "Live events (graphql-transport-ws), fed from the event stream.",
}


def _describe_conventional_parts(schema: strawberry.Schema) -> None:
    """Describe what follows a convention, so no feature has to repeat it."""
    gql = schema._schema
    for name, text in ROOT_DESCRIPTIONS.items():
        root = gql.type_map.get(name)
        if root is not None and not root.description:
            root.description = text
    for t in gql.type_map.values():
        if isinstance(t, GraphQLUnionType) and not t.description:
            t.description = (
                "The result of a mutation: its success payload, or one of the "
                "typed errors (each implements `Error`)."
            )
    mutation = gql.type_map.get("Mutation")
    for field in (getattr(mutation, "fields", None) or {}).values():
        arg = field.args.get("input")
        if arg is not None and not arg.description:
            arg.description = "What to change (see the input type's fields)."
