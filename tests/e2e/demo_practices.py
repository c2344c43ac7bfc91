"""Checks of the demo's two organizations side by side (test_demo_cycle): each one's 837s carry its own
billing provider and submitter, each one's statements its own header, and neither sees the other's claims,
remittances or denials."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
from rcm_cli.demo import RETRY_SECONDS, retry_after
from rcm_shared.x12.reader import iter_raw_segments


def token(offset: int, var: Path, tenant: str | None = None) -> str:
    """A bearer token for the demo's client of ``tenant`` (its first organization's when None), from the
    stack's own issuer."""
    folder = var / "auth"
    saved = folder / ("demo-client.json" if tenant is None else f"demo-client-{tenant}.json")
    if tenant is not None and not saved.exists():
        saved = folder / "demo-client.json"  # the first organization's client keeps the name it always had
    creds = json.loads(saved.read_text())
    response = httpx.post(
        f"http://127.0.0.1:{8010 + offset}/oauth/token", data={"grant_type": "client_credentials", **creds}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def get(http: httpx.Client, url: str, **params: Any) -> httpx.Response:
    """A read within the API's rate limit (a 429 read again after its Retry-After); any status."""
    deadline = time.monotonic() + RETRY_SECONDS
    response = http.get(url, params=params)
    while response.status_code == 429 and time.monotonic() < deadline:
        time.sleep(retry_after(response))
        response = http.get(url, params=params)
    return response


def pages(http: httpx.Client, url: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        response = get(http, url, limit=500, offset=len(out), **params)
        assert response.status_code == 200, (url, response.text[:300])
        out += response.json()
        if len(response.json()) < 500:
            return out


def interchanges(var: Path) -> list[dict[str, Any]]:
    """Every interchange the sandbox clearinghouse received: its submitter (ISA06, GS02), its transaction
    sets, the billing providers' NPIs (2010AA NM1*85) and the claims (CLM01) in it."""
    out = []
    for path in sorted((var / "sandbox" / "received").glob("*")):
        if path.name.endswith(".error.txt"):
            continue
        found: dict[str, Any] = {"file": path.name, "isa06": None, "gs02": set(), "sets": set(), "npis": set()}
        found["claims"] = set()
        for _d, e in iter_raw_segments(path.read_bytes()):
            sid = e[0].strip().upper()
            if sid == "ISA":
                found["isa06"] = e[6].strip()
            elif sid == "GS":
                found["gs02"].add(e[2].strip())
            elif sid == "ST":
                found["sets"].add(e[1].strip())
            elif sid == "NM1" and e[1] == "85" and len(e) > 9:
                found["npis"].add(e[9].strip())
            elif sid == "CLM":
                found["claims"].add(e[1].strip())
        out.append(found)
    return out


def check_envelopes(var: Path, practices: list[dict[str, Any]], claims: dict[str, set[str]]) -> dict[str, int]:
    """Each organization's 837s went out under its own connection (ISA06 and GS02: its submitter id) with its
    own billing provider (2010AA NPI), and hold its claims only; every claim it sent is in one of them."""
    by_submitter = {p["submitter_id"]: p for p in practices}
    sent: dict[str, set[str]] = {p["tenant"]: set() for p in practices}
    files: dict[str, int] = {p["tenant"]: 0 for p in practices}
    for x in interchanges(var):
        practice = by_submitter.get(x["isa06"])
        assert practice is not None, (x["file"], x["isa06"], sorted(by_submitter))
        assert x["gs02"] == {practice["submitter_id"]}, x
        tenant = practice["tenant"]
        if "837" in x["sets"]:
            assert x["npis"] == {practice["npi"]}, (tenant, x)
            assert x["claims"] <= claims[tenant], (tenant, x["file"], sorted(x["claims"] - claims[tenant])[:5])
            sent[tenant] |= x["claims"]
            files[tenant] += 1
    for p in practices:
        assert files[p["tenant"]] > 0, f"no 837 of {p['tenant']}"
    return {f"837 files of {t}": n for t, n in files.items()} | {
        f"claims in 837s of {t}": len(s) for t, s in sent.items()
    }


def statement_text(pdf: bytes) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(document[n].get_textpage().get_text_range() for n in range(len(document)))
    finally:
        document.close()


def check_statement_headers(
    http: httpx.Client, remit_url: str, practice: dict[str, Any], listed: list[dict[str, Any]]
) -> int:
    """Every statement of the organization's run (``listed``: the demo's), as a document and as the PDF sent,
    carries its own header: its statement name and phone (not the deployment's settings, nor the other
    organization's)."""
    phone = practice["statement_phone"]
    printed = f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"
    assert listed, practice
    for s in listed:
        doc = get(http, f"{remit_url}/v1/statements/{s['id']}")
        assert doc.status_code == 200, doc.text[:300]
        header = doc.json()["practice"]
        assert header["name"] == practice["statement_name"], (practice["tenant"], header)
        assert "".join(ch for ch in header["phone"] if ch.isdigit()) == phone, (practice["tenant"], header)
    pdf = get(http, f"{remit_url}/v1/statements/{listed[0]['id']}/pdf")
    assert pdf.status_code == 200
    text = statement_text(pdf.content)
    assert practice["statement_name"] in text and printed in text, (practice["tenant"], text[:500])
    return len(listed)


DENIAL_STATUSES = (
    "open",
    "in_progress",
    "write_off_pending",
    "appealed",
    "resubmitted",
    "recovered",
    "written_off",
    "billed_patient",
    "closed",
    "superseded",
)


def _own(http: httpx.Client, urls: dict[str, str]) -> dict[str, Any]:
    """What one token lists: claims, remittances (with the claims they pay) and denials, every status."""
    remittances = {
        r["id"]: {p["claim_id"] for p in pages(http, f"{urls['remittance']}/v1/remittances/{r['id']}/claims")}
        for r in pages(http, f"{urls['remittance']}/v1/remittances")
    }
    return {
        "claims": {c["id"] for c in pages(http, f"{urls['claims']}/v1/claims")},
        "remittances": remittances,
        "denials": {
            d["id"]: d["claim_id"] for d in pages(http, f"{urls['denials']}/v1/denials", status=DENIAL_STATUSES)
        },
    }


def check_isolation(urls: dict[str, str], tokens: dict[str, str], claims: dict[str, set[str]]) -> dict[str, int]:
    """Neither organization sees the other's data (``claims``: the ids each one's demo entered): its lists of claims, remittances (and the claims they pay)
    and denials hold its own claims only; and the other's claims, their postings, its remittances and its
    denials read by id with its token are 404 (not there), never 403 (there, but forbidden)."""
    seen: dict[str, dict[str, Any]] = {}
    for tenant, bearer in tokens.items():
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {bearer}"}) as http:
            seen[tenant] = _own(http, urls)
        own = seen[tenant]
        assert claims[tenant] <= own["claims"], (tenant, sorted(claims[tenant] - own["claims"])[:5])
        assert not {c for t, ids in claims.items() if t != tenant for c in ids} & own["claims"], tenant
        paid = set().union(*own["remittances"].values())
        assert paid and paid <= own["claims"], (tenant, sorted(paid - own["claims"])[:5])
        assert own["denials"] and set(own["denials"].values()) <= own["claims"], tenant
    figures: dict[str, int] = {}
    for tenant, bearer in tokens.items():
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {bearer}"}) as http:
            for other, theirs in seen.items():
                if other == tenant:
                    continue
                assert not theirs["claims"] & seen[tenant]["claims"]
                reads = [f"{urls['claims']}/v1/claims/{c}" for c in sorted(theirs["claims"])[:10]]
                reads += [f"{urls['remittance']}/v1/claims/{c}/postings" for c in sorted(theirs["claims"])[:10]]
                reads += [f"{urls['remittance']}/v1/remittances/{r}" for r in sorted(theirs["remittances"])[:10]]
                reads += [f"{urls['denials']}/v1/denials/{d}" for d in sorted(theirs["denials"])[:10]]
                for url in reads:  # a sample of each kind: the lists above covered every one
                    assert get(http, url).status_code == 404, (tenant, url)
                figures[f"reads of {other}'s data by {tenant}: 404"] = len(reads)
        figures[f"claims of {tenant}"] = len(seen[tenant]["claims"])
        figures[f"remittances of {tenant}"] = len(seen[tenant]["remittances"])
        figures[f"denials of {tenant}"] = len(seen[tenant]["denials"])
    return figures


def check_underpayments(urls: dict[str, str], tokens: dict[str, str], found: dict[str, Any]) -> dict[str, int]:
    """The organizations' underpayment worklists (denials, each read with its own token) hold, summed, the
    money the sandbox's payers paid below their contracts on purpose, to the cent, and every overpayment
    too; the demo found them equal line by line (``found``: its reconciliation)."""
    with httpx.Client(timeout=30) as http:
        sandbox = get(http, f"{urls['sandbox']}/sandbox/variances")
        assert sandbox.status_code == 200, sandbox.text[:300]
        made = sandbox.json()["totals"]
        listed = {"under": {"count": 0, "amount_cents": 0}, "over": {"count": 0, "amount_cents": 0}}
        for bearer in tokens.values():
            http.headers["Authorization"] = f"Bearer {bearer}"
            worklist = get(http, f"{urls['denials']}/v1/underpayments", limit=1)
            assert worklist.status_code == 200, worklist.text[:300]
            for t in worklist.json()["totals"]:
                listed[t["kind"]]["count"] += t["count"]
                listed[t["kind"]]["amount_cents"] += t["amount_cents"]
    assert made["under"]["amount_cents"] > 0 and made["over"]["lines"] > 0, made  # the payers did vary
    assert not found["differences"], found["differences"][:10]
    assert listed["under"]["amount_cents"] == made["under"]["amount_cents"], (listed, made)
    assert listed["under"]["count"] == made["under"]["lines"], (listed, made)
    assert listed["over"]["count"] >= 1 and listed["over"]["amount_cents"] == made["over"]["amount_cents"], (
        listed,
        made,
    )
    return {
        "underpaid lines": listed["under"]["count"],
        "underpaid cents": listed["under"]["amount_cents"],
        "overpaid lines": listed["over"]["count"],
        "overpaid cents": listed["over"]["amount_cents"],
    }
