from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from pydantic_settings import SettingsConfigDict
from rcm_shared.config import BaseServiceSettings, project_var_dir


class ClaimsSettings(BaseServiceSettings):
    """Settings of the claims service; environment variables carry the prefix CLAIMS_."""

    service_name: ClassVar[str] = "claims"
    model_config = SettingsConfigDict(env_prefix="CLAIMS_", extra="ignore")
    port: int = 8002
    clearinghouse_adapter: str = "filedrop"  # filedrop | sandbox | http
    clearinghouse_url: str = ""  # http adapter: takes an interchange, answers a 999
    sandbox_url: str = "http://127.0.0.1:8009/x12/837"
    clearinghouse_timeout_s: float = 10.0
    outbound_dir: str = ""  # empty: ./var/outbound/837
    inbound_ack_dir: str = ""  # empty: ./var/inbound/acks (999, 277CA, 277 files from the clearinghouse)
    poll_seconds: float = 2.0
    # a submission an API request recorded is left to that request to deliver for this long; then, if still
    # pending (the clearinghouse refused it, the process died), the worker retries it
    delivery_grace_s: float = 30.0
    submitter_id: str = "RCMCLINIC"  # ISA06 / GS02 / 1000A NM109
    submitter_name: str = "RCM PLATFORM CLINIC"
    submitter_contact: str = "BILLING OFFICE"
    submitter_phone: str = "8005550100"
    receiver_id: str = "CLEARINGHOUSE"  # ISA08 / GS03 / 1000B
    receiver_name: str = "SANDBOX CLEARINGHOUSE"
    usage_indicator: str = "T"  # ISA15: T test, P production
    payer_rules_file: str = ""  # empty: the bundled claims/data/payer_rules.toml
    ncci_ptp_files: list[str] = []  # CMS NCCI PTP files (tab or comma separated), loaded at start
    mue_files: list[str] = []
    auto_submit_resubmissions: bool = True
    # the worker sends the 276 inquiries the follow-up list says are due, this often (0: never; the
    # billing office then uses POST /v1/follow-up/inquiries)
    follow_up_interval_s: float = 3600.0

    def outbound_path(self) -> Path:
        return Path(self.outbound_dir) if self.outbound_dir else project_var_dir() / "outbound" / "837"

    def inbound_ack_path(self) -> Path:
        return Path(self.inbound_ack_dir) if self.inbound_ack_dir else project_var_dir() / "inbound" / "acks"


@lru_cache
def get_settings() -> ClaimsSettings:
    return ClaimsSettings()
