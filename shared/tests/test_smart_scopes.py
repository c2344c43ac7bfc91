"""SMART on FHIR system scopes: what each stands for among our scopes, which a client granted some may
request, the discovery document, and a token carrying them passing the Verifier."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from rcm_shared.auth import (
    SCOPES,
    AuthSettings,
    SmartScope,
    Verifier,
    check_scope,
    expand_smart_scopes,
    parse_smart_scope,
    scope_granted,
    smart_configuration,
)
from rcm_shared.config import BaseServiceSettings

ALL_READ = {"eligibility:read", "claims:read", "remittance:read"}
ALL_WRITE = {"eligibility:request", "claims:submit"}  # what Claim and CoverageEligibilityRequest writes need


@pytest.mark.parametrize(
    ("scope", "resource", "letters"),
    [
        ("system/Claim.read", "Claim", "rs"),
        ("system/Claim.write", "Claim", "cud"),
        ("system/Claim.*", "Claim", "cruds"),
        ("system/*.read", "*", "rs"),
        ("system/*.*", "*", "cruds"),
        ("system/Claim.cruds", "Claim", "cruds"),
        ("system/Patient.rs", "Patient", "rs"),
        ("system/ExplanationOfBenefit.rs", "ExplanationOfBenefit", "rs"),
        ("system/Patient.s", "Patient", "s"),
        ("system/CoverageEligibilityRequest.cu", "CoverageEligibilityRequest", "cu"),
        # SMART v1 "read and write" on a read-only type: accepted as written, it stands for the read alone
        ("system/Patient.*", "Patient", "cruds"),
        ("system/CoverageEligibilityResponse.cruds", "CoverageEligibilityResponse", "cruds"),
        ("system/Claim.ud", "Claim", "ud"),
    ],
)
def test_v1_and_v2_system_scopes_read_as_resource_and_permission_letters(
    scope: str, resource: str, letters: str
) -> None:
    assert parse_smart_scope(scope) == SmartScope(resource, frozenset(letters))


@pytest.mark.parametrize(
    ("scope", "why"),
    [
        ("system/Observation.read", "no service here holds FHIR Observation"),
        ("system/Claim.sr", "letters of cruds in that order"),
        ("system/Claim.rr", "letters of cruds in that order"),
        ("system/Claim.x", "letters of cruds in that order"),
        ("system/Claim.rs?status=active", "scope parameters"),
        ("system/claim.read", "not a SMART system scope"),
        ("system/Claim", "not a SMART system scope"),
        # a write permission on a type no client can write: the owning service's write scope posts 835s or
        # voids claims
        ("system/ExplanationOfBenefit.c", "ExplanationOfBenefit is read-only here"),
        ("system/PaymentReconciliation.u", "PaymentReconciliation is read-only here"),
        ("system/ClaimResponse.d", "ClaimResponse is read-only here"),
        ("system/Patient.write", "Patient is read-only here"),
        ("system/CoverageEligibilityResponse.cud", "only read permissions"),
        # nothing here can be deleted
        ("system/Claim.d", "d alone grants nothing"),
        ("system/*.d", "d alone grants nothing"),
    ],
)
def test_system_scopes_this_platform_cannot_grant_are_refused_with_the_reason(scope: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_smart_scope(scope)
    with pytest.raises(ValueError, match=why):
        check_scope(scope)
    with pytest.raises(ValueError, match=why):
        scope_granted(scope, ["system/*.*"])


def test_other_scopes_are_not_smart_system_scopes() -> None:
    assert parse_smart_scope("claims:read") is None
    assert parse_smart_scope("patient/Claim.read") is None
    with pytest.raises(ValueError, match="unknown scope"):
        check_scope("patient/Claim.read")
    for scope in SCOPES:
        check_scope(scope)


@pytest.mark.parametrize(
    ("scopes", "adds"),
    [
        (["system/CoverageEligibilityRequest.read"], {"eligibility:read"}),
        # a FHIR write permission stands for that write alone, never the service's write scope
        (["system/CoverageEligibilityRequest.c"], {"eligibility:request"}),
        (["system/CoverageEligibilityRequest.write"], {"eligibility:request"}),
        (["system/CoverageEligibilityResponse.read"], {"eligibility:read"}),
        (["system/Claim.read"], {"claims:read"}),
        (["system/Claim.c"], {"claims:submit"}),
        (["system/Claim.u"], {"claims:submit"}),
        (["system/Claim.write"], {"claims:submit"}),
        (["system/Claim.*"], {"claims:read", "claims:submit"}),
        (["system/Claim.d"], set()),  # no delete here
        (["system/ClaimResponse.rs"], {"claims:read"}),
        (["system/Patient.s"], {"claims:read"}),
        (["system/ExplanationOfBenefit.rs"], {"remittance:read"}),
        # a write permission on a read-only type stands for nothing; beside a read it stands for the read
        (["system/Patient.c"], set()),
        (["system/PaymentReconciliation.ud"], set()),
        (["system/ClaimResponse.*"], {"claims:read"}),
        (["system/Patient.*"], {"claims:read"}),
        (["system/ExplanationOfBenefit.cruds"], {"remittance:read"}),
        # a service's write scope implies its FHIR write
        (["claims:write"], {"claims:submit"}),
        (["eligibility:check"], {"eligibility:request"}),
        (["claims:submit", "eligibility:request"], set()),
        (["system/*.read"], ALL_READ),
        (["system/*.rs"], ALL_READ),
        (["system/*.write"], ALL_WRITE),
        (["system/*.*"], ALL_READ | ALL_WRITE),
        (["system/*.cruds"], ALL_READ | ALL_WRITE),
        (["denials:work"], set()),
        (["system/Observation.read", "patient/Claim.read"], set()),  # unmapped: nothing more
    ],
)
def test_each_resource_type_stands_for_its_services_scopes(scopes: list[str], adds: set[str]) -> None:
    expanded = expand_smart_scopes(scopes)
    assert expanded == frozenset(scopes) | adds
    assert not expanded & {"denials:read", "denials:work", "audit:read"} - set(scopes)


@pytest.mark.parametrize(
    ("requested", "granted", "allowed"),
    [
        # a narrower SMART scope of a wider grant
        ("system/Claim.read", ["system/*.read"], True),
        ("system/Claim.rs", ["system/*.read"], True),
        ("system/Claim.r", ["system/Claim.read"], True),
        ("system/Claim.read", ["system/Claim.r", "system/Claim.s"], True),  # together
        ("system/Claim.cruds", ["system/Claim.read", "system/*.write"], True),
        ("system/*.read", ["system/*.*"], True),
        # never wider than the grant
        ("system/Claim.write", ["system/*.read"], False),
        ("system/Claim.read", ["system/ClaimResponse.read"], False),
        ("system/*.read", ["system/Claim.read", "system/ExplanationOfBenefit.read"], False),
        ("system/Patient.read", ["system/Claim.read"], False),  # the same service, another resource type
        ("system/Claim.read", ["claims:read"], False),  # our scopes grant no SMART scope
        # our scopes: granted themselves, or by a SMART scope that stands for them
        ("claims:read", ["claims:read"], True),
        ("claims:read", ["system/*.read"], True),
        ("remittance:post", ["system/ExplanationOfBenefit.c"], False),  # EOBs are read-only
        ("remittance:post", ["system/*.*"], False),  # no FHIR write posts an 835
        ("claims:write", ["system/Patient.write"], False),
        # a FHIR write permission grants that write, not the service's other writes
        ("claims:write", ["system/*.cud"], False),
        ("claims:write", ["system/Claim.*"], False),
        ("claims:submit", ["system/*.cud"], True),
        ("claims:submit", ["system/Claim.c"], True),
        ("eligibility:check", ["system/*.write"], False),
        ("eligibility:check", ["system/CoverageEligibilityRequest.c"], False),
        ("eligibility:request", ["system/*.write"], True),
        ("system/Claim.c", ["system/*.write"], True),
        # the service's write scope implies its FHIR write, and not the other way round
        ("claims:submit", ["claims:write"], True),
        ("eligibility:request", ["eligibility:check"], True),
        ("claims:write", ["claims:submit"], False),
        ("eligibility:check", ["eligibility:request"], False),
        # v1 read-and-write on a read-only type: granted as written by itself or a wider grant
        ("system/Patient.*", ["system/Patient.*"], True),
        ("system/Patient.*", ["system/*.*"], True),
        ("system/ExplanationOfBenefit.cruds", ["system/*.cruds"], True),
        ("system/Patient.*", ["system/Patient.rs"], False),
        ("claims:write", ["system/*.read"], False),
        ("denials:read", ["system/*.*"], False),
        ("audit:read", ["system/*.*"], False),
    ],
)
def test_a_client_may_request_what_its_grant_covers(requested: str, granted: list[str], allowed: bool) -> None:
    assert scope_granted(requested, granted) is allowed


def test_the_discovery_document_names_the_token_endpoint_and_what_it_accepts() -> None:
    doc = smart_configuration(AuthSettings(token_url="https://auth.example/oauth/token"))
    assert doc["token_endpoint"] == "https://auth.example/oauth/token"
    assert doc["grant_types_supported"] == ["client_credentials"]
    assert doc["token_endpoint_auth_methods_supported"] == [
        "private_key_jwt",
        "client_secret_basic",
        "client_secret_post",
    ]
    assert {"RS384", "ES384"} <= set(doc["token_endpoint_auth_signing_alg_values_supported"])
    assert "none" not in doc["token_endpoint_auth_signing_alg_values_supported"]
    assert set(doc["capabilities"]) == {"client-confidential-asymmetric", "permission-v1", "permission-v2"}
    for scope in doc["scopes_supported"]:
        check_scope(scope)
    assert {"system/*.read", "system/Claim.rs", "claims:read"} <= set(doc["scopes_supported"])
    assert {"system/Claim.write", "system/CoverageEligibilityRequest.cud"} <= set(doc["scopes_supported"])
    assert not {"system/Patient.write", "system/ExplanationOfBenefit.cruds"} & set(doc["scopes_supported"])
    json.dumps(doc)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8010/oauth/token",  # the embedded issuer's default
        "http://localhost:8010/oauth/token",
        "https://LOCALHOST./oauth/token",
        "http://auth.localhost/oauth/token",
        "http://127.0.0.2/oauth/token",
        "http://[::1]:8010/oauth/token",
        "http://0.0.0.0:8010/oauth/token",
        "/oauth/token",
        "",
        # loopback and unspecified in the other spellings the resolver takes, and the other localhost names
        "https://127.1/oauth/token",
        "https://0/oauth/token",
        "https://0x7f.0.0.1/oauth/token",
        "https://2130706433/oauth/token",
        "https://[::ffff:127.0.0.1]/oauth/token",
        "https://[::ffff:0.0.0.0]/oauth/token",
        "https://[::]/oauth/token",
        "https://localhost.localdomain/oauth/token",
        "https://ip6-localhost/oauth/token",
        "https://IP6-LOOPBACK./oauth/token",
        # clients send their credentials there: never in clear text
        "http://login.example.org/oauth2/token",
        "ftp://login.example.org/oauth2/token",
    ],
)
def test_a_token_url_on_this_machine_is_refused_outside_development(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # discovery and the CapabilityStatement send FHIR clients there: loopback sends them to their own machine
    monkeypatch.setenv("AUTH_MODE", "on")
    monkeypatch.setenv("AUTH_TOKEN_URL", url)
    database = "postgresql+asyncpg://u@db/rcm"
    for environment in ("staging", "production"):
        with pytest.raises(ValidationError, match="AUTH_TOKEN_URL"):
            BaseServiceSettings(environment=environment, database_url=database)
    for environment in ("development", "test"):
        assert BaseServiceSettings(environment=environment, database_url=database).auth.token_url == url
    for elsewhere in (
        "https://login.example.org/oauth2/token",
        "https://10.0.0.7:8443/token",
        "https://[2001:db8::1]/t",
    ):
        monkeypatch.setenv("AUTH_TOKEN_URL", elsewhere)
        assert BaseServiceSettings(environment="production", database_url=database).environment == "production"


def test_a_token_with_smart_scopes_holds_the_scopes_they_stand_for(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1"}]}))
    settings = AuthSettings(jwks_file=str(tmp_path / "jwks.json"))
    now = int(time.time())
    claims = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": "c1",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "org": "org-1",
        # another identity provider may grant what ours refuses: a write on a read-only type stands for nothing
        "scope": "system/Claim.read system/ExplanationOfBenefit.rs system/Observation.read "
        "system/ExplanationOfBenefit.c system/Patient.write",
    }
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "k1"})
    principal = Verifier(settings).verify(token)
    assert principal.scopes == {
        "system/Claim.read",
        "system/ExplanationOfBenefit.rs",
        "system/Observation.read",
        "system/ExplanationOfBenefit.c",
        "system/Patient.write",
        "claims:read",
        "remittance:read",
    }
