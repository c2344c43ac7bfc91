"""The sandbox clearinghouse: `uvicorn --factory sandbox.main:create_app` (port 8009 in `make run`).

Real time: POST /x12/270 takes a 270 interchange and answers the payers' 271 interchange.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from rcm_shared.x12.ack import build_999, check
from rcm_shared.x12.errors import X12Error
from rcm_shared.x12.sets.x270 import build_271, read_270
from rcm_shared.x12.writer import InterchangeWriter, MemoryControlNumbers, Party

from sandbox.payers import default_book, load_book


def create_app() -> FastAPI:
    app = FastAPI(title="RCM sandbox clearinghouse", version="0.1.0")
    book_file = os.environ.get("SANDBOX_PAYERS_FILE")
    book = load_book(Path(book_file)) if book_file else default_book()
    numbers = MemoryControlNumbers()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "sandbox"}

    @app.post("/x12/270", response_class=PlainTextResponse)
    async def realtime_270(request: Request) -> PlainTextResponse:
        body = await request.body()
        try:
            inquiries = list(read_270(body))
        except X12Error as exc:
            return PlainTextResponse(f"invalid 270: {exc}", status_code=400)
        if not inquiries:
            return PlainTextResponse("invalid 270: no inquiry", status_code=400)
        ts = build_271(
            [book.answer(q) for q in inquiries],
            reference=inquiries[0].trace_number[:30],
            created=datetime.now(UTC).date(),
        )
        writer = InterchangeWriter(
            sender=Party("ZZ", "SANDBOXCH", "SANDBOXCH"),
            receiver=Party("ZZ", "RCMCLINIC", "RCMCLINIC"),
            functional_id="HB",
            version=ts.implementation,
            numbers=numbers,
            usage="T",
        )
        return PlainTextResponse(writer.render([ts]), media_type="application/edi-x12")

    @app.post("/x12/837", response_class=PlainTextResponse)
    async def claims_837(request: Request) -> PlainTextResponse:
        """Batch claims: the clearinghouse's 999 for the interchange (277CA and 835s come later, issue 7)."""
        body = await request.body()
        try:
            result = check(body)
        except X12Error as exc:
            return PlainTextResponse(f"invalid interchange: {exc}", status_code=400)
        us = Party("ZZ", "SANDBOXCH", "SANDBOXCH")
        return PlainTextResponse(build_999(result, us=us, numbers=numbers), media_type="application/edi-x12")

    return app
