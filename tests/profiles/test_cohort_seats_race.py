"""Cohort capacity under concurrency, on real PostgreSQL: admissions never exceed the
seats, whatever joins, withdrawals and capacity changes race for them."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from chassis.service import mounted
from tests.profiles.conftest import COORDINATOR
from tests.profiles.test_cohorts_api import new_cohort, register

ROUNDS = 12
RIVALS = 5


async def admitted_mentees(app, cohort: str) -> int:
    """Mentees admitted and not withdrawn, counted from the event store itself."""
    async with mounted(app).runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT event_type, payload FROM events WHERE stream_id = :c "
                "ORDER BY version"
            ),
            {"c": cohort},
        )
        seated: set[str] = set()
        for row in rows:
            payload = row.payload
            if row.event_type == "ParticipantAdmitted" and payload["role"] == "mentee":
                seated.add(payload["person_id"])
            elif row.event_type == "ParticipantWithdrew":
                seated.discard(payload["person_id"])
        return len(seated)


async def join(client, cohort: str, person_id: str):
    return await client.post(
        f"/cohorts/{cohort}/participants",
        json={"person_id": person_id},
        headers=COORDINATOR,
    )


async def test_concurrent_joins_for_the_last_seat_admit_exactly_one(app, client):
    base = 7000
    for round_ in range(ROUNDS):
        cohort = await new_cohort(client, capacity=2)
        first = await register(client, base)
        base += 1
        assert (await join(client, cohort, first)).json()["status"] == "admitted"
        rivals = []
        for _ in range(RIVALS):
            rivals.append(await register(client, base))
            base += 1

        answers = await asyncio.gather(*(join(client, cohort, p) for p in rivals))

        # Every rival is answered (queued behind the others, not refused with a
        # conflict to retry): one takes the last seat, the rest wait in line.
        assert [a.status_code for a in answers] == [201] * RIVALS, [
            a.text for a in answers
        ]
        statuses = sorted(a.json()["status"] for a in answers)
        assert statuses == ["admitted"] + ["waiting"] * (RIVALS - 1), round_
        view = (await client.get(f"/cohorts/{cohort}", headers=COORDINATOR)).json()
        assert view["seats_taken"] == 2 == await admitted_mentees(app, cohort)
        assert sorted(w["position"] for w in view["waiting_list"]) == list(
            range(1, RIVALS)
        )


async def test_withdrawals_capacity_changes_and_joins_racing_never_overfill(
    app, client
):
    base = 7600
    for _round in range(ROUNDS):
        cohort = await new_cohort(client, capacity=2)
        seated = []
        for _ in range(2):
            seated.append(await register(client, base))
            base += 1
            await join(client, cohort, seated[-1])
        newcomers = []
        for _ in range(3):
            newcomers.append(await register(client, base))
            base += 1

        calls = [join(client, cohort, p) for p in newcomers]
        calls.append(
            client.request(
                "DELETE",
                f"/cohorts/{cohort}/participants/{seated[0]}",
                headers=COORDINATOR,
            )
        )
        calls.append(
            client.put(
                f"/cohorts/{cohort}/capacity",
                json={"capacity": 3},
                headers=COORDINATOR,
            )
        )
        calls.append(
            client.put(
                f"/cohorts/{cohort}/capacity",
                json={"capacity": 1},
                headers=COORDINATOR,
            )
        )
        answers = await asyncio.gather(*calls)
        for answer in answers:
            # A capacity below the seats taken is refused (typed), never a 5xx.
            assert answer.status_code < 500, answer.text
            if answer.status_code >= 400:
                assert answer.json()["code"] == "CapacityBelowLoad", answer.text

        view = (await client.get(f"/cohorts/{cohort}", headers=COORDINATOR)).json()
        taken = await admitted_mentees(app, cohort)
        assert taken == view["seats_taken"] <= view["capacity"]
        # A free seat is never left while someone waits for it.
        assert taken == view["capacity"] or not view["waiting_list"]
