"""Bearer JWT verification (and minting for development and tests).

Tokens carry OIDC-style claims: ``iss``, ``aud``, ``exp`` and ``sub`` as usual, plus
``tenant`` (the organisation) and ``roles`` (a list of :class:`Role` names). A verifier
accepts HS256 tokens signed with the shared ``JWT_SECRET`` and, when ``JWKS_URL`` is
set, asymmetric tokens (RS256, ES256, …) whose key it fetches from the identity
provider's key set.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import jwt
from pydantic import SecretStr

from chassis.auth.principal import Principal, Role
from chassis.errors import ServiceUnavailable, Unauthenticated
from chassis.settings import DEFAULT_DEV_SECRET

if TYPE_CHECKING:
    from chassis.settings import ServiceSettings

_ROLE_VALUES = {role.value: role for role in Role}


@contextlib.contextmanager
def _quiet_for_dev_secret(key: Any) -> Iterator[None]:
    # PyJWT warns that the 20-byte development default is short. It is, on purpose,
    # and settings refuse it outside development/test, so the warning is only noise.
    if key != DEFAULT_DEV_SECRET:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        yield


class InvalidToken(Unauthenticated):
    """A token was presented but is not acceptable (RFC 6750 ``invalid_token``)."""

    bearer_error = "invalid_token"


class TokenVerifier:
    """Checks bearer tokens and turns them into :class:`Principal` objects.

    ``secret`` verifies HMAC (HS*) tokens; ``jwks_url`` or ``public_key`` verifies
    asymmetric ones. Only algorithms listed in ``algorithms`` are accepted, and the key
    is chosen by algorithm family, so a public key can never be abused as an HMAC
    secret. ``leeway_s`` tolerates clock skew between the issuer and this service.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] = ("HS256",),
        secret: str | SecretStr | None = None,
        jwks_url: str | None = None,
        public_key: Any = None,
        leeway_s: float = 30.0,
    ) -> None:
        if isinstance(secret, SecretStr):
            secret = secret.get_secret_value()
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway_s = leeway_s
        self._secret = secret or None
        self._public_key = public_key
        # PyJWKClient caches the key set and refetches on an unknown ``kid``.
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> TokenVerifier:
        """Build the verifier a service uses from its settings."""
        secret: str | None = settings.jwt_secret.get_secret_value()
        if secret == DEFAULT_DEV_SECRET and settings.environment not in (
            "development",
            "test",
        ):
            # Settings let production start with the default secret only when a JWKS
            # URL is set; HS256 tokens signed with the well-known default must then
            # not be accepted.
            secret = None
        return cls(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            algorithms=settings.jwt_algorithms,
            secret=secret,
            jwks_url=settings.jwks_url,
        )

    @property
    def fetches_keys(self) -> bool:
        """True when verification may block on fetching the JWKS over the network."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        """Verify ``token`` and return its principal; raise ``Unauthenticated`` if not.

        Checks the signature, ``exp`` (required), ``iss``, ``aud``, and that ``sub``
        and ``tenant`` are present. Unknown roles are ignored, so an identity provider
        may put roles of other systems in the same claim.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise InvalidToken("malformed token") from None
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise InvalidToken(f"signing algorithm {algorithm!r} is not accepted")
        key = self._key_for(algorithm, token)
        try:
            with _quiet_for_dev_secret(key):
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[algorithm],
                    audience=self.audience,
                    issuer=self.issuer,
                    leeway=self.leeway_s,
                    options={"require": ["exp", "iss", "aud", "sub"]},
                )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("wrong issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad signature") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"missing {exc.claim} claim") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"invalid token: {exc}") from None
        return _principal_from_claims(claims, token)

    async def averify(self, token: str) -> Principal:
        """``verify`` for async callers: a JWKS fetch must not block the event loop."""
        if self._jwks is None:
            return self.verify(token)
        return await asyncio.to_thread(self.verify, token)

    def _key_for(self, algorithm: str, token: str) -> Any:
        if algorithm.startswith("HS"):
            if self._secret is None:
                raise InvalidToken("HMAC-signed tokens are not accepted")
            return self._secret
        if self._public_key is not None:
            return self._public_key
        if self._jwks is None:
            raise InvalidToken(f"no key configured for {algorithm} tokens")
        try:
            return self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError:
            raise ServiceUnavailable("identity provider keys unavailable") from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError):
            raise InvalidToken("no known signing key matches the token") from None


def _principal_from_claims(claims: dict[str, Any], token: str) -> Principal:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("missing sub claim")
    tenant = claims.get("tenant")
    if not isinstance(tenant, str) or not tenant:
        raise InvalidToken("missing tenant claim")
    raw_roles = claims.get("roles", [])
    if not isinstance(raw_roles, list) or not all(
        isinstance(r, str) for r in raw_roles
    ):
        raise InvalidToken("roles claim must be a list of strings")
    roles = frozenset(_ROLE_VALUES[r] for r in raw_roles if r in _ROLE_VALUES)
    return Principal(subject=subject, tenant=tenant, roles=roles, token=token)


def mint_token(
    secret: str | SecretStr | None,
    subject: str,
    tenant: str,
    roles: Iterable[Role | str],
    issuer: str,
    audience: str,
    ttl_s: int = 3600,
    algorithm: str = "HS256",
    private_key: Any = None,
    *,
    key_id: str | None = None,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """Sign a token for development and tests.

    HS* algorithms sign with ``secret``; any other algorithm (RS256, ES256, …) signs
    with ``private_key`` (a PEM string/bytes or a ``cryptography`` key object).
    ``key_id`` sets the ``kid`` header a JWKS verifier looks up. A negative ``ttl_s``
    mints an already expired token.
    """
    if algorithm.startswith("HS"):
        if isinstance(secret, SecretStr):
            secret = secret.get_secret_value()
        if not secret:
            raise ValueError(f"{algorithm} needs a secret")
        key: Any = secret
    else:
        if private_key is None:
            raise ValueError(f"{algorithm} needs a private_key")
        key = private_key
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "tenant": tenant,
        "roles": [str(role) for role in roles],
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    claims.update(extra_claims or {})
    headers = {"kid": key_id} if key_id else None
    with _quiet_for_dev_secret(key):
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)
