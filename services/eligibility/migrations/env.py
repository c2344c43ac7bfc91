from rcm_shared.migrations import run_migrations

from eligibility.config import EligibilitySettings
from eligibility.models import metadata

run_migrations(EligibilitySettings(), metadata)
