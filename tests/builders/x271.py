"""Eligibility: 271 answers built and written out (and the 271 samples), a fake payer behind HTTP that answers
the 270s it gets, an eligibility check's request to the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from aiohttp import web
from rcm_shared.x12.sets.x270 import Benefit, EligibilityResponse, Member, RequestError, build_271, read_270
from rcm_shared.x12.writer import writer_for

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples" / "271"


def answer(member_id: str, *, status: str = "1", errors: list[RequestError] | None = None) -> EligibilityResponse:
    return EligibilityResponse(
        transaction="",
        payer_name="ACME HEALTH PLAN",
        payer_id="ACME01",
        provider_name="VALLEY FAMILY CLINIC",
        provider_id="1234567893",
        subscriber=Member(
            "DOE", "JANE", member_id=member_id, birth_date=date(1980, 2, 29), references=[("6P", "GRP100")]
        ),
        trace_numbers=[("T1", "9RCMCLINIC")],
        errors=errors or [],
        dates=[("291", date(2026, 1, 1), date(2026, 12, 31))],
        benefits=[]
        if errors
        else [
            Benefit(status, "IND", ["30"], "HM", "GOLD PLAN"),
            Benefit("C", "IND", ["30"], time_period="23", amount=D("1500"), in_network="Y"),
            Benefit("C", "IND", ["30"], time_period="29", amount=D("500"), in_network="Y"),
            Benefit("G", "IND", ["30"], time_period="23", amount=D("6000"), in_network="Y"),
            Benefit("B", "IND", ["98"], time_period="27", amount=D("25"), in_network="Y"),
            Benefit("A", "IND", ["30"], percent=D("0.2"), in_network="Y", authorization_required="Y"),
        ],
    )


def x271(*responses: EligibilityResponse) -> str:
    ts = build_271(list(responses), reference="R", created=date(2026, 11, 1))
    return writer_for(ts, sender="ACME", receiver="RCMCLINIC").render([ts])


class FakePayer:
    """A payer behind HTTP (a real local server): reads the 270 it gets and answers a 271 (or fails, when told to)."""

    def __init__(self, fail: int = 0, status_code: int = 503, body: str | None = None) -> None:
        self.calls = 0
        self.fail = fail
        self.status_code = status_code
        self.body = body

    async def handler(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.calls <= self.fail:
            return web.Response(status=self.status_code, text="unavailable")
        if self.body is not None:
            return web.Response(text=self.body)
        (inquiry,) = read_270(await request.read())
        member = inquiry.subscriber.member_id or ""
        if member.startswith("BAD"):
            return web.Response(text=x271(answer(member, errors=[RequestError("2100C", "Y", "72", "C")])))
        return web.Response(text=x271(answer(member, status="6" if member.startswith("OLD") else "1")))


def request_body(member: str = "W123456789", npi: str = "1679576722") -> dict[str, Any]:
    return {
        "provider": {"npi": npi, "name": "Valley Family Clinic"},
        "payer_id": "ACME01",
        "payer_name": "Acme",
        "subscriber": {"member_id": member, "first_name": "Jane", "last_name": "Doe", "birth_date": "1980-02-29"},
        "service_date": "2026-11-30",
        "service_types": ["98", "30"],
    }
