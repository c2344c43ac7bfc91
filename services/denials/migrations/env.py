from rcm_shared.migrations import run_migrations

from denials.config import DenialsSettings
from denials.models import metadata

run_migrations(DenialsSettings(), metadata)
