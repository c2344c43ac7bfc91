"""The claims API as checks by MRN ask it (eligibility/adapters/claims_api.py), without the service around it:
what its answers mean, and where it is (configuration)."""

from __future__ import annotations

import httpx
import pytest
from eligibility.adapters.claims_api import ClaimsApiRegistrations, ClaimsApiUnavailable, ClaimsApiUntrusted
from eligibility.config import EligibilitySettings
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("given", "wait"),
    [("12", 12), ("²", 5), ("1234567", 5), ("-1", 5), ("Wed, 21 Oct 2026 07:28:00 GMT", 5), ("", 5)],
)
async def test_retry_after_is_the_claims_apis_seconds_when_it_gives_them(given: str, wait: int) -> None:
    answer = httpx.Response(503, headers={"Retry-After": given.encode()} if given else {})  # as received: bytes
    api = ClaimsApiRegistrations("http://claims.test", "Bearer t", transport=httpx.MockTransport(lambda _: answer))
    with pytest.raises(ClaimsApiUnavailable) as raised:
        await api.registration("org-1", "MRN100")
    assert raised.value.retry_after == wait


async def test_a_401_without_a_token_to_pass_on_says_so() -> None:
    api = ClaimsApiRegistrations(
        "http://claims.test", None, transport=httpx.MockTransport(lambda _: httpx.Response(401))
    )
    with pytest.raises(ClaimsApiUntrusted, match=r"requires a token \(401\), and this request carried none"):
        await api.registration("org-1", "MRN100")


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_outside_development_the_claims_api_is_named(environment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the local stack's default would send callers' bearer tokens to whatever listens on this machine's port 8002
    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_TOKEN_URL", "https://login.example.org/oauth2/token")
    monkeypatch.delenv("ELIGIBILITY_CLAIMS_URL", raising=False)
    database = "postgresql+asyncpg://u@db/rcm"
    with pytest.raises(ValidationError, match="ELIGIBILITY_CLAIMS_URL is unset"):
        EligibilitySettings(environment=environment, database_url=database)
    named = EligibilitySettings(environment=environment, database_url=database, claims_url="http://claims-api")
    assert named.claims_api_url() == "http://claims-api"
    # empty: no claims API, said so (checks by MRN unavailable)
    assert EligibilitySettings(environment=environment, database_url=database, claims_url="").claims_api_url() == ""
    for local in ("development", "test"):
        assert EligibilitySettings(environment=local, database_url=database).claims_api_url().startswith("http://127.")


def test_the_claims_api_is_the_local_stacks_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCM_PORT_OFFSET", "100")
    monkeypatch.delenv("ELIGIBILITY_CLAIMS_URL", raising=False)
    assert EligibilitySettings().claims_api_url() == "http://127.0.0.1:8102"
    monkeypatch.setenv("ELIGIBILITY_CLAIMS_URL", "http://claims-api:8000")
    assert EligibilitySettings().claims_api_url() == "http://claims-api:8000"
