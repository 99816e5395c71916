"""Process settings shared by every Tandem service.

Each process has exactly one settings class, a subclass of :class:`ServiceSettings`
that fixes ``service_name`` and adds what that service alone needs::

    class ProfilesSettings(ServiceSettings):
        service_name: str = "profiles"
        erasure_grace_days: int = 30

Values come from the environment. There is deliberately **no prefix** for the names
every service shares, so one ``.env`` or one Kubernetes ConfigMap speaks the same
language to all of them: ``SERVICE_NAME``, ``ENVIRONMENT``, ``DATABASE_URL``,
``KAFKA_BOOTSTRAP_SERVERS``, ``JWT_SECRET``, ``JWT_ISSUER``, ``JWT_AUDIENCE``,
``JWT_ALGORITHMS`` (comma-separated or a JSON list), ``JWKS_URL``,
``JWT_MAX_LIFETIME_S``, ``LOG_LEVEL``, ``TOPIC_PARTITIONS``, ``MAX_EVENT_BYTES``,
``RATE_LIMIT_PER_TOKEN_PER_MINUTE``, ``RATE_LIMIT_PER_TENANT_PER_MINUTE`` and
``RATE_LIMIT_STORAGE``. Names are case-insensitive. A service that needs its own
variables should give them a distinctive name (``PROFILES_ERASURE_GRACE_DAYS``) via
``Field(validation_alias=...)`` rather than a prefix that would hide the shared ones.

**No ``ENVIRONMENT`` means production.** A process started without it refuses the
public development secret (and so every token signed with it) and serves no
development conveniences; development must be asked for: ``./tandem up``, ``./tandem
real`` and the launcher set ``ENVIRONMENT=development``, the test fixtures ``test``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DEV_SECRET = "dev-secret-change-me"
"""The HS256 secret used when none is configured; refused outside development/test
(and so whenever ``ENVIRONMENT`` is unset)."""

Environment = Literal["development", "test", "production"]


def _default_database_url(data: dict[str, Any]) -> str:
    # Embedded mode: one SQLite file per service so services still own separate stores.
    name = data.get("service_name") or "service"
    return f"sqlite+aiosqlite:///.tandem/{name}.db"


class ServiceSettings(BaseSettings):
    """Settings every service shares; subclass it once per process."""

    model_config = SettingsConfigDict(
        env_prefix="",
        env_file=None,
        extra="ignore",
        case_sensitive=False,
    )

    service_name: str
    # Fail closed: forgetting the variable must not open the development doors.
    environment: Environment = "production"
    database_url: str = Field(default_factory=_default_database_url)
    # PostgreSQL connections a service process keeps (``chassis.db.create_engine``):
    # requests beyond them wait for one rather than open more.
    database_pool_size: int = Field(default=20, ge=1, le=500)
    # None means the embedded in-process bus instead of Kafka.
    kafka_bootstrap_servers: str | None = None
    jwt_secret: SecretStr = SecretStr(DEFAULT_DEV_SECRET)
    jwt_issuer: str = "tandem-dev"
    jwt_audience: str = "tandem"
    # NoDecode: accept "HS256,RS256" as well as a JSON list from the environment.
    jwt_algorithms: Annotated[list[str], NoDecode] = ["HS256"]
    jwks_url: str | None = None
    # The longest a bearer token may live (exp - iat), whoever issued it.
    jwt_max_lifetime_s: int = Field(default=24 * 3600, ge=60)
    log_level: str = "INFO"
    topic_partitions: int = Field(default=3, ge=1)
    # PostgreSQL only: run the service's Alembic revisions up to head at start.
    migrate_on_start: bool = True
    # The input guard (chassis.http.guard): JSON bodies and uploads (CSV imports).
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # The largest event (payload + metadata) the store accepts: below what the
    # broker takes (Kafka's message.max.bytes, ~1 MB by default), so the relay can
    # always publish what was stored.
    max_event_bytes: int = Field(default=900 * 1024, ge=1024)
    # Rate limits (chassis.http.ratelimit): requests per minute per caller (tenant
    # and subject) and per tenant, 0 = off; where the counters live (a `limits`
    # storage URI or a PostgreSQL URL; unset: the service's PostgreSQL database in
    # production, memory otherwise).
    rate_limit_per_token_per_minute: int = Field(default=10_000, ge=0)
    rate_limit_per_tenant_per_minute: int = Field(default=50_000, ge=0)
    rate_limit_storage: str | None = None
    # How long a consumer keeps the mark of each event it applied, its dedupe of
    # redeliveries (``chassis.messaging.consumer.prune_marks``: hourly).
    processed_retention_days: int = Field(default=30, ge=1)
    # The cycle collector tuned for serving (chassis.heap): the startup heap
    # frozen, a wider young generation. Unset: on, except with ENVIRONMENT=test.
    gc_tuning: bool | None = None

    @field_validator("jwt_algorithms", mode="before")
    @classmethod
    def _split_algorithms(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator(
        "kafka_bootstrap_servers",
        "jwks_url",
        "rate_limit_storage",
        "gc_tuning",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # An empty variable in a compose file means "not set", not "empty host list".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _refuse_dev_secret_outside_development(self) -> ServiceSettings:
        if (
            self.environment not in ("development", "test")
            and self.jwks_url is None
            and self.jwt_secret.get_secret_value() == DEFAULT_DEV_SECRET
        ):
            raise ValueError(
                f"JWT_SECRET is still the development default while "
                f"ENVIRONMENT={self.environment}; set JWT_SECRET to a real secret "
                "(or JWKS_URL to your identity provider's key set) before starting"
            )
        return self

    @property
    def is_production(self) -> bool:
        """True when running with ``ENVIRONMENT=production``."""
        return self.environment == "production"

    @property
    def uses_embedded_bus(self) -> bool:
        """True when no Kafka is configured and the in-process bus stands in."""
        return self.kafka_bootstrap_servers is None
