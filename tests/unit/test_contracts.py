"""The contracts in contracts/ are what the code produces, and every example validates."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
import pytest
from rcm_cli.contracts import asyncapi, catalog_markdown, example_files, payload_classes, schemas, topics_yaml
from rcm_shared.topics import CATALOG, topic_for

ROOT = Path(__file__).resolve().parents[2] / "contracts"


def test_contracts_are_up_to_date() -> None:
    for name, text in schemas().items():
        assert (ROOT / "schemas" / name).read_text() == text, f"{name} is stale: run `rcm contracts`"
    assert (ROOT / "README.md").read_text() == catalog_markdown(), "contracts/README.md is stale: run `rcm contracts`"
    topics = ROOT.parent / "deploy" / "base" / "topics" / "topics.yaml"
    assert topics.read_text() == topics_yaml(), "deploy/base/topics/topics.yaml is stale: run `rcm contracts`"
    for name, text in example_files().items():
        assert (ROOT / "examples" / name).read_text() == text, f"examples/{name} is stale: run `rcm contracts`"
    assert (ROOT / "asyncapi.json").read_text() == asyncapi(), "asyncapi.json is stale: run `rcm contracts`"


def test_every_example_validates_against_its_schema_and_a_broken_one_does_not() -> None:
    files = sorted((ROOT / "examples").glob("*.json"))
    assert {f.name for f in files} == {f.name for f in (ROOT / "schemas").glob("*.json")}  # one per event version
    for example in files:
        validator = jsonschema_rs.validator_for(json.loads((ROOT / "schemas" / example.name).read_text()))
        data = json.loads(example.read_text())
        validator.validate(data)
        required = json.loads((ROOT / "schemas" / example.name).read_text()).get("required", [])
        if required:
            broken = dict(data)
            broken.pop(required[0])
            assert not validator.is_valid(broken), example.name


def test_asyncapi_names_every_topic_message_producer_and_consumer() -> None:
    doc = json.loads((ROOT / "asyncapi.json").read_text())
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {t.name for t in CATALOG}
    for mid, message in doc["components"]["messages"].items():
        assert (ROOT / message["payload"]["$ref"]).exists(), mid
    ops = doc["operations"]
    for t in CATALOG:
        cid = t.name.replace(".", "_").replace("-", "_")
        assert ops[f"{t.producer}_sends_{cid}"]["action"] == "send"
        for consumer in t.consumers:
            assert ops[f"{consumer}_receives_{cid}"]["action"] == "receive"


def test_every_catalog_event_type_has_a_payload_class() -> None:
    declared = {e for t in CATALOG for e in t.event_types}
    assert declared == {c.event_type for c in payload_classes()}


def test_every_event_type_the_services_emit_has_one_topic_of_its_producer() -> None:
    """The services take an event's topic from the catalog by its type: each payload class (one module of
    ``rcm_shared.payloads`` per producer) maps to exactly one topic, produced by that service."""
    for cls in payload_classes():
        owners = [t for t in CATALOG if cls.event_type in t.event_types]
        assert len(owners) == 1, cls.event_type
        assert topic_for(cls.event_type) == owners[0].name
        assert owners[0].producer == cls.__module__.rsplit(".", 1)[-1], cls.__name__


def test_an_event_type_outside_the_catalog_has_no_topic() -> None:
    with pytest.raises(KeyError, match=r"claim\.teleported"):
        topic_for("claim.teleported")


# The one identifier a consumer needs: claims matches coverage checks to claims by payer + member id.
NEEDED = {"EligibilityCheckCompletedV1": {"member_id"}}


def test_payloads_carry_no_demographics() -> None:
    forbidden = {"name", "first_name", "last_name", "birth_date", "dob", "member_id", "ssn", "address"}
    for cls in payload_classes():
        assert not (forbidden - NEEDED.get(cls.__name__, set())) & set(cls.model_fields), cls.__name__


def test_every_consumer_handles_every_event_type_of_the_topics_it_reads() -> None:
    """A consumer subscribed to a topic gets all its event types: one without a handler is dead-lettered."""
    import importlib

    missing = []
    for spec in CATALOG:
        for service in spec.consumers:
            registry = importlib.import_module(f"{service}.consumers").registry
            for event_type in spec.event_types:
                versions = [v for (t, v) in registry._handlers if t == event_type]
                if not versions:
                    missing.append(f"{service} <- {spec.name}: {event_type}")
    assert not missing, missing
