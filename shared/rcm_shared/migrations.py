"""Alembic glue: each service's ``migrations/env.py`` calls :func:`run_migrations`.

The version table lives in the service's own schema on PostgreSQL; the service's tables are created
unqualified and mapped into that schema, so one migration tree serves SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from rcm_shared.config import BaseServiceSettings
from rcm_shared.db import create_engine, ensure_schema


def run_migrations(settings: BaseServiceSettings, target_metadata: MetaData) -> None:
    url = context.config.get_main_option("sqlalchemy.url") or settings.database_url
    schema = context.config.get_main_option("rcm.schema") or settings.db_schema
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, schema, target_metadata))


async def _run_online(url: str, schema: str, target_metadata: MetaData) -> None:
    engine = create_engine(url, schema=schema, pool_size=1)
    try:
        await ensure_schema(engine, schema)
        async with engine.connect() as conn:
            await conn.run_sync(_do_run, schema, target_metadata)
            await conn.commit()
    finally:
        await engine.dispose()


def _do_run(conn: Connection, schema: str, target_metadata: MetaData) -> None:
    opts: dict[str, Any] = {"render_as_batch": conn.dialect.name == "sqlite"}
    if conn.dialect.name != "sqlite":
        opts["version_table_schema"] = schema
        # Table DDL follows the engine's schema_translate_map, but Alembic's own operations (ALTER TABLE
        # ... ADD COLUMN, op.execute) name tables unqualified: resolve those in the service's schema too.
        conn.exec_driver_sql(f"SET search_path TO {conn.dialect.identifier_preparer.quote(schema)}")
    context.configure(connection=conn, target_metadata=target_metadata, **opts)
    with context.begin_transaction():
        context.run_migrations()
