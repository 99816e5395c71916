"""Bearer JWT verification (and minting for development and tests).

Tokens carry OIDC-style claims: ``iss``, ``aud``, ``exp`` and ``sub`` as usual, plus
``tenant`` (the organisation) and ``roles`` (a list of :class:`Role` names). A verifier
accepts HS256 tokens signed with the shared ``JWT_SECRET`` and, when ``JWKS_URL`` is
set, asymmetric tokens (RS256, ES256, …) whose key it fetches from the identity
provider's key set.

What a token must look like, checked strictly (an attacker's token is refused with a
typed 401 ``invalid_token``, never half-read):

- at most ``MAX_TOKEN_BYTES`` (8 KiB), refused before any parsing or verification;
- ``exp`` required, ``exp``/``iat``/``nbf`` JSON numbers (a string is refused, even
  one holding digits);
- a lifetime of at most ``max_lifetime_s`` (``JWT_MAX_LIFETIME_S``, default 24 h):
  ``exp - iat`` when ``iat`` is there, else ``exp - now`` (a stolen token without
  ``iat`` cannot live for years either);
- ``sub`` and ``tenant`` non-empty strings of at most 128 characters in the shape of
  a reference (letters, digits and ``. _ : @ + -``; ``sub`` may also hold ``|``, as
  some identity providers' subjects do), so neither can smuggle a path, a control
  character or a megabyte into logs, events or URLs;
- ``roles`` absent or a list of at most 64 strings. Unknown role names are ignored,
  not refused: an identity provider may put the roles of other systems in the same
  claim, and an ignored name grants nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import jwt
from pydantic import SecretStr

from chassis.auth.principal import Principal, Role
from chassis.errors import ServiceUnavailable, Unauthenticated
from chassis.inputs import MAX_REF, REF_PATTERN
from chassis.settings import DEFAULT_DEV_SECRET

if TYPE_CHECKING:
    from chassis.settings import ServiceSettings

_ROLE_VALUES = {role.value: role for role in Role}

MAX_TOKEN_BYTES = 8 * 1024
"""The longest bearer token (and ``Authorization`` header) read at all."""
DEFAULT_MAX_LIFETIME_S = 24 * 3600
MAX_ROLES = 64
_TENANT = re.compile(REF_PATTERN)
_SUBJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+|-]*$")
_TIMES = ("exp", "iat", "nbf")
VERIFIED_CACHE_SIZE = 4096
"""How many verified tokens a verifier remembers (least recently used go first)."""
VERIFIED_CACHE_TTL_S = 300.0
"""The longest a verified token is trusted without its signature being checked again
(a key removed from the identity provider's key set stops its tokens by then)."""


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
    secret. ``leeway_s`` tolerates clock skew between the issuer and this service;
    ``max_lifetime_s`` is the longest a token may live (see the module's docstring).

    A token that verified is remembered (keyed by the whole token, so by its
    signature over exactly these claims) until it expires or for
    ``VERIFIED_CACHE_TTL_S``, whichever comes first: a caller's next requests cost a
    dictionary lookup instead of a base64 parse and a signature check. Only tokens
    that passed every check are kept (at most ``VERIFIED_CACHE_SIZE``, least recently
    used dropped first), so a flood of forged tokens fills nothing. Revocation is not
    cached here: ``get_principal`` asks the service's revocation view on every request.
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
        max_lifetime_s: float = DEFAULT_MAX_LIFETIME_S,
    ) -> None:
        if isinstance(secret, SecretStr):
            secret = secret.get_secret_value()
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway_s = leeway_s
        self.max_lifetime_s = max_lifetime_s
        self._secret = secret or None
        self._public_key = public_key
        # PyJWKClient caches the key set and refetches on an unknown ``kid``.
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        # token -> (principal, trusted until, in time.time() seconds)
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._verified_lock = threading.Lock()  # averify may verify in a thread

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
            max_lifetime_s=settings.jwt_max_lifetime_s,
        )

    @property
    def fetches_keys(self) -> bool:
        """True when verification may block on fetching the JWKS over the network."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        """Verify ``token`` and return its principal; raise ``Unauthenticated`` if not.

        Checks the size, the signature, ``exp`` (required), ``iss``, ``aud``, the
        lifetime and the claims' types and shapes (see the module's docstring).
        Unknown roles are ignored, so an identity provider may put roles of other
        systems in the same claim.
        """
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken(f"token longer than {MAX_TOKEN_BYTES} bytes")
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        principal, exp = self._verify(token)
        self._remember(token, principal, exp)
        return principal

    def _remembered(self, token: str) -> Principal | None:
        """The principal of ``token`` if it verified before and is still trusted."""
        found = self._verified.get(token)
        if found is None:
            return None
        principal, until = found
        with self._verified_lock:
            if time.time() < until:
                if token in self._verified:
                    self._verified.move_to_end(token)
                return principal
            self._verified.pop(token, None)
        return None

    def _remember(self, token: str, principal: Principal, exp: float) -> None:
        # PyJWT refuses a token once ``exp <= now - leeway``: trusted until then.
        until = min(exp + self.leeway_s, time.time() + VERIFIED_CACHE_TTL_S)
        with self._verified_lock:
            self._verified[token] = (principal, until)
            self._verified.move_to_end(token)
            while len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)

    def _verify(self, token: str) -> tuple[Principal, float]:
        """The full check of ``token``: its principal and its ``exp``."""
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
        principal = _principal_from_claims(claims, token)
        self._check_lifetime(claims)
        return principal, float(claims["exp"])

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        exp, iat = claims["exp"], claims.get("iat")
        if iat is not None:
            if exp - iat > self.max_lifetime_s:
                raise InvalidToken(
                    f"token lifetime exceeds {int(self.max_lifetime_s)} seconds"
                )
        elif exp - time.time() > self.max_lifetime_s + self.leeway_s:
            raise InvalidToken(
                f"token without iat expires more than {int(self.max_lifetime_s)} "
                "seconds from now"
            )

    async def averify(self, token: str) -> Principal:
        """``verify`` for async callers: a JWKS fetch must not block the event loop."""
        if self._jwks is None:
            return self.verify(token)
        if len(token) <= MAX_TOKEN_BYTES:
            remembered = self._remembered(token)
            if remembered is not None:  # no thread for a token verified before
                return remembered
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
    for name in _TIMES:
        value = claims.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise InvalidToken(f"{name} claim must be a number")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("missing sub claim")
    if len(subject) > MAX_REF or not _SUBJECT.match(subject):
        raise InvalidToken("sub claim is not a valid subject")
    tenant = claims.get("tenant")
    if not isinstance(tenant, str) or not tenant:
        raise InvalidToken("missing tenant claim")
    if len(tenant) > MAX_REF or not _TENANT.match(tenant):
        raise InvalidToken("tenant claim is not a valid tenant")
    raw_roles = claims.get("roles", [])
    if (
        not isinstance(raw_roles, list)
        or len(raw_roles) > MAX_ROLES
        or not all(isinstance(r, str) for r in raw_roles)
    ):
        raise InvalidToken(f"roles claim must be a list of at most {MAX_ROLES} strings")
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
