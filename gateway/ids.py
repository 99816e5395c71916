"""Global ids (Relay ``Node``): ``base64("Type:local id")``, parsed before any call.

The local id is the service's own id. A global id does not carry the tenant: the
service checks the caller's tenant on every load, so a valid id of another
organisation answers exactly like an id that does not exist.

Every id a caller sends is parsed here before it can reach a service: a global id
must decode, name the expected type and carry a local id in the services' id format
(``chassis.inputs.Ref``: letters, digits and ``._:@+-``, starting with a letter or a
digit, at most ``MAX_REF`` characters). So no caller string can add a path segment
(``../admin``), a query (``a?x=1``) or a control character to an upstream URL. A bad
id is an :class:`InvalidId` error (``extensions.code = "InvalidId"``) naming the type
expected; mutations answer it as a ``ValidationError`` with that code and the field.

Arguments are declared as the plain ``ID`` scalar (``strawberry.ID``) and parsed by
the resolver, which knows the type it expects: Strawberry's own ``GlobalID`` argument
conversion could only say "Value cannot represent a GlobalID".
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TypeGuard

from graphql import GraphQLError
from strawberry import relay

from chassis.inputs import MAX_REF, REF_PATTERN

_LOCAL = re.compile(REF_PATTERN)


class InvalidId(GraphQLError):
    """An id that is malformed, of another type, or not in the services' format."""

    def __init__(self, path: str, expected: str, message: str) -> None:
        super().__init__(
            f"`{path}` {message}",
            extensions={"code": "InvalidId", "expectedType": expected, "path": path},
        )
        self.path_name = path
        self.expected = expected


def is_local_id(value: object) -> TypeGuard[str]:
    """True for a string in the services' id format (safe as one URL segment)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_REF
        and _LOCAL.fullmatch(value) is not None
    )


def parse_global_id(
    value: object, path: str = "id", expected: str = "Node"
) -> relay.GlobalID:
    """``value`` decoded as a global id, any type; :class:`InvalidId` otherwise
    (naming ``expected``, e.g. ``"Session or Milestone"``)."""
    if isinstance(value, relay.GlobalID):
        return value
    message = "is not a global id" + (
        f" (expected the id of a {expected})" if expected != "Node" else ""
    )
    if not isinstance(value, str) or not 0 < len(value) <= 4 * MAX_REF:
        raise InvalidId(path, expected, message)
    try:
        decoded = base64.b64decode(value.encode("ascii"), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidId(path, expected, message) from None
    type_name, sep, local = decoded.partition(":")
    if not sep or not type_name or not local:
        raise InvalidId(path, expected, message)
    return relay.GlobalID(type_name, local)


def local_id(value: object, type_name: str, path: str = "id") -> str:
    """The service id inside ``value``, which must be an id of ``type_name``."""
    try:
        gid = parse_global_id(value, path)
    except InvalidId:
        raise InvalidId(
            path, type_name, f"is not a global id (expected the id of a {type_name})"
        ) from None
    if gid.type_name != type_name:
        raise InvalidId(
            path,
            type_name,
            f"must be the id of a {type_name}, not of a {_printable(gid.type_name)}",
        )
    if not is_local_id(gid.node_id):
        raise InvalidId(path, type_name, f"is not a valid {type_name} id")
    return gid.node_id


def _printable(name: str) -> str:
    return name if is_local_id(name) and len(name) <= 64 else "different type"


def global_id(type_name: str, local: str) -> relay.GlobalID:
    return relay.GlobalID(type_name, local)
