"""Settings of the profiles process."""

from __future__ import annotations

import base64

from pydantic import SecretStr, model_validator

from chassis.settings import ServiceSettings

# Development only: a production deployment must set PROFILES_MASTER_KEY.
DEV_MASTER_KEY = base64.b64encode(b"tandem-development-master-key!!!").decode()


class Settings(ServiceSettings):
    service_name: str = "profiles"
    profiles_master_key: SecretStr = SecretStr(DEV_MASTER_KEY)
    demographic_attributes: list[str] = [
        "gender",
        "age_band",
        "ethnicity",
        "disability",
        "caring_responsibilities",
    ]

    @model_validator(mode="after")
    def _refuse_dev_master_key(self) -> Settings:
        if self.environment == "production" and (
            self.profiles_master_key.get_secret_value() == DEV_MASTER_KEY
        ):
            raise ValueError(
                "PROFILES_MASTER_KEY must be set in production (32 random bytes, base64)"
            )
        return self

    @property
    def master_key(self) -> bytes:
        return base64.b64decode(self.profiles_master_key.get_secret_value())
