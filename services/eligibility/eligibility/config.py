from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from rcm_shared.config import BaseServiceSettings


class EligibilitySettings(BaseServiceSettings):
    """Settings of the eligibility service; environment variables carry the prefix ELIGIBILITY_."""

    service_name: ClassVar[str] = "eligibility"
    model_config = SettingsConfigDict(env_prefix="ELIGIBILITY_", extra="ignore")
    port: int = 8001


@lru_cache
def get_settings() -> EligibilitySettings:
    return EligibilitySettings()
