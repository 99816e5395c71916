"""The notifications service refuses to start with keys anyone could derive."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from services.notifications.settings import Settings

KEY = base64.b64encode(b"k" * 32).decode()
IDP = "https://idp.example/.well-known/jwks.json"


def test_tokens_from_an_identity_provider_need_the_link_and_secrets_keys(monkeypatch):
    """With ``JWKS_URL`` the JWT secret is the public development default: links
    signed with a key derived from it could be forged, so production refuses."""
    monkeypatch.delenv("JWT_SECRET", raising=False)
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", jwks_url=IDP)
    said = str(refused.value)
    assert "NOTIFICATIONS_ACTION_SECRET" in said
    assert "NOTIFICATIONS_SECRETS_KEY" in said
    monkeypatch.setenv("NOTIFICATIONS_ACTION_SECRET", "a-real-secret-of-some-length")
    monkeypatch.setenv("NOTIFICATIONS_SECRETS_KEY", KEY)
    assert Settings(environment="production", jwks_url=IDP).action_secret


def test_a_real_jwt_secret_may_derive_them(monkeypatch):
    monkeypatch.delenv("NOTIFICATIONS_ACTION_SECRET", raising=False)
    monkeypatch.delenv("NOTIFICATIONS_SECRETS_KEY", raising=False)
    settings = Settings(environment="production", jwt_secret="s" * 48)
    assert settings.action_secret is None
    assert Settings(environment="development").action_secret is None
