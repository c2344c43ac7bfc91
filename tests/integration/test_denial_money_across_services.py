"""A denial's money across claims, remittance and denials: denials alone decides when the payer's later word takes
a move back, and both ledgers follow its one ``denial.move_undone``, once. The services' events travel here as
their workers read them (the outbox rows, rebuilt as the broker would deliver them, handed to each consumer's
handler in order), without a broker: the order between topics is the test's to choose."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from builders.encounters import encounter
from builders.x835 import encounter_835
from rcm_shared.db import create_engine, session_factory
from rcm_shared.events import Envelope
from rcm_shared.topics import CATALOG
from sqlalchemy import select

TENANT = "org-1"
CONSUMERS = {t.name: t.consumers for t in CATALOG}
ISA = itertools.count(1)  # each 835 its own interchange number, as a payer's are


class Stack:
    """The three services' databases and workers' handlers, and a pump for each one's outbox."""

    def __init__(self, engines: dict[str, Any], tables: dict[str, Any], registries: dict[str, Any]) -> None:
        self.engines, self.tables, self.registries = engines, tables, registries
        self.read: dict[tuple[str, str], int] = {}  # (producer, consumer) -> the last outbox row it read

    async def pump(self, producer: str, *, times: int = 1, only: str | None = None) -> list[Envelope]:
        """Deliver the producer's events each consumer of their topic has not read yet (``times`` times each:
        a redelivery), in outbox order; ``only``: to that consumer alone, the others read them later."""
        outbox = self.tables[producer].outbox
        async with self.engines[producer].connect() as conn:
            rows = list(await conn.execute(select(outbox).order_by(outbox.c.id)))
        delivered = []
        for row in rows:
            envelope = Envelope.from_kafka([(k, v.encode()) for k, v in row.headers], row.payload.encode())
            for consumer in CONSUMERS[row.topic]:
                if (only is not None and consumer != only) or self.read.get((producer, consumer), 0) >= row.id:
                    continue
                self.read[(producer, consumer)] = row.id
                delivered.append(envelope)
                handler = self.registries[consumer].get(envelope.type, envelope.schemaversion)
                for _ in range(times if handler is not None else 0):
                    async with session_factory(self.engines[consumer])() as session, session.begin():
                        await handler(session, envelope)
        return delivered


