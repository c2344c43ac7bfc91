"""The sandbox clearinghouse: `uvicorn --factory sandbox.main:create_app` (port 8009 in `make run`).

Real time: POST /x12/270 takes a 270 interchange and answers the payers' 271 interchange.
Batch: POST /x12/837 (or an 837 file dropped in the claims service's outbound folder) is answered with a
999; the 277CA and the 835s follow after each payer's delays, through the filedrop folders or API push.
Every answer is addressed to the submitter of what it answers. For checking a platform against it:
GET /sandbox/payers/{payer_id}/contract (the contract as the payer prices it) and GET /sandbox/variances
(the lines the plan book's rules allowed below or above that contract).

Settings (environment): SANDBOX_PAYERS_FILE (plan book), SANDBOX_SEED (default 1), SANDBOX_DELAY_SCALE
(multiplies every delay; default 1), SANDBOX_POLL_SECONDS (how often the 837 inbox is looked at; default
0.5), SANDBOX_DELIVERY (filedrop | push), SANDBOX_INBOX_DIR (837 files to
take; default <var>/outbound/837), SANDBOX_ACK_DIR, SANDBOX_ERA_DIR, SANDBOX_CLAIMS_URL,
SANDBOX_REMITTANCE_URL, SANDBOX_TENANT, SANDBOX_TENANTS (push: submitter id -> organization, JSON).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse
from rcm_shared.apidocs import serve_docs
from rcm_shared.config import project_var_dir
from rcm_shared.logging import configure_logging
from rcm_shared.runtime import tune_gc
from rcm_shared.tracing import configure_tracing, instrument_app, shutdown_tracing
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.sets.x270 import build_271, read_270
from rcm_shared.x12.writer import MemoryControlNumbers, writer_for

from sandbox.addressing import reply_to
from sandbox.clearinghouse import Clearinghouse, delivery_from_env, short_paid, unanswered
from sandbox.payers import default_book, load_book
from sandbox.pricing import contract
from sandbox.variances import variance_report


def create_app() -> FastAPI:
    # the simulated payers see PHI as real ones do: their lines follow the services' rules (allowed fields only)
    configure_logging("sandbox", os.environ.get("SANDBOX_LOG_LEVEL", "INFO"))
    book_file = os.environ.get("SANDBOX_PAYERS_FILE")
    book = load_book(Path(book_file)) if book_file else default_book()
    var = project_var_dir()
    house = Clearinghouse(
        book,
        Path(os.environ.get("SANDBOX_SPOOL_DIR") or var / "sandbox"),
        delivery_from_env(),
        seed=int(os.environ.get("SANDBOX_SEED", "1")),
        delay_scale=float(os.environ.get("SANDBOX_DELAY_SCALE", "1")),
    )
    inbox_setting = os.environ.get("SANDBOX_INBOX_DIR", str(var / "outbound" / "837"))
    inbox = Path(inbox_setting) if inbox_setting else None

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tune_gc()  # as the services do (the simulated payers are part of every pipeline figure)
        task = asyncio.create_task(house.run(stop, inbox, float(os.environ.get("SANDBOX_POLL_SECONDS", "0.5"))))
        try:
            yield
        finally:
            stop.set()
            await task
            shutdown_tracing()

    # its documentation pages with their assets served here, as the services' (FastAPI's load them from a CDN)
    app = FastAPI(title="RCM sandbox clearinghouse", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    serve_docs(app)
    configure_tracing("sandbox", "sandbox")
    instrument_app(app)
    app.state.clearinghouse = house
    numbers = MemoryControlNumbers()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "sandbox"}

    @app.post("/x12/270", response_class=PlainTextResponse)
    async def realtime_270(request: Request) -> PlainTextResponse:
        body = await request.body()
        try:
            inquiries = list(read_270(body))
            to = reply_to(body)
        except X12Error as exc:
            return PlainTextResponse(f"invalid 270: {exc}", status_code=400)
        if not inquiries:
            return PlainTextResponse("invalid 270: no inquiry", status_code=400)
        ts = build_271(
            [book.answer(q) for q in inquiries],
            reference=inquiries[0].trace_number[:30],
            created=datetime.now(UTC).date(),
        )
        writer = writer_for(ts, sender=to.us, receiver=to.them, numbers=numbers, usage=to.usage)
        return PlainTextResponse(writer.render([ts]), media_type="application/edi-x12")

    @app.post("/x12/837", response_class=PlainTextResponse)
    async def claims_837(request: Request) -> PlainTextResponse:
        """Batch claims (837): the 999 now; the 277CA and the 835s follow through the configured delivery.
        Claim status inquiries (276) sent here are answered the same way: the 999 now, the 277 after it."""
        body = await request.body()
        try:
            received = await asyncio.to_thread(house.receive, body)
        except X12Error as exc:
            return PlainTextResponse(f"invalid interchange: {exc}", status_code=400)
        return PlainTextResponse(received.ack_999, media_type="application/edi-x12")

    @app.get("/v1/payers")
    async def payers() -> list[dict[str, Any]]:
        return [
            {
                "payer_id": p.payer_id,
                "name": p.name,
                "plans": {k: v["name"] for k, v in p.data.get("plans", {}).items()},
                "members": len(p.members),
                "payment_method": p.setting("payment_method", "ACH"),
            }
            for p in book.payers.values()
        ]

    @app.get("/v1/payers/{payer_id}/members")
    async def members(
        payer_id: str, active_on: date | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The payer's roster (synthetic members), optionally only those covered on a date."""
        payer = book.payers.get(payer_id)
        if payer is None:
            raise HTTPException(404, f"no payer {payer_id}")
        rows = [m for m in payer.members.values() if active_on is None or m.covers(active_on)]
        return [
            {
                "member_id": m.member_id,
                "plan": m.plan["name"],
                "coverage_start": m.start,
                "coverage_end": m.end,
                "claims_unanswered": m.member_id in unanswered(payer),
                **(
                    {"crossover_payer_id": m.crossover[0], "crossover_member_id": m.crossover[1]} if m.crossover else {}
                ),
                "remittance_short_paid": m.member_id in short_paid(payer),
            }
            for m in rows[offset : offset + max(0, min(limit, 5000))]
        ]

    @app.get("/sandbox/payers/{payer_id}/contract")
    async def payer_contract(payer_id: str) -> dict[str, Any]:
        """The payer's contract as the sandbox prices claims: rate per unit by code, the default percent of
        charge, and how units, the charge and modifiers are applied (no modifier rules: ``modifier_rules: []``)."""
        payer = book.payers.get(payer_id)
        if payer is None:
            raise HTTPException(404, f"no payer {payer_id}")
        return contract(payer)

    @app.get("/sandbox/variances")
    async def variances(payer_id: str | None = None, submitter_id: str | None = None) -> dict[str, Any]:
        """Every claim line a plan-book rule allowed below (``under``) or above (``over``) the payer's contract,
        optionally of one payer or one submitter (ISA06), and the totals of the lines whose claims stand."""
        if payer_id is not None and payer_id not in book.payers:
            raise HTTPException(404, f"no payer {payer_id}")
        # a copy taken at once (the claims being received in another thread add to the log meanwhile)
        known = dict(await asyncio.to_thread(house.known_claims))
        return variance_report(known, house.clock(), payer_id=payer_id, submitter=submitter_id)

    @app.get("/v1/deliveries")
    async def deliveries() -> dict[str, int]:
        """How many files wait for their time, and how many were sent."""
        return {
            "pending": sum(1 for p in house.pending.iterdir() if not p.name.startswith(".")),
            "delivered": sum(1 for _ in house.delivered.iterdir()),
        }

    return app
