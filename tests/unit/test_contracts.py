"""The contracts in contracts/ are what the code produces, and every example validates."""

from __future__ import annotations

from pathlib import Path

from rcm_cli.contracts import catalog_markdown, payload_classes, schemas, topics_yaml
from rcm_shared.topics import CATALOG

ROOT = Path(__file__).resolve().parents[2] / "contracts"


def test_contracts_are_up_to_date() -> None:
    for name, text in schemas().items():
        assert (ROOT / "schemas" / name).read_text() == text, f"{name} is stale: run `rcm contracts`"
    assert (ROOT / "README.md").read_text() == catalog_markdown(), "contracts/README.md is stale: run `rcm contracts`"
    topics = ROOT.parent / "deploy" / "base" / "topics" / "topics.yaml"
    assert topics.read_text() == topics_yaml(), "deploy/base/topics/topics.yaml is stale: run `rcm contracts`"


def test_every_catalog_event_type_has_a_payload_class() -> None:
    declared = {e for t in CATALOG for e in t.event_types}
    assert declared == {c.event_type for c in payload_classes()}


# The one identifier a consumer needs: claims matches coverage checks to claims by payer + member id.
NEEDED = {"EligibilityCheckCompletedV1": {"member_id"}}


def test_payloads_carry_no_demographics() -> None:
    forbidden = {"name", "first_name", "last_name", "birth_date", "dob", "member_id", "ssn", "address"}
    for cls in payload_classes():
        assert not (forbidden - NEEDED.get(cls.__name__, set())) & set(cls.model_fields), cls.__name__
