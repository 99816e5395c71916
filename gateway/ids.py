"""Global ids (Relay ``Node``): ``base64("Type:local id")``.

The local id is the service's own id. A global id does not carry the tenant: the
service checks the caller's tenant on every load, so a valid id of another
organisation answers exactly like an id that does not exist.
"""

from __future__ import annotations

from graphql import GraphQLError
from strawberry import relay


def local_id(value: relay.GlobalID | str, type_name: str, path: str = "id") -> str:
    """The service id inside ``value``, which must be an id of ``type_name``."""
    if isinstance(value, str):
        try:
            value = relay.GlobalID.from_id(value)
        except Exception:
            raise GraphQLError(
                f"`{path}` is not a global id",
                extensions={"code": "ValidationError", "path": path},
            ) from None
    if value.type_name != type_name:
        raise GraphQLError(
            f"`{path}` must be the id of a {type_name}, not of a {value.type_name}",
            extensions={"code": "ValidationError", "path": path},
        )
    return value.node_id


def global_id(type_name: str, local: str) -> relay.GlobalID:
    return relay.GlobalID(type_name, local)
