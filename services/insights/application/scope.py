"""Which organisations an operation acts on: the caller's own, or every one.

An ``admin`` acts on their own organisation only (a rebuild of its read models, the
lag of its events). Work across every tenant at once - a full rebuild, the consumer's
lag over all tenants - is the platform operator's (``Role.OPERATOR``, which no tenant
token carries unless the identity provider grants it on purpose): asked by anyone
else, it is a typed 403 ``OperatorRequired``.
"""

from __future__ import annotations

from chassis.auth.principal import Principal, Role
from chassis.errors import Forbidden

ALL = None  # the scope of an operation on every tenant (no tenant's name can be it)
Scope = str | None  # a tenant, or ALL


class OperatorRequired(Forbidden):
    code = "OperatorRequired"
    title = "Operator role required"


def scope_of(principal: Principal, all_tenants: bool, what: str) -> Scope:
    """``ALL`` for an operator asking for every tenant, else the caller's tenant
    (admins and operators); ``OperatorRequired`` / ``Forbidden`` otherwise."""
    if all_tenants:
        if not principal.has_role(Role.OPERATOR):
            raise OperatorRequired(
                f"{what} of every organisation needs the operator role "
                "(an admin acts on their own organisation only)"
            )
        return ALL
    principal.require(Role.ADMIN, Role.OPERATOR)
    return principal.tenant
