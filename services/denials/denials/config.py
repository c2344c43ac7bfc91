from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import ClassVar

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict
from rcm_shared.config import BaseServiceSettings


class DenialsSettings(BaseServiceSettings):
    """Settings of the denials service; environment variables carry the prefix DENIALS_."""

    service_name: ClassVar[str] = "denials"
    write_scope: ClassVar[str] = "denials:work"
    model_config = SettingsConfigDict(env_prefix="DENIALS_", extra="ignore")
    port: int = 8004
    appeal_window_days: int = 90  # default appeal / refiling window from the remittance
    payer_appeal_window_days: dict[str, int] = {}  # per payer, e.g. DENIALS_PAYER_APPEAL_WINDOW_DAYS='{"MCRB1": 120}'
    deadline_warning_days: int = 14
    deadline_poll_seconds: float = 60.0
    classification_file: str = ""  # empty: the bundled denials/data/classification.csv
    # CMS's Physician Fee Schedule files of one year (PPRRVU and GPCI CSVs) and its conversion factor: loaded at
    # start when set, for contracts paying a percent of Medicare and for the indicators of 51, 50 and 26/TC.
    medicare_rvu_file: str = ""
    medicare_gpci_file: str = ""
    medicare_conversion_factor: Decimal | None = Field(None, gt=0)
    # An adjudicated line whose allowed amount is off the contract's by more than this is a worklist item.
    underpayment_tolerance_cents: int = Field(0, ge=0)
    # The appeal letters' sender for a tenant with no practice profile (practice.changed) in effect on the letter's
    # date; a tenant's own legal name and statement header otherwise.
    practice_name: str = "RCM PLATFORM CLINIC"
    # A write-off above this many cents waits for a second person's approval; None: none ever does.
    write_off_approval_cents: int | None = Field(50000, ge=0)
    appeal_answer_days: int = Field(60, ge=1)  # how long a payer has to answer an appeal (the deadline watch's date)

    @model_validator(mode="after")
    def _medicare_files_go_together(self) -> DenialsSettings:
        given = [
            bool(self.medicare_rvu_file),
            bool(self.medicare_gpci_file),
            self.medicare_conversion_factor is not None,
        ]
        if any(given) and not all(given):
            raise ValueError(
                "DENIALS_MEDICARE_RVU_FILE, DENIALS_MEDICARE_GPCI_FILE and DENIALS_MEDICARE_CONVERSION_FACTOR go "
                "together: set all three or none"
            )
        return self

    def window_for(self, payer_id: str) -> int:
        return self.payer_appeal_window_days.get(payer_id, self.appeal_window_days)


@lru_cache
def get_settings() -> DenialsSettings:
    return DenialsSettings()
