from rcm_shared.migrations import run_migrations
from remittance.config import RemittanceSettings
from remittance.models import metadata

run_migrations(RemittanceSettings(), metadata)
