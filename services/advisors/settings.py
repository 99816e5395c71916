"""Settings of the advisors process."""

from __future__ import annotations

import base64

from pydantic import SecretStr, model_validator

from chassis.settings import ServiceSettings

DEV_MASTER_KEY = base64.b64encode(b"tandem-advisors-dev-master-key!!").decode()


class Settings(ServiceSettings):
    service_name: str = "advisors"
    advisors_master_key: SecretStr = SecretStr(DEV_MASTER_KEY)
    expiry_sweep_s: float = 60

    @model_validator(mode="after")
    def _refuse_dev_master_key(self) -> Settings:
        if self.environment == "production" and (
            self.advisors_master_key.get_secret_value() == DEV_MASTER_KEY
        ):
            raise ValueError("ADVISORS_MASTER_KEY must be set in production")
        return self

    @property
    def master_key(self) -> bytes:
        return base64.b64decode(self.advisors_master_key.get_secret_value())
