"""Batch reads the gateway's DataLoaders use, and import progress on the topic."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from chassis.envelope import Envelope
from chassis.messaging import topic_for
from chassis.service import mounted
from services.profiles.application.imports import Imports
from tests.profiles.conftest import (
    COORDINATOR,
    INTEGRATION,
    OTHER_TENANT,
    person,
    token,
)
from tests.support.waiting import until


async def register(client, n: int, headers=COORDINATOR, **overrides) -> str:
    resp = await client.post("/people", json=person(n, **overrides), headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()["person_id"]


async def new_cohort(client, name: str, capacity: int = 1, headers=COORDINATOR) -> str:
    resp = await client.post(
        "/cohorts", json={"name": name, "capacity": capacity}, headers=headers
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["cohort_id"]


async def join(client, cohort: str, person_id: str, headers=COORDINATOR) -> dict:
    resp = await client.post(
        f"/cohorts/{cohort}/participants",
        json={"person_id": person_id},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_cohorts_batch_answers_in_order_with_dated_members(client):
    a = await new_cohort(client, "A", capacity=1)
    b = await new_cohort(client, "B", capacity=2)
    theirs = await new_cohort(client, "Globex", headers=OTHER_TENANT)
    first, second, third = [await register(client, n) for n in (1, 2, 3)]
    for p in (first, second, third):
        await join(client, a, p)

    resp = await client.post(
        "/cohorts/batch",
        json={"ids": [b, "no-such-cohort", theirs, a]},
        headers=COORDINATOR,
    )
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert [c["cohort_id"] for c in items] == [b, a]  # unknown, other tenant's: out
    cohort_a = items[1]
    assert cohort_a["name"] == "A" and cohort_a["capacity"] == 1
    assert [p["person_id"] for p in cohort_a["participants"]] == [first]
    waiting = cohort_a["waiting_list"]
    assert [(w["person_id"], w["position"]) for w in waiting] == [
        (second, 1),
        (third, 2),
    ]
    assert waiting[0]["since"] <= waiting[1]["since"]
    assert cohort_a["participants"][0]["since"]
    assert items[0]["participants"] == [] and items[0]["waiting_list"] == []

    # The single-cohort route keeps its shape.
    one = (await client.get(f"/cohorts/{a}", headers=COORDINATOR)).json()
    assert one["waiting_list"] == [
        {"person_id": second, "position": 1},
        {"person_id": third, "position": 2},
    ]


async def test_memberships_of_several_people_in_one_call(client):
    a = await new_cohort(client, "A", capacity=1)
    b = await new_cohort(client, "B", capacity=5)
    first, second = await register(client, 1), await register(client, 2)
    await join(client, a, first)
    await join(client, a, second)  # waits
    await join(client, b, second)
    resp = await client.post(
        "/cohorts/memberships", json={"ids": [first, second]}, headers=COORDINATOR
    )
    assert resp.status_code == 200, resp.text
    got = {(m["person_id"], m["cohort_id"], m["status"]) for m in resp.json()["items"]}
    assert got == {
        (first, a, "admitted"),
        (second, a, "waiting"),
        (second, b, "admitted"),
    }
    # Another organisation learns nothing about these people.
    other = await client.post(
        "/cohorts/memberships", json={"ids": [first, second]}, headers=OTHER_TENANT
    )
    assert other.json()["items"] == []
    refused = await client.post(
        "/cohorts/batch", json={"ids": [a]}, headers={"Authorization": "Bearer x"}
    )
    assert refused.status_code == 401


async def _consumer(bootstrap: str) -> AIOKafkaConsumer:
    topic = topic_for("profiles")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()

    async def known() -> set[int] | None:
        found = consumer.partitions_for_topic(topic)
        if not found:
            await consumer._client.force_metadata_update()
        return found or None

    partitions = [
        TopicPartition(topic, p)
        for p in await until(known, "the topic's partitions", 10)
    ]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for tp in partitions:
        await consumer.position(tp)
    return consumer


async def test_an_import_publishes_its_progress_and_its_end(
    app, client, kafka_bootstrap
):
    mounted(app).provide(Imports).chunk_size = 2  # several chunks from a small batch
    consumer = await _consumer(kafka_bootstrap)
    try:
        people = [person(n) for n in range(1, 6)]
        for p in people:
            p.pop("roles")
        resp = await client.post(
            "/imports", json={"people": people}, headers=INTEGRATION
        )
        assert resp.status_code == 202, resp.text
        job_id = resp.json()["job_id"]

        seen: list[Envelope] = []

        async def finished() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for r in records:
                    env = Envelope.from_kafka(list(r.headers or ()), r.value)
                    if env.data.get("job_id") == job_id:
                        seen.append(env)
            return bool(seen) and seen[-1].type == "ImportFinished"

        await until(finished, f"import {job_id}'s progress events", 30)
    finally:
        await consumer.stop()
    assert [e.type for e in seen] == ["ImportProgressed"] * 4 + ["ImportFinished"]
    assert [e.data["processed"] for e in seen] == [0, 2, 4, 5, 5]
    assert all(e.data["total"] == 5 and e.tenant == "acme" for e in seen)
    assert seen[-1].data["status"] == "succeeded"
    assert seen[-1].data["counts"]["created"] == 5
    # Counts only: nothing a record said reaches the topic.
    assert "Ada1" not in str([e.data for e in seen])


async def test_import_reports_in_one_call_and_replays_say_so(client):
    people = [person(n) for n in (1, 2)]
    for p in people:
        p.pop("roles")
    key = {**INTEGRATION, "Idempotency-Key": "batch-test-1"}
    first = await client.post(
        "/imports", params={"wait": "true"}, json={"people": people}, headers=key
    )
    assert first.status_code == 200, first.text
    assert first.json()["replayed"] is False
    again = await client.post("/imports", json={"people": people}, headers=key)
    assert again.json()["replayed"] is True
    job_id = first.json()["job_id"]
    assert again.json()["job_id"] == job_id

    resp = await client.post(
        "/imports/batch", json={"ids": ["nope", job_id]}, headers=COORDINATOR
    )
    assert resp.status_code == 200, resp.text
    [report] = resp.json()["items"]
    assert report["job_id"] == job_id and report["status"] == "succeeded"
    assert report["counts"]["created"] == 2
    # Another organisation's provisioner sees nothing; a mentee may not look.
    other = await client.post(
        "/imports/batch", json={"ids": [job_id]}, headers=OTHER_TENANT
    )
    assert other.json()["items"] == []
    mentee = token("acme", "mentee", sub="someone")
    refused = await client.post(
        "/imports/batch", json={"ids": [job_id]}, headers=mentee
    )
    assert refused.status_code == 403


async def test_each_report_in_a_batch_is_the_report_of_its_job(client):
    """Jobs with 0, 1 and 3 failed records: each batch item is its own report with
    its first failure and the cursor to the next (as ``error_limit=1`` shows it)."""
    jobs = []
    for failing in (0, 1, 3):
        people = [person(n) for n in range(1, 3)]
        people += [person(10 + n, level=99) for n in range(failing)]
        made = await client.post(
            "/imports",
            params={"wait": "true"},
            json={"people": people},
            headers={**INTEGRATION, "Idempotency-Key": f"batch-fail-{failing}"},
        )
        assert made.status_code in (200, 422), made.text
        jobs.append(made.json()["job_id"])
    resp = await client.post("/imports/batch", json={"ids": jobs}, headers=INTEGRATION)
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert [i["job_id"] for i in items] == jobs
    for job_id, item in zip(jobs, items, strict=True):
        alone = await client.get(
            f"/imports/{job_id}", params={"error_limit": 1}, headers=INTEGRATION
        )
        assert item == alone.json()
    assert [len(i["errors"]) for i in items] == [0, 1, 1]
    assert [i["errors_next"] is not None for i in items] == [False, False, True]
