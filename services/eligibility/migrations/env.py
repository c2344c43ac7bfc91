from eligibility.config import EligibilitySettings
from eligibility.models import metadata
from rcm_shared.migrations import run_migrations

run_migrations(EligibilitySettings(), metadata)
