"""Two practices share one sandbox: every answer (999, 277CA, 835, 277, 271) goes back to the submitter of
what it answers, from the id that submitter sent it to, and neither practice sees the other's claims."""

from __future__ import annotations

import sys
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest
from rcm_shared.x12.reader import X12Reader
from rcm_shared.x12.sets.x270 import Inquiry, Member, build_270, read_271
from rcm_shared.x12.sets.x276 import StatusInquiry, build_276, read_277
from rcm_shared.x12.sets.x835 import ClaimPayment, iter_835
from rcm_shared.x12.sets.x837 import Claim, Provider, Receiver, Submitter, build_837
from rcm_shared.x12.writer import InterchangeWriter, MemoryControlNumbers, Party, TransactionSet
from sandbox.addressing import reply_to
from sandbox.channels import PushDelivery, tenant_map
from sandbox.clearinghouse import Clearinghouse

sys.path.insert(0, str(Path(__file__).parent))
from test_clearinghouse import BOOK, DOS, MET, TODAY, Capture, Clock, claim, verdict

CH_A = Party("ZZ", "CLEARINGHOUSE", "CLEARINGHOUSE")  # the id practice A sends to
PRACTICE_A = Party("ZZ", "VALLEY01", "VALLEY01")
CH_B = Party("ZZ", "CLEARINGHOUSE", "CHGROUPB")  # the same clearinghouse, another application code in GS03
PRACTICE_B = Party("30", "987654321", "HILLSIDE")  # a tax-id qualified submitter
HILLSIDE = Provider("HILLSIDE PEDIATRICS", npi="1245319599", tax_id="987654321")


def envelope(text: str) -> tuple[str, str, str, str, str, str]:
    """ISA05, ISA06, ISA07, ISA08, GS02, GS03 of an interchange, read with the platform's X12 reader."""
    header, _segment = next(iter(X12Reader(text.encode())))
    i, g = header.interchange, header.group
    return i.sender_qualifier, i.sender_id, i.receiver_qualifier, i.receiver_id, g.sender, g.receiver


def answer_to(sent_to: Party, submitter: Party) -> tuple[str, str, str, str, str, str]:
    return (
        sent_to.qualifier,
        sent_to.id,
        submitter.qualifier,
        submitter.id,
        sent_to.application_code,
        submitter.application_code,
    )


def send(ts: TransactionSet, sender: Party, receiver: Party) -> bytes:
    writer = InterchangeWriter(
        sender=sender,
        receiver=receiver,
        functional_id={"837": "HC", "276": "HR", "270": "HS"}[ts.set_id],
        version=ts.implementation,
        numbers=MemoryControlNumbers(),
        usage="T",
    )
    return writer.render([ts]).encode()


def claims_837(claims: list[Claim], submitter: Party, sent_to: Party, name: str) -> bytes:
    ts = build_837(
        claims,
        submitter=Submitter(name, submitter.id, "BILLING", "8005550100"),
        receiver=Receiver("SANDBOX", sent_to.id),
        reference="0001",
        created=TODAY,
    )
    return send(ts, submitter, sent_to)


def payments(text: str) -> list[ClaimPayment]:
    return [i for i in iter_835(text.encode()) if isinstance(i, ClaimPayment)]


