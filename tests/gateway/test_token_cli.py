"""``./tandem token --sub`` takes a person's id or the GraphQL global id the API shows."""

from __future__ import annotations

import base64

import pytest

from chassis.auth import TokenVerifier
from chassis.auth.cli import main as token_cli
from chassis.settings import ServiceSettings

SECRET = "a-test-secret-of-enough-length-for-hs256-0123456789"


@pytest.mark.parametrize(
    ("sub", "subject"),
    [
        ("p-1", "p-1"),
        (base64.b64encode(b"Person:p-1").decode(), "p-1"),
    ],
)
def test_sub_accepts_a_person_global_id(
    sub: str,
    subject: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("JWT_SECRET", SECRET)
    assert token_cli(["mint", "--sub", sub, "--tenant", "acme"]) == 0
    minted = capsys.readouterr().out.strip()
    verifier = TokenVerifier.from_settings(
        ServiceSettings(service_name="cli-test", environment="test", jwt_secret=SECRET)
    )
    principal = verifier.verify(minted)
    assert principal.subject == subject
