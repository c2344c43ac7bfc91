"""The claims API asked for patients' mailing addresses: on the caller's behalf (its token passed on, the
tenant named), the newest claim with an address wins, and a refusal or an outage is a reason, not an error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from remittance.adapters.claims_api import ClaimsApiAddressBook
from remittance.config import RemittanceSettings
from remittance.domain.mailing import MailingAddress

ELM = {"line1": "12 Elm St", "line2": None, "city": "Springfield", "state": "IL", "postal_code": "62704"}
OAK = {"line1": "9 Oak Ave", "city": "Peoria", "state": "IL", "postal_code": "61602"}


def claim(subscriber_address: dict[str, Any] | None, patient: dict[str, Any] | None = None) -> dict[str, Any]:
    subscriber = {"member_id": "W1", "last_name": "DOE", "first_name": "JOHN", "address": subscriber_address}
    return {"id": "x", "document": {"subscriber": subscriber, "patient": patient}}


def book(answers: dict[str, httpx.Response | Exception], seen: list[httpx.Request]) -> ClaimsApiAddressBook:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[request.url.path.rsplit("/", 1)[-1]]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return ClaimsApiAddressBook("http://claims.test/", "Bearer caller-token", transport=httpx.MockTransport(handler))


async def test_the_newest_claim_with_an_address_gives_it_on_the_callers_behalf() -> None:
    seen: list[httpx.Request] = []
    dependent = {"last_name": "DOE", "first_name": "JANE", "relationship": "19", "address": OAK}
    answers: dict[str, httpx.Response | Exception] = {
        "C3": httpx.Response(404),  # gone: the next one is asked
        "C2": httpx.Response(200, json=claim(None)),  # no address: the next one is asked
        "C1": httpx.Response(200, json=claim(ELM)),
        "D1": httpx.Response(200, json=claim(ELM, dependent)),  # the patient's own address first
        "K1": httpx.Response(200, json=claim(ELM, {**dependent, "address": None})),  # else the subscriber's
    }
    found = await book(answers, seen).mailings("valley", {"A1": ["C3", "C2", "C1"], "A2": ["D1"], "A3": ["K1"]})
    assert found["A1"].address == MailingAddress("JOHN DOE", ("12 Elm St", "Springfield, IL 62704"))
    assert found["A2"].address == MailingAddress("JANE DOE", ("9 Oak Ave", "Peoria, IL 61602"))
    assert found["A3"].address == MailingAddress("JOHN DOE", ("12 Elm St", "Springfield, IL 62704"))
    assert all(m.mailable and m.problem is None for m in found.values())
    assert sorted(r.url.path for r in seen) == [f"/v1/claims/{c}" for c in ("C1", "C2", "C3", "D1", "K1")]
    assert {(r.headers["authorization"], r.headers["x-tenant-id"]) for r in seen} == {("Bearer caller-token", "valley")}


async def test_a_refusal_an_outage_or_no_address_is_a_reason_on_each_account() -> None:
    seen: list[httpx.Request] = []
    refused = await book({"C1": httpx.Response(403), "C2": httpx.Response(200, json=claim(ELM))}, seen).mailings(
        "valley", {"A1": ["C1"], "A2": ["C2"]}
    )
    # a caller the API refuses gets no address for any account, whatever the order of the answers
    assert {a: (m.mailable, "claims:read" in (m.problem or "")) for a, m in refused.items()} == {
        "A1": (False, True),
        "A2": (False, True),
    }
    down = await book({"C1": httpx.ConnectError("refused")}, seen).mailings("valley", {"A1": ["C1"]})
    assert down["A1"].problem == "the claims API could not be reached (ConnectError)"
    failing = await book({"C1": httpx.Response(500)}, seen).mailings("valley", {"A1": ["C1"]})
    assert failing["A1"].problem == "the claims API answered 500"
    none = await book({"C1": httpx.Response(200, json=claim(None))}, seen).mailings("valley", {"A1": ["C1"], "A2": []})
    assert none["A1"].problem == "no mailing address on the patient's claims"
    assert none["A2"].problem == "the account has no claim to take the address from"


async def test_a_token_the_claims_api_does_not_accept_is_said_so_not_a_missing_scope() -> None:
    # 401: claims does not trust the token (its audience, its issuer), which no scope of the caller's would change
    seen: list[httpx.Request] = []
    answers: dict[str, httpx.Response | Exception] = {"C1": httpx.Response(401), "C2": httpx.Response(401)}
    untrusted = await book(answers, seen).mailings("valley", {"A1": ["C1"], "A2": ["C2"]})
    assert {m.problem for m in untrusted.values()} == {
        "the claims API did not accept the forwarded token (401): its authentication (audience, issuer) does not "
        "trust the tokens this service's callers present"
    }
    assert not any(m.mailable for m in untrusted.values())
    anonymous = ClaimsApiAddressBook("http://claims.test", None, transport=httpx.MockTransport(lambda _: answers["C1"]))
    (problem,) = {m.problem for m in (await anonymous.mailings("valley", {"A1": ["C1"]})).values()}
    assert problem == "the claims API requires a token (401), and this request carried none to pass on"


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_outside_development_the_claims_api_is_named(environment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the local stack's default would send callers' bearer tokens to whatever listens on this machine's port 8002
    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_TOKEN_URL", "https://login.example.org/oauth2/token")
    monkeypatch.delenv("REMITTANCE_CLAIMS_URL", raising=False)
    database = "postgresql+asyncpg://u@db/rcm"
    with pytest.raises(ValidationError, match="REMITTANCE_CLAIMS_URL is unset"):
        RemittanceSettings(environment=environment, database_url=database)
    named = RemittanceSettings(environment=environment, database_url=database, claims_url="http://claims-api")
    assert named.claims_api_url() == "http://claims-api"
    # empty: no claims API, said so (statements not mailable)
    assert RemittanceSettings(environment=environment, database_url=database, claims_url="").claims_api_url() == ""
    for local in ("development", "test"):
        assert RemittanceSettings(environment=local, database_url=database).claims_api_url().startswith("http://127.")
