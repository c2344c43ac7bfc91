from claims.config import ClaimsSettings
from claims.models import metadata
from rcm_shared.migrations import run_migrations

run_migrations(ClaimsSettings(), metadata)
