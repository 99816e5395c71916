"""``tandem-token`` / ``python -m chassis.auth``: mint development tokens.

    python -m chassis.auth mint --sub alice --tenant acme \
        --role coordinator --role mentor

The token is signed with the same settings the services read (``JWT_SECRET``,
``JWT_ISSUER``, ``JWT_AUDIENCE``; the development default secret when unset), so it is
accepted by a locally running platform. It refuses to run with
``ENVIRONMENT=production``: production tokens come from the identity provider.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import sys
from collections.abc import Sequence
from pathlib import Path

import jwt
from pydantic import ValidationError

from chassis.auth.principal import Role
from chassis.auth.tokens import mint_token
from chassis.settings import ServiceSettings


class TokenCliSettings(ServiceSettings):
    """Settings of the token CLI process; only the JWT fields matter."""

    service_name: str = "tandem-token"


def _subject(value: str) -> str:
    """The person id in ``value``: a GraphQL global id (base64 of ``Person:<id>``)
    is decoded; anything else is the id itself."""
    try:
        decoded = base64.b64decode(value.encode("ascii"), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return value
    type_name, sep, local = decoded.partition(":")
    return local if sep and type_name == "Person" and local else value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem-token", description="Mint Tandem development tokens."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    mint = commands.add_parser("mint", help="print a signed development token")
    mint.add_argument(
        "--sub",
        required=True,
        type=_subject,
        help="subject: a person's id, or their GraphQL global id (Person:<id>)",
    )
    mint.add_argument("--tenant", required=True, help="organisation the token is for")
    mint.add_argument(
        "--role",
        action="append",
        default=[],
        choices=[role.value for role in Role],
        help="a role to grant; repeat for several",
    )
    mint.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    mint.add_argument(
        "--private-key",
        type=Path,
        help="PEM private key file; signs with --algorithm (default RS256) instead "
        "of the HS256 JWT_SECRET",
    )
    mint.add_argument("--algorithm", help="signing algorithm (default per key kind)")
    mint.add_argument("--kid", help="key id header, for JWKS verification")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = TokenCliSettings()
    except ValidationError as exc:
        print(f"tandem-token: invalid settings: {exc}", file=sys.stderr)
        return 2
    if settings.is_production:
        print(
            "tandem-token: refusing to mint tokens with ENVIRONMENT=production; "
            "use your identity provider",
            file=sys.stderr,
        )
        return 2
    private_key = args.private_key.read_bytes() if args.private_key else None
    algorithm = args.algorithm or ("RS256" if private_key else "HS256")
    try:
        token = mint_token(
            settings.jwt_secret,
            subject=args.sub,
            tenant=args.tenant,
            roles=[Role(role) for role in args.role],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_s=args.ttl,
            algorithm=algorithm,
            private_key=private_key,
            key_id=args.kid,
        )
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        print(f"tandem-token: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
