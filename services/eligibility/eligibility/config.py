from __future__ import annotations

import os
from functools import lru_cache
from typing import ClassVar, Self

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict
from rcm_shared.config import BaseServiceSettings, Environment


class EligibilitySettings(BaseServiceSettings):
    """Settings of the eligibility service; environment variables carry the prefix ELIGIBILITY_."""

    service_name: ClassVar[str] = "eligibility"
    write_scope: ClassVar[str] = "eligibility:check"
    model_config = SettingsConfigDict(env_prefix="ELIGIBILITY_", extra="ignore")
    port: int = 8001
    # Clearinghouse adapters in failover order: name -> URL that takes a 270 and answers a 271.
    adapters: dict[str, str] = {"sandbox": "http://127.0.0.1:8009/x12/270"}
    adapter_timeout_s: float = 5.0
    adapter_retries: int = 2
    cache_ttl_s: int = 4 * 3600  # a recent active answer for the same member, payer and service types is reused
    submitter_id: str = "RCMCLINIC"
    receiver_id: str = "CLEARINGHOUSE"
    usage_indicator: str = "T"
    # The claims API, asked for a registered patient's coverages (claims keeps the EHR's ADT registrations) on
    # behalf of the caller of a check by MRN. Unset: the local stack's (port 8002, moved by RCM_PORT_OFFSET as
    # `make run` moves it), in development and test only (elsewhere it must be set); empty: none is asked, and
    # checks by MRN are unavailable.
    claims_url: str | None = None
    claims_timeout_s: float = 5.0

    @model_validator(mode="after")
    def _claims_url_named_outside_development(self) -> Self:
        # unset, it is this machine's port 8002: callers' bearer tokens would go to whatever listens there
        if self.claims_url is None and self.environment not in (Environment.development, Environment.test):
            raise ValueError(
                f"ELIGIBILITY_CLAIMS_URL is unset: set the claims API's URL for environment "
                f"{self.environment.value} (the local stack's is the default in development and test only), or "
                "empty for none (checks by MRN are unavailable)"
            )
        return self

    def claims_api_url(self) -> str:
        if self.claims_url is not None:
            return self.claims_url
        return f"http://127.0.0.1:{8002 + int(os.environ.get('RCM_PORT_OFFSET') or 0)}"


@lru_cache
def get_settings() -> EligibilitySettings:
    return EligibilitySettings()
