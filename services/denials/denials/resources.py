from __future__ import annotations

from functools import cache
from pathlib import Path

from denials.config import get_settings
from denials.domain.classify import Rules, default_rules, load_rules
from denials.domain.triage import FeeSchedule, load_fee_schedule


@cache
def rules() -> Rules:
    file = get_settings().classification_file
    return load_rules(Path(file)) if file else default_rules()


@cache
def fee_schedule() -> FeeSchedule:
    file = get_settings().fee_schedule_file
    return load_fee_schedule(Path(file)) if file else {}
