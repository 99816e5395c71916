"""Agreements and engagements through the HTTP API, on real PostgreSQL and Kafka."""

from __future__ import annotations

from datetime import date

import pytest

from chassis.service import mounted
from services.advisors.application.agreements import Agreements
from tests.advisors.conftest import ADMIN, COORDINATOR, OTHER_TENANT, SPONSOR
from tests.profiles.conftest import token

ADVISOR = token("acme", "advisor", sub="adv-1")
OTHER_ADVISOR = token("acme", "advisor", sub="adv-2")
TERMS = {
    "advisor_id": "adv-1",
    "starts_on": "2030-01-01",
    "ends_on": "2030-12-31",
    "scope": "mentoring",
    "scope_text": "Coach the CFO cohort through the carve-out.",
    "hours_per_month": 6,
    "compensation": {
        "rate_minor_units": 25_000,
        "currency": "EUR",
        "cap_minor_units": 150_000,
    },
}


@pytest.fixture
async def app_client(advisors):
    """The advisors app with a lifecycle stand-in: only ``adv-pending`` is not
    approved (the real lifecycle part answers through ``Advisors.status``)."""
    app, client = advisors

    async def status(tenant: str, advisor_id: str) -> str:
        return "due_diligence" if advisor_id == "adv-pending" else "approved"

    mounted(app).provide(Agreements).advisor_status = status
    return app, client


async def events_of(app, stream_id: str, tenant: str = "acme") -> list[str]:
    store = mounted(app).runtime.store
    return [e.event_type for e in await store.read_stream(stream_id, tenant=tenant)]


async def sign(client, **over) -> str:
    r = await client.post("/agreements", json=TERMS | over, headers=COORDINATOR)
    assert r.status_code == 201, r.text
    return r.json()["agreement_id"]


async def test_hours_are_logged_until_the_cap_and_usage_adds_up(app_client) -> None:
    app, client = app_client
    agreement_id = await sign(client)
    url = f"/agreements/{agreement_id}"

    for body, who in (
        ({"hours": "2.5", "on": "2030-03-02"}, ADVISOR),
        ({"minutes": 90, "on": "2030-03-09", "kind": "council"}, COORDINATOR),
        ({"hours": "1", "on": "2030-04-01"}, ADVISOR),
    ):
        r = await client.post(f"{url}/hours", json=body, headers=who)
        assert r.status_code == 201, r.text
    before = await events_of(app, agreement_id)

    over_month = await client.post(
        f"{url}/hours", json={"hours": "2.5", "on": "2030-03-20"}, headers=ADVISOR
    )
    over_cost = await client.post(
        f"{url}/hours", json={"hours": "2", "on": "2030-04-02"}, headers=ADVISOR
    )
    not_theirs = await client.post(
        f"{url}/hours", json={"hours": "1", "on": "2030-04-02"}, headers=OTHER_ADVISOR
    )

    assert over_month.status_code == 422
    assert over_month.json()["code"] == "HoursOverCap"
    assert over_month.json()["remaining_minutes"] == 120
    assert over_cost.json()["code"] == "HoursOverCap"
    assert over_cost.json()["remaining_minor_units"] == 25_000
    assert "25000 EUR minor units left" in over_cost.json()["detail"]
    assert not_theirs.status_code == 403
    assert await events_of(app, agreement_id) == before  # nothing written
    usage = (await client.get(f"{url}/usage?on=2030-03-31", headers=SPONSOR)).json()
    assert usage["minutes_this_month"] == 240
    assert usage["hours_this_month"] == "4"
    assert usage["total_minutes"] == 300
    assert usage["cost_minor_units"] == 150_000 - 25_000
    assert usage["remaining_minor_units"] == 25_000
    assert usage["remaining_minutes_this_month"] == 120
    terms = (await client.get(url, headers=ADVISOR)).json()
    assert terms["scope_text"] == TERMS["scope_text"]
    signed = (
        await mounted(app).runtime.store.read_stream(agreement_id, tenant="acme")
    )[0]
    publication = mounted(app).part.translate
    assert (
        "scope_text" not in (await publication(signed))[0].data
    )  # the scope stays here
    assert (await client.get(url, headers=OTHER_ADVISOR)).status_code == 404
    mine = (await client.get("/agreements", headers=ADVISOR)).json()["items"]
    assert [a["agreement_id"] for a in mine] == [agreement_id]


