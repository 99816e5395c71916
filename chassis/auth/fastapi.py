"""FastAPI dependencies that authenticate the caller and check roles.

Usage in a route module::

    @router.post("/pairings")
    async def propose(body: ProposeBody, principal: PrincipalDep) -> ...:
        ...  # tenant = principal.tenant, never body.tenant

    Coordinator = Annotated[Principal, Depends(require_roles(Role.COORDINATOR))]

The verifier comes from ``request.app.state.token_verifier`` (set by ``create_app``),
so tests and services configure it once in their composition root. A service that
sets ``app.state.revocations`` (``chassis.auth.revocation.Revocations``) has the
tokens of erased and deactivated people refused here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace

from chassis.auth.principal import Principal, Role
from chassis.auth.revocation import Revocations
from chassis.auth.tokens import MAX_TOKEN_BYTES, InvalidToken, TokenVerifier
from chassis.errors import Unauthenticated

VERIFIED = "tandem.verified"  # request-state key: (token, Principal) verified once

# auto_error=False: we raise our own problem-details error instead of FastAPI's; the
# scheme still shows up in OpenAPI so /docs offers an "Authorize" button.
_bearer = HTTPBearer(auto_error=False, description="Tandem bearer JWT")


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Authenticate the request's ``Authorization: Bearer`` token.

    Raises ``Unauthenticated`` (401 with ``WWW-Authenticate: Bearer``) when the header
    is missing or the token is invalid; a header longer than a token may be is refused
    before anything else reads it.
    """
    header = request.headers.get("authorization", "")
    if len(header) > MAX_TOKEN_BYTES + len("Bearer "):
        raise InvalidToken(f"authorization header longer than {MAX_TOKEN_BYTES} bytes")
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing bearer token")
    # The rate limiter verified this very token already (chassis.http.ratelimit).
    verified = request.scope.get("state", {}).get(VERIFIED)
    if verified is not None and verified[0] == credentials.credentials:
        principal: Principal = verified[1]
    else:
        verifier: TokenVerifier = request.app.state.token_verifier
        principal = await verifier.averify(credentials.credentials)
    # An erased or deactivated person's token still verifies: the service's
    # revocation view (chassis.auth.revocation) refuses it, on either path above.
    revocations: Revocations | None = getattr(request.app.state, "revocations", None)
    if revocations is not None:
        await revocations.check(principal)
    request.state.principal = principal
    # The subject is left out of traces: some identity providers use e-mail addresses.
    trace.get_current_span().set_attribute("tandem.tenant", principal.tenant)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
"""The authenticated caller; add it as a route parameter."""


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency returning the principal if it holds one of ``roles``; else 403."""
    if not roles:
        raise ValueError("require_roles needs at least one role")

    async def _require(principal: PrincipalDep) -> Principal:
        return principal.require(*roles)

    return _require
