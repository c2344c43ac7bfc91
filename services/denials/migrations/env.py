from denials.config import DenialsSettings
from denials.models import metadata
from rcm_shared.migrations import run_migrations

run_migrations(DenialsSettings(), metadata)
