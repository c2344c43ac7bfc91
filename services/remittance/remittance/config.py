from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Self

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict
from rcm_shared.config import BaseServiceSettings, Environment, project_var_dir


class RemittanceSettings(BaseServiceSettings):
    """Settings of the remittance service; environment variables carry the prefix REMITTANCE_."""

    service_name: ClassVar[str] = "remittance"
    write_scope: ClassVar[str] = "remittance:post"
    model_config = SettingsConfigDict(env_prefix="REMITTANCE_", extra="ignore")
    port: int = 8003
    inbound_dir: str = ""  # empty: ./var/inbound/835 (files dropped here are ingested by the worker)
    inbound_poll_seconds: float = 2.0  # a look at the folder at least this often (change events wake it sooner)
    inbound_settle_seconds: float = 1.0  # a file is taken once unchanged this long (it may still be copied in)
    max_upload_mb: int = 200
    max_body_mb: int = 200  # the API's body limit: at least the 835 upload limit
    request_timeout_s: float = 900.0  # a 200 MB 835 is streamed, parsed and posted within one request
    spool_dir: str = ""  # empty: ./var/spool/remittance (uploads are streamed here before parsing)
    batch_size: int = 500
    # The deployment's own clearinghouse ids, which must equal claims' (CLAIMS_SUBMITTER_ID/RECEIVER_ID): an
    # 835 sent to the submitter id by the receiver id is the default organization's, whatever connections
    # other organizations registered (``rcm_shared.x12.routing``).
    submitter_id: str = "RCMCLINIC"
    receiver_id: str = "CLEARINGHOUSE"
    # A crossover payer's 835 later than this after the forwarding payer's payment date: the forwarded
    # payment's patient share is due (from the next statement run); the claims follow-up's payment_days
    # (30 by default) lists the claim from the same day.
    crossover_wait_days: int = 30
    # Patient statements print each tenant's own header, from the practice profile claims announces
    # (claims.practice.changed). These stand in only for a tenant whose profile has not come yet (a
    # single-practice deployment that never set one up): its name, address (street, city, ST ZIP on one
    # line), phone, where to pay online, and where checks are mailed (on one line, as an address).
    practice_name: str = "Valley Family Clinic"
    practice_address: str = "100 Main St, Springfield, IL 62701"
    practice_phone: str = "(800) 555-0100"
    pay_online: str = "https://pay.example.org"
    pay_by_mail: str = "Valley Family Clinic, PO Box 100, Springfield, IL 62701"
    # The claims API, asked for each statement's mailing address on behalf of the caller who runs the
    # statements (claims owns the patients' addresses). Unset: the local stack's (port 8002, moved by
    # RCM_PORT_OFFSET as `make run` moves it), in development and test only (elsewhere it must be set); empty:
    # none is asked, and statements are not mailable.
    claims_url: str | None = None
    claims_timeout_s: float = 5.0

    def inbound_path(self) -> Path:
        return Path(self.inbound_dir) if self.inbound_dir else project_var_dir() / "inbound" / "835"

    def own_connection(self) -> tuple[str, str]:
        """The deployment's own (submitter_id, receiver_id): the default organization's connection."""
        return (self.submitter_id.strip(), self.receiver_id.strip())

    @model_validator(mode="after")
    def _claims_url_named_outside_development(self) -> Self:
        # unset, it is this machine's port 8002: callers' bearer tokens would go to whatever listens there
        if self.claims_url is None and self.environment not in (Environment.development, Environment.test):
            raise ValueError(
                f"REMITTANCE_CLAIMS_URL is unset: set the claims API's URL for environment "
                f"{self.environment.value} (the local stack's is the default in development and test only), or "
                "empty for none (statements are not mailable)"
            )
        return self

    def claims_api_url(self) -> str:
        if self.claims_url is not None:
            return self.claims_url
        return f"http://127.0.0.1:{8002 + int(os.environ.get('RCM_PORT_OFFSET') or 0)}"

    def spool_path(self) -> Path:
        return Path(self.spool_dir) if self.spool_dir else project_var_dir() / "spool" / "remittance"


@lru_cache
def get_settings() -> RemittanceSettings:
    return RemittanceSettings()
