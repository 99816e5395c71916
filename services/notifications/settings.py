"""Settings of the notifications process."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from chassis.settings import DEFAULT_DEV_SECRET, ServiceSettings

DEFAULT_HOSTS = ("hooks.slack.com", "*.webhook.office.com", "*.logic.azure.com")


class Settings(ServiceSettings):
    service_name: str = "notifications"
    # The email channel: unset host = no email goes out (deliveries wait, then die).
    smtp_host: str | None = Field(None, validation_alias="NOTIFICATIONS_SMTP_HOST")
    smtp_port: int = Field(
        587, ge=1, le=65535, validation_alias="NOTIFICATIONS_SMTP_PORT"
    )
    smtp_starttls: bool = Field(True, validation_alias="NOTIFICATIONS_SMTP_STARTTLS")
    smtp_username: str | None = Field(
        None, validation_alias="NOTIFICATIONS_SMTP_USERNAME"
    )
    smtp_password: SecretStr | None = Field(
        None, validation_alias="NOTIFICATIONS_SMTP_PASSWORD"
    )
    smtp_from: str = Field(
        "tandem@localhost", validation_alias="NOTIFICATIONS_SMTP_FROM"
    )
    # A CA bundle to trust for STARTTLS besides the system's (a private relay).
    smtp_ca_file: str | None = Field(
        None, validation_alias="NOTIFICATIONS_SMTP_CA_FILE"
    )
    smtp_timeout_s: float = Field(10.0, gt=0, le=120)
    # The outbox: how often the webhooks' dispatcher looks for due messages when no
    # notification woke it, how many per batch, retries.
    delivery_poll_s: float = Field(1.0, gt=0, validation_alias="NOTIFICATIONS_POLL_S")
    # The email and chat dispatcher is woken by the transaction that queues a
    # delivery and sleeps until the next one falls due; it looks anyway after this
    # (a safety net for a lost wake-up).
    delivery_fallback_s: float = Field(
        60.0, gt=0, validation_alias="NOTIFICATIONS_DELIVERY_FALLBACK_S"
    )
    delivery_batch: int = Field(100, ge=1, le=10_000)
    delivery_timeout_s: float = Field(15.0, gt=0, le=300)
    retry_base_s: float = Field(
        5.0, gt=0, validation_alias="NOTIFICATIONS_RETRY_BASE_S"
    )
    retry_cap_s: float = Field(3600.0, gt=0)
    retry_max_attempts: int = Field(
        8, ge=1, le=100, validation_alias="NOTIFICATIONS_RETRY_MAX_ATTEMPTS"
    )
    # The chat channels: which incoming-webhook hosts a person may connect
    # (comma-separated patterns), and plain HTTP (tests' loopback receivers only).
    webhook_hosts: Annotated[list[str], NoDecode] = Field(
        default=list(DEFAULT_HOSTS), validation_alias="NOTIFICATIONS_WEBHOOK_HOSTS"
    )
    webhook_allow_http: bool = Field(
        False, validation_alias="NOTIFICATIONS_WEBHOOK_ALLOW_HTTP"
    )
    webhook_timeout_s: float = Field(10.0, gt=0, le=120)
    # Outbound webhooks: retries (Standard Webhooks' schedule runs to ~1.5 days),
    # and how long an endpoint may fail without a success before it is disabled.
    webhook_retry_base_s: float = Field(
        5.0, gt=0, validation_alias="NOTIFICATIONS_WEBHOOK_RETRY_BASE_S"
    )
    webhook_retry_cap_s: float = Field(10 * 3600.0, gt=0)
    webhook_max_attempts: int = Field(
        12, ge=1, le=100, validation_alias="NOTIFICATIONS_WEBHOOK_MAX_ATTEMPTS"
    )
    webhook_disable_after_s: float = Field(
        5 * 24 * 3600.0, ge=0, validation_alias="NOTIFICATIONS_WEBHOOK_DISABLE_AFTER_S"
    )
    # How long a webhook message done with (sent, or dead) stays in the endpoint's
    # delivery log, its attempts with it (``Webhooks.prune_log``: hourly).
    webhook_log_retention_days: int = Field(
        30, ge=1, validation_alias="NOTIFICATIONS_WEBHOOK_LOG_RETENTION_DAYS"
    )
    # The scheduler: how often the time-based rules are swept (session tomorrow,
    # milestone due, pulse, missed cadence, inactivity warning and closing).
    sweep_s: float = Field(300.0, gt=0, validation_alias="NOTIFICATIONS_SWEEP_S")
    # Where a message's link points (the portal's inbox); unset: no link.
    portal_url: str | None = Field(None, validation_alias="NOTIFICATIONS_PORTAL_URL")
    # Signed action links (act from a message without logging in): the HMAC key
    # (unset: derived from the JWT secret), where the links point (this service's
    # public URL), how long they live, and the services that carry the actions out.
    action_secret: SecretStr | None = Field(
        None, validation_alias="NOTIFICATIONS_ACTION_SECRET"
    )
    action_base_url: str = Field(
        "http://localhost:8006", validation_alias="NOTIFICATIONS_ACTION_BASE_URL"
    )
    action_ttl_s: int = Field(
        7 * 24 * 3600, ge=60, validation_alias="NOTIFICATIONS_ACTION_TTL_S"
    )
    # Secrets kept at rest (a tenant's Slack bot token, webhook signing secrets) are
    # sealed with this key (base64 of 32 bytes; unset: derived from the JWT secret),
    # and the Slack Web API.
    secrets_key: SecretStr | None = Field(
        None, validation_alias="NOTIFICATIONS_SECRETS_KEY"
    )
    slack_api_url: str = Field(
        "https://slack.com/api", validation_alias="NOTIFICATIONS_SLACK_API_URL"
    )
    matching_url: str = Field("http://localhost:8002", validation_alias="MATCHING_URL")
    sessions_url: str = Field("http://localhost:8003", validation_alias="SESSIONS_URL")

    @field_validator("webhook_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _no_plain_http_in_production(self) -> Settings:
        if self.is_production and self.webhook_allow_http:
            raise ValueError("NOTIFICATIONS_WEBHOOK_ALLOW_HTTP is for tests only")
        return self

    @model_validator(mode="after")
    def _no_key_derived_from_a_known_secret(self) -> Settings:
        """The action links' key and the secrets' key are derived from the JWT
        secret when unset. With tokens checked against an identity provider's key
        set (``JWKS_URL``) that secret is the published development default, and a
        key derived from it would let anyone forge a link: outside development
        both must then be set."""
        if self.environment in ("development", "test"):
            return self
        if self.jwt_secret.get_secret_value() != DEFAULT_DEV_SECRET:
            return self
        missing = [
            name
            for name, value in (
                ("NOTIFICATIONS_ACTION_SECRET", self.action_secret),
                ("NOTIFICATIONS_SECRETS_KEY", self.secrets_key),
            )
            if value is None or not value.get_secret_value()
        ]
        if missing:
            raise ValueError(
                f"{' and '.join(missing)} must be set when JWT_SECRET is not "
                f"(ENVIRONMENT={self.environment}): a key derived from the development "
                "default would let anyone sign an action link"
            )
        return self
