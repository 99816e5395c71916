"""Authentication and authorisation: bearer JWTs with subject, tenant and roles."""

from chassis.auth.principal import Principal, Role, system_principal
from chassis.auth.tokens import InvalidToken, TokenVerifier, mint_token

__all__ = [
    "InvalidToken",
    "Principal",
    "Role",
    "TokenVerifier",
    "mint_token",
    "system_principal",
]