async def test_each_practice_gets_its_own_answers(tmp_path: Path) -> None:
    clock, capture = Clock(), Capture()
    house = Clearinghouse(BOOK, tmp_path / "spool", capture, seed=1, numbers=MemoryControlNumbers(), clock=clock)
    # the same member seen for the same service by both practices: two providers' claims, neither a duplicate
    a_claims = [claim("A1", MET[0], ("99213", "150.00")), claim("A2", MET[1], ("99214", "220.00"))]
    b_claims = [replace(claim("B1", MET[0], ("99213", "150.00")), billing_provider=HILLSIDE)]
    got_a = house.receive_837(claims_837(a_claims, PRACTICE_A, CH_A, "VALLEY FAMILY CLINIC"), today=TODAY)
    got_b = house.receive_837(claims_837(b_claims, PRACTICE_B, CH_B, "HILLSIDE PEDIATRICS"), today=TODAY)
    assert got_a.accepted and got_b.accepted
    assert envelope(got_a.ack_999) == answer_to(CH_A, PRACTICE_A)
    assert envelope(got_b.ack_999) == answer_to(CH_B, PRACTICE_B)
    clock.now += 60
    await house.deliver_due()
    files = [(kind, text) for kind, _name, text in capture.sent]
    # both interchanges are numbered 000000001 (each submitter numbers its own): still a file for each
    assert sorted(k for k, _t in files) == ["277CA", "277CA", "835", "835"]
    assert len({name for _k, name, _t in capture.sent}) == 4
    claims_of = {"A": {"A1", "A2"}, "B": {"B1"}}
    for kind, text in files:
        assert verdict(text, tmp_path) == "OK", text
        if kind == "277CA":
            ids = {s.claim_id for s in read_277(text.encode()) if s.level == "claim"}
        else:
            ids = {p.patient_control_number for p in payments(text)}
        practice = "A" if ids <= claims_of["A"] else "B"
        assert ids == claims_of[practice], (kind, ids)
        to = answer_to(CH_A, PRACTICE_A) if practice == "A" else answer_to(CH_B, PRACTICE_B)
        assert envelope(text) == to, kind
        if kind == "277CA":  # 2100B, the information receiver: the 837's submitter (1000A)
            expected = (
                "VALLEY FAMILY CLINIC*****46*VALLEY01" if practice == "A" else "HILLSIDE PEDIATRICS*****46*987654321"
            )
            assert f"NM1*41*2*{expected}~" in text
    paid = {p.patient_control_number: p for _k, t in files if _k == "835" for p in payments(t)}
    assert paid["A1"].paid > 0 and paid["B1"].paid == paid["A1"].paid  # B1 is not CO-18 of A1
    assert {k: v["submitter"] for k, v in house.known_claims().items()} == {
        "A1": "VALLEY01",
        "A2": "VALLEY01",
        "B1": "987654321",
    }


def _inquiry(claim_id: str, submitter: Party) -> StatusInquiry:
    return StatusInquiry(
        "ACME HEALTH PLAN",
        "ACME01",
        "PRACTICE",
        submitter.id,
        "CLINIC",
        "1234567893",
        "DOE",
        "JANE",
        MET[0],
        f"T-{claim_id}",
        claim_id,
        D("150.00"),
        DOS,
    )


async def test_a_practice_learns_nothing_of_the_other_practices_claims(tmp_path: Path) -> None:
    clock, capture = Clock(), Capture()
    house = Clearinghouse(BOOK, tmp_path / "spool", capture, seed=1, numbers=MemoryControlNumbers(), clock=clock)
    house.receive_837(claims_837([claim("A1", MET[0], ("99213", "150.00"))], PRACTICE_A, CH_A, "VALLEY"), today=TODAY)
    b1 = replace(claim("B1", MET[1], ("99214", "220.00")), billing_provider=HILLSIDE)
    house.receive_837(claims_837([b1], PRACTICE_B, CH_B, "HILLSIDE"), today=TODAY)
    clock.now += 60
    await house.deliver_due()
    icn_a1 = str(house.known_claims()["A1"]["icn"])
    capture.sent.clear()
    # B asks about A's claim and its own: A's is not found for B; the answer goes to B
    ts = build_276([_inquiry("A1", PRACTICE_B), _inquiry("B1", PRACTICE_B)], reference="Q1", created=TODAY)
    got = house.receive(send(ts, PRACTICE_B, CH_B))
    assert got.accepted and envelope(got.ack_999) == answer_to(CH_B, PRACTICE_B)
    # B voids A's claim by its payer claim number: rejected, nothing of A's taken back
    void = replace(b1, claim_id="BVOID", frequency="8", payer_claim_control_number=icn_a1)
    house.receive_837(claims_837([void], PRACTICE_B, CH_B, "HILLSIDE"), today=TODAY)
    clock.now += 60
    await house.deliver_due()
    (answer,) = [t for k, _n, t in capture.sent if k == "277"]
    assert envelope(answer) == answer_to(CH_B, PRACTICE_B)
    statuses = {s.claim_id: f"{s.statuses[0].category}:{s.statuses[0].code}" for s in read_277(answer.encode())}
    assert statuses == {"A1": "A4:35", "B1": "F1:65"}
    (ack,) = [t for k, _n, t in capture.sent if k == "277CA"]
    (verdict_,) = [s for s in read_277(ack.encode()) if s.level == "claim"]
    assert [f"{x.category}:{x.code}" for x in verdict_.statuses] == ["A7:464"]
    assert not [t for k, _n, t in capture.sent if k == "835"]
    assert "superseded_by" not in house.known_claims()["A1"]
    # A asks about its own claim: found
    capture.sent.clear()
    ts = build_276([_inquiry("A1", PRACTICE_A)], reference="Q2", created=TODAY)
    house.receive(send(ts, PRACTICE_A, CH_A))
    clock.now += 60
    await house.deliver_due()
    (mine,) = [t for k, _n, t in capture.sent if k == "277"]
    assert envelope(mine) == answer_to(CH_A, PRACTICE_A)
    assert [s.statuses[0].category for s in read_277(mine.encode())] == ["F1"]


