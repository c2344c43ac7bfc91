from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from rcm_shared.config import BaseServiceSettings


class DenialsSettings(BaseServiceSettings):
    """Settings of the denials service; environment variables carry the prefix DENIALS_."""

    service_name: ClassVar[str] = "denials"
    model_config = SettingsConfigDict(env_prefix="DENIALS_", extra="ignore")
    port: int = 8004


@lru_cache
def get_settings() -> DenialsSettings:
    return DenialsSettings()
