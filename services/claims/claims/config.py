from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from rcm_shared.config import BaseServiceSettings


class ClaimsSettings(BaseServiceSettings):
    """Settings of the claims service; environment variables carry the prefix CLAIMS_."""

    service_name: ClassVar[str] = "claims"
    model_config = SettingsConfigDict(env_prefix="CLAIMS_", extra="ignore")
    port: int = 8002


@lru_cache
def get_settings() -> ClaimsSettings:
    return ClaimsSettings()
