from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field
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
    # HL7 v2 over MLLP (``python -m claims.listener``, docs/hl7.md)
    hl7_host: str = "127.0.0.1"  # 0.0.0.0 in a container
    hl7_port: int = 2575
    # MSH-4's sending facility (first component) -> the tenant its messages are for; others are refused (AR)
    hl7_senders: dict[str, str] = {}
    hl7_processing_id: Literal["P", "T", "D"] = "P"  # MSH-11 taken: production, training or debugging
    hl7_application: str = "RCM"  # our MSH-3 in acknowledgments when the message's MSH-5 names none
    hl7_tls_cert_file: str = ""  # with the key file: the listener speaks TLS (MLLP inside it)
    hl7_tls_key_file: str = ""
    hl7_tls_client_ca_file: str = ""  # when set: only clients with a certificate it signed connect
    # with client certificates: a certificate's subject CN or DNS/IP SAN -> the facilities (MSH-4.1) it sends
    # for; a message of another facility is refused (AR). Required when ``hl7_tls_client_ca_file`` is set.
    hl7_tls_client_facilities: dict[str, list[str]] = {}
    hl7_max_message_bytes: int = 1_048_576  # a larger frame is dropped (its sender gets no ACK)
    hl7_idle_timeout_s: float = 600.0  # a connection silent this long is closed
    # a visit's charges wait this many days after its latest date of service before they become a claim
    hl7_charge_hold_days: int = Field(default=2, ge=0)
    hl7_place_of_service: str = Field(default="11", pattern=r"^\d{2}$")  # when PV1-3.4 names no practice facility
    hl7_release_interval_s: float = 300.0  # how often the worker releases the encounters due (0: never)

    def outbound_path(self) -> Path:
        return Path(self.outbound_dir) if self.outbound_dir else project_var_dir() / "outbound" / "837"

    def inbound_ack_path(self) -> Path:
        return Path(self.inbound_ack_dir) if self.inbound_ack_dir else project_var_dir() / "inbound" / "acks"


@lru_cache
def get_settings() -> ClaimsSettings:
    return ClaimsSettings()