@pytest.fixture
async def stack(db_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    dbs = {name: await db_factory(name) for name in ("claims", "remittance", "denials")}
    engines = {name: create_engine(db.url, schema=db.schema) for name, db in dbs.items()}
    monkeypatch.setenv("CLAIMS_OUTBOUND_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CLAIMS_DEFAULT_TENANT", TENANT)  # it sends under the deployment's own clearinghouse ids
    monkeypatch.delenv("KAFKA_TOPIC_PREFIX", raising=False)
    from claims.config import get_settings as claims_settings
    from claims.consumers import registry as claims_registry
    from claims.models import bus as claims_bus
    from denials.config import get_settings as denials_settings
    from denials.consumers import registry as denials_registry
    from denials.models import bus as denials_bus
    from remittance.config import get_settings as remittance_settings
    from remittance.consumers import registry as remittance_registry
    from remittance.models import bus as remittance_bus

    for settings in (claims_settings, denials_settings, remittance_settings):
        settings.cache_clear()
    yield Stack(
        engines,
        {"claims": claims_bus, "remittance": remittance_bus, "denials": denials_bus},
        {"claims": claims_registry, "remittance": remittance_registry, "denials": denials_registry},
    )
    for engine in engines.values():
        await engine.dispose()
    for settings in (claims_settings, denials_settings, remittance_settings):
        settings.cache_clear()


async def accepted_claim(stack: Stack) -> str:
    """A claim entered, sent and accepted by the payer (its claim number PCCN0001), announced to the others."""
    from claims.adapters.scrub_resources import default_resources
    from claims.config import get_settings
    from claims.domain.encounter import ClaimCreate
    from claims.models import bus
    from claims.use_cases.acknowledgments import apply_claim_status
    from claims.use_cases.charge_entry import create_claims
    from claims.use_cases.submission import prepare
    from rcm_shared.unit import Actor, Units

    async with stack.engines["claims"].begin() as conn:
        unit = Units(bus, source="/claims").on(conn, TENANT, Actor("test"))
        (created,) = await create_claims(unit, [ClaimCreate.model_validate(encounter())], default_resources().context())
        claim_id = str(created["id"])
        await prepare(unit, get_settings(), [claim_id], "filedrop")
        await apply_claim_status(
            unit.acting_as(Actor("ch")),
            claim_id,
            accepted=True,
            detail={"source": "277CA", "summary": "277CA A2:20", "codes": ["A2:20"]},
            payer_claim_control_number="PCCN0001",
        )
    await stack.pump("claims")
    return claim_id


async def post_835(stack: Stack, tmp_path: Path, claim_id: str, trace: str, *, paid: bool) -> None:
    from remittance.use_cases import service_units
    from remittance.use_cases.ingestion import ingest_835

    path = tmp_path / f"{trace}.835"
    path.write_bytes(encounter_835(claim_id, trace=trace, paid=paid, isa=next(ISA)))
    (posted,) = await ingest_835(service_units(stack.engines["remittance"]), path, tenant=TENANT)
    assert posted.status == "posted", posted


async def the_denial(stack: Stack, claim_id: str) -> Any:
    from denials.models import denial

    async with stack.engines["denials"].connect() as conn:
        (row,) = list(await conn.execute(select(denial).where(denial.c.claim_id == claim_id)))
    return row


async def write_off(stack: Stack, denial_id: str) -> None:
    from denials.config import get_settings
    from denials.models import bus
    from denials.use_cases.actions import act
    from rcm_shared.unit import Actor, Units

    async with stack.engines["denials"].begin() as conn:
        unit = Units.of_service(get_settings(), bus).on(conn, TENANT, Actor("maria"))
        await act(unit, get_settings(), denial_id, "write_off", note="no authorization")


async def books(stack: Stack, claim_id: str) -> tuple[tuple[int, int, int], list[tuple[str, int]]]:
    """(claims' paid, patient transfer, write-off cents) and remittance's denial postings of the claim."""
    from claims.models import claim
    from remittance.models import denial_posting

    async with stack.engines["claims"].connect() as conn:
        c = (await conn.execute(select(claim).where(claim.c.id == claim_id))).one()
    async with stack.engines["remittance"].connect() as conn:
        d = denial_posting.c
        rows = await conn.execute(select(d.kind, d.amount_cents).where(d.claim_id == claim_id).order_by(d.posted_at))
        postings = [(r.kind, r.amount_cents) for r in rows]
    return (c.paid_cents, c.patient_transfer_cents, c.written_off_cents), postings


async def test_a_write_off_the_payer_pays_on_appeal_is_undone_once_in_both_ledgers(
    stack: Stack, tmp_path: Path
) -> None:
    claim_id = await accepted_claim(stack)
    await post_835(stack, tmp_path, claim_id, "DENY0001", paid=False)
    await stack.pump("remittance")
    denial_id = (await the_denial(stack, claim_id)).id
    await write_off(stack, denial_id)
    await stack.pump("denials")
    assert await books(stack, claim_id) == ((0, 0, 24550), [("write_off", 24550)])
    # the payer pays on appeal; claims reads the payment before denials has decided anything
    await post_835(stack, tmp_path, claim_id, "PAID0001", paid=True)
    await stack.pump("remittance", only="claims")
    assert await books(stack, claim_id) == ((24550, 0, 24550), [("write_off", 24550)])  # nobody undid on its own
    await stack.pump("remittance")  # then denials reads it
    assert (await the_denial(stack, claim_id)).status == "recovered"
    undone = await stack.pump("denials", times=2)  # and each consumer reads the undo twice
    assert [e.type for e in undone] == ["denial.move_undone", "denial.move_undone"]  # to claims, to remittance
    assert await books(stack, claim_id) == ((24550, 0, 0), [("write_off", 24550), ("write_off_undone", -24550)])


async def test_a_payment_read_before_the_write_off_leaves_nothing_to_move(stack: Stack, tmp_path: Path) -> None:
    from rcm_shared.errors import Conflict

    claim_id = await accepted_claim(stack)
    await post_835(stack, tmp_path, claim_id, "DENY0002", paid=False)
    await post_835(stack, tmp_path, claim_id, "PAID0002", paid=True)
    await stack.pump("remittance")
    denial = await the_denial(stack, claim_id)
    assert denial.status == "recovered"
    with pytest.raises(Conflict, match="recovered"):
        await write_off(stack, denial.id)
    await stack.pump("denials")
    assert await books(stack, claim_id) == ((24550, 0, 0), [])
