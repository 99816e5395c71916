"""Settings of the sessions process."""

from __future__ import annotations

import base64

from pydantic import Field, SecretStr, model_validator

from chassis.settings import ServiceSettings

DEV_PULSE_KEY = "dev-pulse-key-change-me"
"""The pulse ledger's HMAC key when none is configured; refused in production."""
DEV_MASTER_KEY = base64.b64encode(b"tandem-sessions-dev-master-key!!").decode()
"""Wraps the authors' text keys when none is configured; refused in production."""


class Settings(ServiceSettings):
    service_name: str = "sessions"
    # Keys the pulse respondent ledger (HMAC of survey and person). It lives here, not
    # in the database, so a reader of every table cannot tell who answered; changing
    # it lets people who answered a still-open survey answer it once more.
    sessions_pulse_key: SecretStr = SecretStr(DEV_PULSE_KEY)
    # Wraps each author's data key, which seals their notes, journals, feedback
    # comments and escalations (application/texts.py); 32 bytes, base64.
    sessions_master_key: SecretStr = SecretStr(DEV_MASTER_KEY)
    # The organisation's k: a pulse survey never reports fewer respondents, whatever
    # its opener asked for (the same K_ANONYMITY the insights service reads).
    k_anonymity: int = Field(
        default=5, ge=2, le=100, description="smallest group ever reported"
    )

    @model_validator(mode="after")
    def _refuse_dev_pulse_key(self) -> Settings:
        if (
            self.environment == "production"
            and self.sessions_pulse_key.get_secret_value() == DEV_PULSE_KEY
        ):
            raise ValueError(
                "SESSIONS_PULSE_KEY must be set in production (32 random bytes, base64)"
            )
        if (
            self.environment == "production"
            and self.sessions_master_key.get_secret_value() == DEV_MASTER_KEY
        ):
            raise ValueError(
                "SESSIONS_MASTER_KEY must be set in production (32 random bytes, base64)"
            )
        if len(self.master_key) != 32:
            raise ValueError("SESSIONS_MASTER_KEY must be 32 bytes, base64")
        return self

    @property
    def master_key(self) -> bytes:
        return base64.b64decode(self.sessions_master_key.get_secret_value())

    @property
    def pulse_key(self) -> bytes:
        return self.sessions_pulse_key.get_secret_value().encode()
