from __future__ import annotations

from functools import cache
from pathlib import Path

from denials.config import get_settings
from denials.domain.classify import Rules, default_rules, load_rules


@cache
def rules() -> Rules:
    file = get_settings().classification_file
    return load_rules(Path(file)) if file else default_rules()