async def test_ending_soon_once_then_renewal_and_termination(app_client) -> None:
    """Terms lie in 2030: the service's own periodic sweep (real today) leaves them alone."""
    app, client = app_client
    agreement_id = await sign(client)
    sweep = mounted(app).provide(Agreements).sweep

    assert await sweep(date(2030, 12, 5)) == 1
    assert await sweep(date(2030, 12, 6)) == 0
    r = await client.post(
        f"/agreements/{agreement_id}/renew",
        json={"ends_on": "2031-06-30"},
        headers=ADMIN,
    )
    assert r.status_code == 200 and r.json()["ends_on"] == "2031-06-30"
    assert await sweep(date(2030, 12, 7)) == 0  # the new end is far away
    denied = await client.post(
        f"/agreements/{agreement_id}/terminate",
        json={"on": "2031-01-15", "reason_code": "budget"},
        headers=SPONSOR,
    )
    r = await client.post(
        f"/agreements/{agreement_id}/terminate",
        json={"on": "2031-01-15", "reason_code": "budget"},
        headers=COORDINATOR,
    )

    assert denied.status_code == 403
    assert r.json()["status"] == "terminated"
    assert await events_of(app, agreement_id) == [
        "AgreementSigned",
        "AgreementEndingSoon",
        "AgreementRenewed",
        "AgreementTerminated",
    ]
    listed = (await client.get("/agreements?advisor_id=adv-1", headers=SPONSOR)).json()
    assert listed["items"][0]["status"] == "terminated"


async def test_a_delivered_engagement_logs_hours_on_the_agreement(app_client) -> None:
    app, client = app_client
    agreement_id = await sign(client)
    r = await client.post(
        "/engagements",
        json={
            "advisor_id": "adv-1",
            "topic": "strategic_risk",
            "on": "2030-05-12",
            "audience_size": 14,
        },
        headers=COORDINATOR,
    )
    assert r.status_code == 201, r.text
    engagement_id = r.json()["engagement_id"]

    delivered = await client.post(
        f"/engagements/{engagement_id}/deliver",
        json={"hours": "1.5", "on": "2030-05-12"},
        headers=ADVISOR,
    )
    again = await client.post(
        f"/engagements/{engagement_id}/deliver",
        json={"hours": "1.5", "on": "2030-05-12"},
        headers=ADVISOR,
    )

    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["agreement_id"] == agreement_id
    assert again.status_code == 409
    usage = (
        await client.get(
            f"/agreements/{agreement_id}/usage?on=2030-05-20", headers=COORDINATOR
        )
    ).json()
    assert (usage["minutes_this_month"], usage["cost_minor_units"]) == (90, 37_500)
    assert await events_of(app, agreement_id) == ["AgreementSigned", "HoursLogged"]
    listed = (await client.get("/engagements", headers=SPONSOR)).json()["items"]
    assert [(e["status"], e["minutes"]) for e in listed] == [("delivered", 90)]


async def test_other_tenants_see_nothing_and_bad_terms_are_typed(app_client) -> None:
    _, client = app_client
    agreement_id = await sign(client)

    for url in (f"/agreements/{agreement_id}", f"/agreements/{agreement_id}/usage"):
        assert (await client.get(url, headers=OTHER_TENANT)).status_code == 404
    logged = await client.post(
        f"/agreements/{agreement_id}/hours",
        json={"hours": "1", "on": "2030-02-02"},
        headers=OTHER_TENANT,
    )
    assert logged.status_code == 404
    assert (await client.get("/agreements", headers=OTHER_TENANT)).json() == {
        "items": []
    }

    euro = TERMS["compensation"] | {"currency": "EURO"}
    bad_currency = await client.post(
        "/agreements", json=TERMS | {"compensation": euro}, headers=COORDINATOR
    )
    backwards = await client.post(
        "/agreements",
        json=TERMS | {"starts_on": "2030-06-01", "ends_on": "2030-05-01"},
        headers=COORDINATOR,
    )
    pending = await client.post(
        "/agreements", json=TERMS | {"advisor_id": "adv-pending"}, headers=COORDINATOR
    )
    by_sponsor = await client.post("/agreements", json=TERMS, headers=SPONSOR)

    assert bad_currency.status_code == 422
    assert bad_currency.json()["code"] == "ValidationError"
    assert bad_currency.json()["errors"][0]["path"] == "compensation.currency"
    assert backwards.json()["errors"][0]["path"] == "ends_on"
    assert pending.json()["code"] == "AdvisorNotApproved"
    assert by_sponsor.status_code == 403
    items = (await client.get("/agreements", headers=COORDINATOR)).json()["items"]
    assert [a["agreement_id"] for a in items] == [agreement_id]  # nothing else
