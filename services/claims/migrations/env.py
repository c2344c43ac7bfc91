from rcm_shared.migrations import run_migrations

from claims.config import ClaimsSettings
from claims.models import metadata

run_migrations(ClaimsSettings(), metadata)
