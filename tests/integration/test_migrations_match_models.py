"""Each service's Alembic migrations build exactly the tables, columns, types, indexes and constraints its
models declare (a column added to a model without a migration, or the other way round, fails here), on
SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from rcm_shared.db import create_engine


@pytest.mark.parametrize("service", ["eligibility", "claims", "remittance", "denials"])
async def test_the_migrated_schema_is_the_one_the_models_declare(db_factory: Any, service: str) -> None:
    db = await db_factory(service)
    metadata = importlib.import_module(f"{service}.models").metadata
    engine = create_engine(db.url, schema=db.schema)
    try:
        async with engine.connect() as conn:
            if db.backend == "postgres":  # the engine maps names onto its schema; reflection reads the search path
                await conn.exec_driver_sql(f'SET search_path TO "{db.schema}"')
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
            )
    finally:
        await engine.dispose()
    assert diff == [], f"{service}: migrations and models differ: {diff}"


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])  # SQLite has none
async def test_the_tables_storage_parameters_are_those_the_models_declare(db_factory: Any, backend: str) -> None:
    """PostgreSQL storage parameters (``postgresql_with``), which the comparison above does not see."""
    for service in ("eligibility", "claims", "remittance", "denials"):
        db = await db_factory(service)
        assert db.backend == backend
        metadata = importlib.import_module(f"{service}.models").metadata
        declared = {
            t.name: sorted(f"{k}={v}" for k, v in (t.dialect_options["postgresql"]["with"] or {}).items())
            for t in metadata.tables.values()
        }
        engine = create_engine(db.url, schema=db.schema)
        try:
            async with engine.connect() as conn:
                rows = await conn.exec_driver_sql(
                    "SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = $1 AND c.relkind = 'r'",
                    (db.schema,),
                )
                stored = {name: sorted(options or []) for name, options in rows}
        finally:
            await engine.dispose()
        assert {name: stored.get(name) for name in declared} == declared, service


@pytest.mark.parametrize("service", ["eligibility", "claims", "remittance", "denials"])
async def test_the_relay_reads_its_queue_from_an_index_of_the_unpublished_rows_only(
    db_factory: Any, service: str
) -> None:
    """Partial index (bus tables version 2): the comparison above does not compare index predicates."""
    db = await db_factory(service)
    engine = create_engine(db.url, schema=db.schema)
    queue = "SELECT id FROM outbox_event WHERE published_at IS NULL ORDER BY id LIMIT 100"
    try:
        async with engine.connect() as conn:
            if db.backend == "postgres":
                await conn.exec_driver_sql(f'SET search_path TO "{db.schema}"')
                definition = (
                    await conn.exec_driver_sql(
                        "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2",
                        (db.schema, "ix_outbox_event_unpublished"),
                    )
                ).scalar_one()
                await conn.exec_driver_sql("SET enable_seqscan = off")  # an empty table: ask whether it can
                plan = " ".join(r[0] for r in await conn.exec_driver_sql("EXPLAIN " + queue))
            else:
                definition = (
                    await conn.exec_driver_sql(
                        "SELECT sql FROM sqlite_master WHERE name = 'ix_outbox_event_unpublished'"
                    )
                ).scalar_one()
                plan = " ".join(r[3] for r in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + queue))
    finally:
        await engine.dispose()
    assert " ".join(definition.split()).endswith(
        ("(id) WHERE published_at IS NULL", "USING btree (id) WHERE (published_at IS NULL)")
    ), definition
    assert "ix_outbox_event_unpublished" in plan, plan
