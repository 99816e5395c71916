"""Settings: fail fast on a default secret outside development, read the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chassis.settings import DEFAULT_DEV_SECRET, ServiceSettings

SHARED_VARS = (
    "SERVICE_NAME",
    "ENVIRONMENT",
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "JWT_SECRET",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "JWT_ALGORITHMS",
    "JWKS_URL",
    "LOG_LEVEL",
    "TOPIC_PARTITIONS",
)


class ProfilesSettings(ServiceSettings):
    service_name: str = "profiles"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SHARED_VARS:
        monkeypatch.delenv(name, raising=False)
    # development must be asked for (the test below shows what its absence means)
    monkeypatch.setenv("ENVIRONMENT", "development")


def test_no_environment_means_production_and_refuses_the_dev_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ENVIRONMENT")
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        ProfilesSettings()
    monkeypatch.setenv("JWT_SECRET", "a-real-secret-of-at-least-32-bytes!!")
    assert ProfilesSettings().is_production


def test_defaults_suit_embedded_development() -> None:
    settings = ProfilesSettings()
    assert settings.environment == "development"
    assert settings.database_url == "sqlite+aiosqlite:///.tandem/profiles.db"
    assert settings.kafka_bootstrap_servers is None
    assert settings.uses_embedded_bus
    assert settings.jwt_secret.get_secret_value() == DEFAULT_DEV_SECRET
    assert settings.jwt_algorithms == ["HS256"]
    assert not settings.is_production


def test_production_with_default_secret_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        ProfilesSettings()


def test_production_with_real_secret_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET", "a-real-secret-of-at-least-32-bytes!!")
    settings = ProfilesSettings()
    assert settings.is_production
    assert "a-real-secret" not in repr(settings)  # secrets never print


def test_production_with_jwks_needs_no_shared_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWKS_URL", "https://idp.example/.well-known/jwks.json")
    assert ProfilesSettings().jwks_url == "https://idp.example/.well-known/jwks.json"


def test_shared_variables_are_read_without_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://tandem@db/profiles")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("JWT_ISSUER", "https://idp.example")
    monkeypatch.setenv("JWT_AUDIENCE", "tandem-api")
    monkeypatch.setenv("JWT_ALGORITHMS", "RS256, HS256")
    monkeypatch.setenv("TOPIC_PARTITIONS", "6")
    monkeypatch.setenv("log_level", "debug")  # names are case-insensitive
    settings = ProfilesSettings()
    assert settings.database_url == "postgresql+asyncpg://tandem@db/profiles"
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert not settings.uses_embedded_bus
    assert settings.jwt_issuer == "https://idp.example"
    assert settings.jwt_audience == "tandem-api"
    assert settings.jwt_algorithms == ["RS256", "HS256"]
    assert settings.topic_partitions == 6
    assert settings.log_level == "DEBUG"


def test_algorithms_accept_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_ALGORITHMS", '["ES256"]')
    assert ProfilesSettings().jwt_algorithms == ["ES256"]


def test_empty_kafka_variable_means_embedded_bus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "")
    assert ProfilesSettings().uses_embedded_bus


def test_unknown_environment_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "staging")
    with pytest.raises(ValidationError, match="environment"):
        ProfilesSettings()


def test_base_class_requires_a_service_name() -> None:
    with pytest.raises(ValidationError, match="service_name"):
        ServiceSettings()  # type: ignore[call-arg]
