"""Who is calling: the authenticated principal and its roles.

Framework-free so that application and domain code can take a ``Principal`` and check
it without importing FastAPI.

Tenant rule: a route takes the tenant from ``principal.tenant``, never from the request
body or path, and every query and every aggregate load is scoped by it (``WHERE tenant
= :t``; a stream of another tenant reads as not found), so a token of one organisation
can never read or change another's data. ``require_tenant`` is for the rare resource
that arrives with its own tenant (a message, a signed link) rather than by a scoped
query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from chassis.errors import Forbidden


class Role(StrEnum):
    """The roles a Tandem token can carry (the ``roles`` claim)."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    SPONSOR = "sponsor"
    MENTOR = "mentor"
    MENTEE = "mentee"
    ADVISOR = "advisor"
    INTEGRATION = "integration"
    # The platform's operator: process-wide work across tenants (a full rebuild, the
    # lag of every tenant). No tenant token carries it unless the identity provider
    # grants it on purpose; an ``admin`` acts on their own organisation only.
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller within one tenant.

    ``token`` is the raw bearer token, kept so a service can forward the caller's
    identity on outgoing calls; it is ``None`` for internal (system) principals.
    """

    subject: str
    tenant: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    token: str | None = field(default=None, repr=False, compare=False)

    def has_role(self, *roles: Role) -> bool:
        """True when the principal holds at least one of ``roles``.

        There is no implicit super-user: a route that admins may use lists
        ``Role.ADMIN`` explicitly, so every grant is visible where it is made.
        """
        return any(role in self.roles for role in roles)

    def require(self, *roles: Role) -> Principal:
        """Return self if it holds one of ``roles``; otherwise raise ``Forbidden``."""
        if not self.has_role(*roles):
            wanted = ", ".join(sorted(str(r) for r in roles))
            raise Forbidden(f"requires one of the roles: {wanted}")
        return self

    def require_tenant(self, tenant: str) -> Principal:
        """Return self if ``tenant`` (the resource's) is the principal's; else 403.

        The detail does not name the other tenant: that would leak its existence.
        """
        if tenant != self.tenant:
            raise Forbidden("the resource belongs to another organisation")
        return self


def system_principal(tenant: str, subject: str = "system") -> Principal:
    """A principal for trusted in-process work (consumers, projections, the relay).

    It holds every role but stays bound to one tenant, so tenant checks in shared
    application code still apply when it acts on behalf of an event's organisation.
    """
    return Principal(subject=subject, tenant=tenant, roles=frozenset(Role), token=None)
