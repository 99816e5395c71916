"""Bearer-token authentication, roles and the tenant rule, end to end over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends, FastAPI

from chassis.auth import Principal, Role, TokenVerifier, mint_token, system_principal
from chassis.auth.cli import main as token_cli
from chassis.auth.fastapi import PrincipalDep, require_roles
from chassis.errors import Forbidden, NotFound, Unauthenticated
from chassis.http import create_app
from chassis.settings import ServiceSettings

SECRET = "test-secret-that-is-long-enough-for-hs256"
ISSUER = "tandem-test"
AUDIENCE = "tandem"

# Programmes by id with the tenant that owns each: stands in for a service's store.
PROGRAMMES = {"p-acme": "acme", "p-globex": "globex"}

router = APIRouter()
Coordinator = Annotated[Principal, Depends(require_roles(Role.COORDINATOR))]


@router.get("/me")
async def me(principal: PrincipalDep) -> dict[str, Any]:
    return {
        "subject": principal.subject,
        "tenant": principal.tenant,
        "roles": sorted(principal.roles),
    }


@router.post("/matching-rounds")
async def start_round(principal: Coordinator) -> dict[str, str]:
    return {"started_by": principal.subject}


@router.get("/programmes/{programme_id}")
async def programme(programme_id: str, principal: PrincipalDep) -> dict[str, str]:
    owner = PROGRAMMES.get(programme_id)
    if owner is None:
        raise NotFound(f"programme {programme_id} not found")
    principal.require_tenant(owner)
    return {"id": programme_id, "tenant": owner}


def settings() -> ServiceSettings:
    return ServiceSettings(
        service_name="auth-test",
        environment="test",
        jwt_secret=SECRET,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    )


def token(
    subject: str = "alice",
    tenant: str = "acme",
    roles: tuple[str, ...] = ("coordinator", "mentor"),
    **overrides: Any,
) -> str:
    options: dict[str, Any] = {
        "secret": SECRET,
        "subject": subject,
        "tenant": tenant,
        "roles": roles,
        "issuer": ISSUER,
        "audience": AUDIENCE,
    }
    options.update(overrides)
    return mint_token(**options)


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    )


@pytest.fixture
def app() -> FastAPI:
    return create_app(settings(), title="auth test", version="1", routers=[router])


async def get(app: FastAPI, path: str, bearer: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with client_for(app) as client:
        return await client.get(path, headers=headers)


def assert_unauthenticated(response: httpx.Response, detail_part: str) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["code"] == "Unauthenticated"
    assert detail_part in body["detail"]


async def test_valid_token_gives_principal_with_tenant_and_roles(app: FastAPI) -> None:
    response = await get(app, "/me", token(roles=("coordinator", "mentor", "pilot")))
    assert response.status_code == 200
    # "pilot" is not a Tandem role and is ignored rather than rejected.
    assert response.json() == {
        "subject": "alice",
        "tenant": "acme",
        "roles": ["coordinator", "mentor"],
    }


async def test_missing_header_is_401_problem_with_challenge(app: FastAPI) -> None:
    response = await get(app, "/me", None)
    assert_unauthenticated(response, "missing bearer token")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_rejected(app: FastAPI) -> None:
    response = await get(app, "/me", token(ttl_s=-300))
    assert_unauthenticated(response, "expired")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_wrong_audience_is_rejected(app: FastAPI) -> None:
    assert_unauthenticated(
        await get(app, "/me", token(audience="someone-else")), "wrong audience"
    )


async def test_wrong_issuer_is_rejected(app: FastAPI) -> None:
    assert_unauthenticated(
        await get(app, "/me", token(issuer="https://evil.example")), "wrong issuer"
    )


async def test_bad_signature_is_rejected(app: FastAPI) -> None:
    forged = token(secret="another-secret-that-is-long-enough-too")
    assert_unauthenticated(await get(app, "/me", forged), "bad signature")


async def test_garbage_token_is_rejected(app: FastAPI) -> None:
    assert_unauthenticated(await get(app, "/me", "not-a-jwt"), "malformed token")


async def test_token_without_tenant_is_rejected(app: FastAPI) -> None:
    no_tenant = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": 4_102_444_800},
        SECRET,
        algorithm="HS256",
    )
    assert_unauthenticated(await get(app, "/me", no_tenant), "missing tenant claim")


async def test_token_without_expiry_is_rejected(app: FastAPI) -> None:
    no_exp = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "tenant": "acme"},
        SECRET,
        algorithm="HS256",
    )
    assert_unauthenticated(await get(app, "/me", no_exp), "missing exp claim")


async def test_mentee_cannot_use_a_coordinator_route(app: FastAPI) -> None:
    async with client_for(app) as client:
        response = await client.post(
            "/matching-rounds",
            headers={"Authorization": f"Bearer {token(roles=('mentee',))}"},
        )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "Forbidden"
    assert "coordinator" in response.json()["detail"]


async def test_coordinator_may_use_a_coordinator_route(app: FastAPI) -> None:
    async with client_for(app) as client:
        response = await client.post(
            "/matching-rounds", headers={"Authorization": f"Bearer {token()}"}
        )
    assert response.status_code == 200
    assert response.json() == {"started_by": "alice"}


async def test_resource_of_another_tenant_is_forbidden(app: FastAPI) -> None:
    acme_token = token(tenant="acme")
    own = await get(app, "/programmes/p-acme", acme_token)
    other = await get(app, "/programmes/p-globex", acme_token)
    assert own.status_code == 200
    assert other.status_code == 403
    assert other.json()["code"] == "Forbidden"
    # The other tenant's name is not disclosed.
    assert "globex" not in other.json()["detail"]


def test_principal_checks_without_http() -> None:
    mentor = Principal(subject="m", tenant="acme", roles=frozenset({Role.MENTOR}))
    assert mentor.has_role(Role.MENTOR, Role.ADMIN)
    assert not mentor.has_role(Role.ADMIN)
    assert mentor.require(Role.MENTOR) is mentor
    with pytest.raises(Forbidden):
        mentor.require(Role.ADMIN)
    with pytest.raises(Forbidden):
        mentor.require_tenant("globex")
    system = system_principal("acme")
    assert system.has_role(Role.ADMIN) and system.token is None
    with pytest.raises(Forbidden):
        system.require_tenant("globex")


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_url(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """A real HTTP server publishing the public key as a JWKS document."""
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    document = json.dumps(
        {"keys": [{**jwk, "kid": "key-1", "use": "sig", "alg": "RS256"}]}
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


async def test_rs256_token_verifies_against_jwks(
    rsa_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, algorithms=["RS256"], jwks_url=jwks_url
    )
    app = create_app(
        settings(), title="t", version="1", routers=[router], token_verifier=verifier
    )
    rs_token = token(
        secret=None, algorithm="RS256", private_key=pem(rsa_key), key_id="key-1"
    )
    response = await get(app, "/me", rs_token)
    assert response.status_code == 200
    assert response.json()["tenant"] == "acme"

    # An HS256 token must not pass where only RS256 is accepted.
    assert_unauthenticated(await get(app, "/me", token()), "not accepted")
    # Nor an RS256 token signed by some other key.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = token(
        secret=None, algorithm="RS256", private_key=pem(stranger), key_id="key-1"
    )
    assert_unauthenticated(await get(app, "/me", forged), "bad signature")


def test_rs256_with_a_configured_public_key(rsa_key: rsa.RSAPrivateKey) -> None:
    verifier = TokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithms=["RS256"],
        public_key=rsa_key.public_key(),
    )
    rs_token = token(secret=None, algorithm="RS256", private_key=rsa_key)
    assert verifier.verify(rs_token).roles == {Role.COORDINATOR, Role.MENTOR}


def test_cli_mints_a_token_that_verifies(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_ISSUER", ISSUER)
    monkeypatch.setenv("JWT_AUDIENCE", AUDIENCE)
    exit_code = token_cli(
        [
            *("mint", "--sub", "bob", "--tenant", "acme"),
            *("--role", "coordinator", "--role", "mentor", "--ttl", "600"),
        ]
    )
    assert exit_code == 0
    minted = capsys.readouterr().out.strip()
    principal = TokenVerifier.from_settings(settings()).verify(minted)
    assert principal.subject == "bob"
    assert principal.tenant == "acme"
    assert principal.roles == {Role.COORDINATOR, Role.MENTOR}


def test_cli_refuses_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.delenv("JWKS_URL", raising=False)
    assert token_cli(["mint", "--sub", "bob", "--tenant", "acme"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "production" in captured.err


def test_production_verifier_ignores_the_default_secret() -> None:
    production = ServiceSettings(
        service_name="auth-test",
        environment="production",
        jwks_url="https://idp.example/jwks.json",
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    )
    dev_token = token(secret=production.jwt_secret)
    with pytest.raises(Unauthenticated, match="HMAC-signed tokens are not accepted"):
        TokenVerifier.from_settings(production).verify(dev_token)


# --- The attacker's token: too big, too long-lived, claims of the wrong type ---


def signed(claims: dict[str, Any]) -> str:
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "tenant": "acme"}
    now = int(time.time())
    base.update(iat=now, exp=now + 600)
    base.update(claims)
    return jwt.encode(
        {k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256"
    )


async def test_a_huge_authorization_header_is_refused_before_verification(
    app: FastAPI,
) -> None:
    huge = "x" * (4 * 1024 * 1024)
    response = await get(app, "/me", huge)
    assert_unauthenticated(response, "longer than 8192 bytes")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    # A validly signed token padded past 8 KiB is refused by its size alone.
    padded = token(extra_claims={"pad": "x" * 9000})
    with pytest.raises(Unauthenticated, match="longer than 8192"):
        TokenVerifier.from_settings(settings()).verify(padded)
    assert (await get(app, "/me", token(extra_claims={"pad": "x" * 5000}))).is_success


DAY = 24 * 3600


@pytest.mark.parametrize(
    ("iat", "exp", "accepted"),  # seconds from now; iat None: no iat claim
    [
        (0, DAY, True),  # exactly the maximum
        (0, DAY + 1, False),
        (-3600, DAY - 3600, True),
        (-50 * 365 * DAY, 60, False),  # issued decades ago, still unexpired
        (None, 3600, True),
        (None, 75 * 365 * DAY, False),  # no iat, expires in decades
    ],
)
async def test_a_token_lives_at_most_the_maximum_lifetime(
    app: FastAPI, iat: int | None, exp: int, accepted: bool
) -> None:
    now = int(time.time())
    claims = {"iat": None if iat is None else now + iat, "exp": now + exp}
    response = await get(app, "/me", signed(claims))
    if accepted:
        assert response.status_code == 200, response.json()
    else:
        assert_unauthenticated(response, "seconds")


def test_the_maximum_lifetime_is_a_setting() -> None:
    short = settings().model_copy(update={"jwt_max_lifetime_s": 600})
    verifier = TokenVerifier.from_settings(short)
    assert verifier.verify(token(ttl_s=600)).subject == "alice"
    with pytest.raises(Unauthenticated, match="lifetime exceeds 600"):
        verifier.verify(token(ttl_s=601))


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"exp": str(int(time.time()) + 600)}, "exp claim must be a number"),
        ({"iat": str(int(time.time()))}, "iat claim must be a number"),
        ({"nbf": str(int(time.time()) - 10)}, "nbf claim must be a number"),
        ({"iat": True}, "iat claim must be a number"),
        ({"sub": 42}, "Subject must be a string"),
        ({"sub": "alice\x00"}, "not a valid subject"),
        ({"sub": "../admin"}, "not a valid subject"),
        ({"sub": "a" * 129}, "not a valid subject"),
        ({"tenant": ["acme"]}, "missing tenant claim"),
        ({"tenant": "acme/../globex"}, "not a valid tenant"),
        ({"tenant": "acme corp"}, "not a valid tenant"),
        ({"tenant": "acme|globex"}, "not a valid tenant"),
        ({"tenant": "t" * 129}, "not a valid tenant"),
        ({"roles": "admin"}, "roles claim must be a list"),
        ({"roles": ["admin", 7]}, "roles claim must be a list"),
        ({"roles": ["mentee"] * 65}, "roles claim must be a list"),
    ],
)
async def test_claims_of_the_wrong_type_or_shape_are_refused(
    app: FastAPI, claims: dict[str, Any], detail: str
) -> None:
    response = await get(app, "/me", signed(claims))
    assert_unauthenticated(response, detail)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_identity_provider_subjects_are_accepted(app: FastAPI) -> None:
    for subject in ("auth0|5f7c8ec7c33c6c004bbafe82", "alice@acme.example", "00u1a2"):
        response = await get(app, "/me", signed({"sub": subject, "roles": ["mentee"]}))
        assert response.json()["subject"] == subject


# -- the verified-token cache ---------------------------------------------------------


def counting(verifier: TokenVerifier) -> list[str]:
    """The tokens ``verifier`` checks in full from now on (cache misses)."""
    checked: list[str] = []
    full = verifier._verify

    def spy(raw: str) -> Any:
        checked.append(raw)
        return full(raw)

    verifier._verify = spy  # type: ignore[method-assign,assignment]
    return checked


def test_a_verified_token_is_checked_once_and_a_forged_one_every_time() -> None:
    verifier = TokenVerifier.from_settings(settings())
    checked = counting(verifier)
    good = token()
    assert verifier.verify(good) is verifier.verify(good)
    assert checked == [good]
    # The same claims under another signature are another token: refused, every time.
    forged = good[: good.rindex(".") + 1] + "A" * len(good.rsplit(".", 1)[1])
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="bad signature"):
            verifier.verify(forged)
    assert checked == [good, forged, forged]


def test_a_remembered_token_is_checked_again_once_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = TokenVerifier.from_settings(settings())
    checked = counting(verifier)
    short = token(ttl_s=60)
    verifier.verify(short)
    later = time.time() + 60 + verifier.leeway_s + 1
    monkeypatch.setattr("chassis.auth.tokens.time.time", lambda: later)
    # Past exp + leeway the cache does not answer: the full check runs (and PyJWT,
    # on its own clock, decides).
    verifier.verify(short)
    assert checked == [short, short]


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chassis.auth.tokens.VERIFIED_CACHE_SIZE", 2)
    verifier = TokenVerifier.from_settings(settings())
    checked = counting(verifier)
    first, second, third = (token(subject=name) for name in ("ann", "bob", "cy"))
    for raw in (first, second, third, third, first):
        verifier.verify(raw)
    assert checked == [first, second, third, first]  # the oldest was let go