def test_an_interchange_without_a_group_is_answered_from_its_isa_ids() -> None:
    text = send(build_276([_inquiry("A1", PRACTICE_B)], reference="Q", created=TODAY), PRACTICE_B, CH_B).decode()
    start, end = text.index("GS*"), text.index("~", text.index("GS*")) + 1
    to = reply_to((text[:start] + text[end:]).encode())
    assert (to.us, to.them) == (Party("ZZ", "CLEARINGHOUSE", "CLEARINGHOUSE"), Party("30", "987654321", "987654321"))
    assert (to.usage, to.receiver_id) == (
        "T",
        "987654321",
    )  # a 276 has no 1000A (its NM1*41 is in an HL loop): the ISA id stands


async def test_the_271_answers_the_270s_submitter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("SANDBOX_INBOX_DIR", "")
    from sandbox.main import create_app

    inquiry = Inquiry(
        "ACME HEALTH PLAN",
        "ACME01",
        "HILLSIDE PEDIATRICS",
        "1245319599",
        Member("DOE", "JANE", member_id=MET[0]),
        "TRACE1",
        "9987654321",
        DOS,
    )
    body = send(build_270([inquiry], reference="R1", created=TODAY), PRACTICE_B, CH_B)
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        response = await client.post("/x12/270", content=body)
    assert response.status_code == 200
    assert envelope(response.text) == answer_to(CH_B, PRACTICE_B)
    (answer,) = read_271(response.text.encode())
    assert answer.subscriber is not None and answer.subscriber.member_id == MET[0]


async def test_push_delivery_posts_each_answer_for_its_submitters_organization(tmp_path: Path) -> None:
    posted: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        posted.append((request.headers["X-Tenant-ID"], envelope(request.content.decode())[3]))
        return httpx.Response(201, json={})

    push = PushDelivery(
        "http://claims/v1/acknowledgments",
        "http://remittance/v1/remittances",
        "default",
        httpx.MockTransport(handler),
        tenants=tenant_map('{"VALLEY01": "valley", "987654321": "hillside"}'),
    )
    clock = Clock()
    house = Clearinghouse(BOOK, tmp_path / "spool", push, seed=1, numbers=MemoryControlNumbers(), clock=clock)
    house.receive_837(claims_837([claim("A1", MET[0], ("99213", "150.00"))], PRACTICE_A, CH_A, "VALLEY"), today=TODAY)
    b1 = replace(claim("B1", MET[1], ("99214", "220.00")), billing_provider=HILLSIDE)
    house.receive_837(claims_837([b1], PRACTICE_B, CH_B, "HILLSIDE"), today=TODAY)
    stranger = replace(claim("C1", MET[2], ("99213", "150.00")), billing_provider=HILLSIDE)
    house.receive_837(claims_837([stranger], Party("ZZ", "NOBODY", "NOBODY"), CH_A, "NOBODY"), today=TODAY)
    clock.now += 60
    assert await house.deliver_due() == 6
    assert sorted(set(posted)) == [("default", "NOBODY"), ("hillside", "987654321"), ("valley", "VALLEY01")]
    assert len(posted) == 6


@pytest.mark.parametrize("setting", ["{not json", '["VALLEY01"]', '{"VALLEY01": 7}'])
def test_a_bad_tenant_map_is_refused_with_its_reason(setting: str) -> None:
    with pytest.raises(ValueError, match="SANDBOX_TENANTS"):
        tenant_map(setting)
