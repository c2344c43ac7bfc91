"""Recent answers (eligibility/use_cases/cache.py): a repeated check answered from memory, else from the
database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from builders import T
from builders.x271 import request_body
from rcm_shared.x12.sets.x270 import read_270
from sqlalchemy import select


async def _stored(client: Any, check_id: str) -> Any:
    from eligibility.models import eligibility_check

    async with client.app.state.engine.connect() as conn:
        return (await conn.execute(select(eligibility_check).where(eligibility_check.c.id == check_id))).one()


async def test_a_repeated_check_is_answered_from_memory_as_stored_and_from_the_database_by_another_process(
    client: Any,
) -> None:
    from eligibility.use_cases.cache import RecentAnswers
    from sqlalchemy import event

    engine = client.app.state.engine
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    first = (await client.post("/v1/eligibility/checks", json=request_body(), headers=T)).json()
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        again = await client.post("/v1/eligibility/checks", json=request_body(), headers=T)
        assert again.status_code == 200 and again.json() == {**first, "cached": True}
        assert not [s for s in statements if s.startswith("SELECT") and "eligibility_check" in s]  # no lookup
        RecentAnswers.of(engine)._rows.clear()  # as in another API process: the database has the answer
        other = await client.post("/v1/eligibility/checks", json=request_body(), headers=T)
        assert other.status_code == 200 and other.json() == {**first, "cached": True}
        assert [s for s in statements if s.startswith("SELECT") and "eligibility_check" in s]
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert client.primary.calls == 1
    # another member, or another tenant, is not answered by it
    assert (await client.post("/v1/eligibility/checks", json=request_body("W999"), headers=T)).status_code == 201
    org2 = {"X-Tenant-ID": "org-2"}
    assert (await client.post("/v1/eligibility/checks", json=request_body(), headers=org2)).status_code == 201


async def test_one_family_members_answer_is_never_reused_for_another(client: Any) -> None:
    """A dependent shares the subscriber's member id: each person's question is asked of the payer, and asked
    again (however the name is cased or spaced) it gets that person's own answer back, from memory or the
    database; each row's key is the digest of the person it is about."""
    from eligibility.domain.inquiry import asked_for
    from eligibility.use_cases.cache import RecentAnswers

    subscriber = request_body("W777")
    child = {**subscriber, "dependent": {"first_name": "Jim", "last_name": "Doe", "birth_date": "2015-06-01"}}
    sibling = {**subscriber, "dependent": {"first_name": "Ann", "last_name": "Doe", "birth_date": "2017-03-02"}}
    first = {}
    for name, body in (("subscriber", subscriber), ("child", child), ("sibling", sibling)):
        r = await client.post("/v1/eligibility/checks", json=body, headers=T)
        assert r.status_code == 201, name  # a new 270 each: no other person's answer reused
        first[name] = r.json()["id"]
    assert client.primary.calls == 3
    keys = {name: (await _stored(client, check_id)).asked_for for name, check_id in first.items()}
    assert keys == {
        "subscriber": asked_for("DOE", "JANE", date(1980, 2, 29)),
        "child": asked_for("DOE", "JIM", date(2015, 6, 1)),
        "sibling": asked_for("DOE", "ANN", date(2017, 3, 2)),
    }
    shouting = {**child, "dependent": {**child["dependent"], "first_name": "JIM", "last_name": " DOE"}}
    lower = {**subscriber, "subscriber": {**subscriber["subscriber"], "first_name": "jane", "last_name": "doe"}}
    for forget in (False, True):
        if forget:
            RecentAnswers.of(client.app.state.engine)._rows.clear()  # another process: the database's rows
        for name, body in (("subscriber", lower), ("child", shouting), ("sibling", sibling)):
            again = (await client.post("/v1/eligibility/checks", json=body, headers=T)).json()
            assert again["cached"] and again["id"] == first[name], (name, forget)
    assert client.primary.calls == 3


