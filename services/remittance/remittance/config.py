from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from rcm_shared.config import BaseServiceSettings


class RemittanceSettings(BaseServiceSettings):
    """Settings of the remittance service; environment variables carry the prefix REMITTANCE_."""

    service_name: ClassVar[str] = "remittance"
    model_config = SettingsConfigDict(env_prefix="REMITTANCE_", extra="ignore")
    port: int = 8003


@lru_cache
def get_settings() -> RemittanceSettings:
    return RemittanceSettings()
