"""What the scrubber needs that is loaded once per process from files: payer rules and NCCI/MUE tables
(replaceable through settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from claims.config import ClaimsSettings, get_settings
from claims.domain.ncci import NcciTables, load_mue, load_ptp
from claims.domain.scrubber import PayerRuleBook, ScrubContext, load_payer_rules


@dataclass
class ScrubResources:
    payer_rules: PayerRuleBook
    ncci: NcciTables

    def context(self) -> ScrubContext:
        return ScrubContext(today=datetime.now(UTC).date(), ncci=self.ncci, payer_rules=self.payer_rules)


def load_resources(settings: ClaimsSettings) -> ScrubResources:
    ncci = NcciTables()
    for file in settings.ncci_ptp_files:
        load_ptp(Path(file), ncci)
    for file in settings.mue_files:
        load_mue(Path(file), ncci)
    rules = load_payer_rules(Path(settings.payer_rules_file) if settings.payer_rules_file else None)
    return ScrubResources(rules, ncci)


@cache
def default_resources() -> ScrubResources:
    return load_resources(get_settings())