async def test_another_subscribers_question_on_the_same_member_id_is_asked_of_the_payer(client: Any) -> None:
    """A member id keyed for someone else (a typo, a borrowed card) names another person: that person's question
    gets a 270 of its own, never the first person's answer (with their name and birth date), from memory or
    from the database."""
    from eligibility.use_cases.cache import RecentAnswers

    jane = request_body("W888")
    bob = {**jane, "subscriber": {**jane["subscriber"], "first_name": "Bob", "last_name": "Smith"}}
    bob_1955 = {**bob, "subscriber": {**bob["subscriber"], "birth_date": "1955-01-01"}}
    made = []
    for body in (jane, bob, bob_1955):
        r = await client.post("/v1/eligibility/checks", json=body, headers=T)
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    assert client.primary.calls == 3
    (inquiry,) = read_270((await _stored(client, made[-1])).x12_270.encode())
    assert (inquiry.subscriber.last, str(inquiry.subscriber.birth_date)) == ("SMITH", "1955-01-01")
    RecentAnswers.of(client.app.state.engine)._rows.clear()  # another process: the database's rows
    for body, check_id in zip((jane, bob, bob_1955), made, strict=True):
        again = (await client.post("/v1/eligibility/checks", json=body, headers=T)).json()
        assert again["cached"] and again["id"] == check_id
    assert client.primary.calls == 3


async def test_an_ingested_271_is_reused_for_its_member_only(client: Any) -> None:
    """A 271 ingested (a payer portal's, a batch's) answers a later question about the member it names, and no
    other person asking with the same member id."""
    from builders.x271 import answer, x271

    x12 = {**T, "content-type": "application/edi-x12"}
    (row,) = (await client.post("/v1/eligibility/responses", content=x271(answer("W999")), headers=x12)).json()
    asked = {**request_body("W999"), "service_date": row["service_date"], "service_types": row["service_types"]}
    r = await client.post("/v1/eligibility/checks", json=asked, headers=T)  # Jane Doe, as the 271 names her
    assert r.status_code == 200 and r.json()["id"] == row["id"], r.text
    bob = {**asked, "subscriber": {**asked["subscriber"], "first_name": "Bob", "last_name": "Smith"}}
    assert (await client.post("/v1/eligibility/checks", json=bob, headers=T)).status_code == 201
    assert client.primary.calls == 1


def test_recent_answers_keep_the_newest_active_answer_and_forget_the_expired_and_the_oldest() -> None:
    from types import SimpleNamespace

    from eligibility.use_cases.cache import RecentAnswers

    def row(at: int, status: str = "active", member: str = "M1") -> Any:
        created = datetime(2026, 11, 29, 8, 0, at, tzinfo=UTC)
        return SimpleNamespace(
            tenant_id="t",
            payer_id="P",
            member_id=member,
            service_date=date(2026, 11, 30),
            service_types="30",
            status=status,
            asked_for="k",
            created_at=created,
            id=f"{member}-{at}",
        )

    recent, key = RecentAnswers(size=2), ("t", "P", "M1", date(2026, 11, 30), "30", "k")
    since = datetime(2026, 11, 29, 7, tzinfo=UTC)
    recent.put(row(10))
    recent.put(row(5))  # older: the newer one stays
    recent.put(row(20, "inactive"))  # only active answers are reused
    assert recent.get(key, since).id == "M1-10"
    assert recent.get(key, datetime(2026, 11, 29, 8, 0, 11, tzinfo=UTC)) is None  # expired: dropped
    assert recent.get(key, since) is None
    recent.put(row(1))
    recent.put(row(2, member="M2"))
    recent.put(row(3, member="M3"))  # over the size: the least recently used (M1) goes
    assert recent.get(key, since) is None
    assert recent.get(("t", "P", "M3", date(2026, 11, 30), "30", "k"), since).id == "M3-3"
