"""Hostile input to the insights API (NUL bytes, long strings, too many ids, far
dates, numbers beyond a column): every answer is a typed 4xx, never a 5xx."""

from __future__ import annotations

import pytest

from tests.insights.test_admin_scope import client_for
from tests.insights.test_rebuild import app  # noqa: F401
from tests.profiles.conftest import token

COORDINATOR = token("hostile", "coordinator")
LONG = "x" * 10_000
NUL = "rel\x00-1"


@pytest.mark.parametrize(
    "route", ["/scorecards/mentees/batch", "/relationships/health/batch"]
)
async def test_batch_reads_refuse_nul_long_and_too_many_ids(app, route):  # noqa: F811
    async with client_for(app) as client:
        for body in (
            {"ids": ["ok", NUL]},
            {"ids": ["ok", LONG]},
            {"ids": [f"id-{n}" for n in range(10_000)]},
            {"ids": ["ok"], "as_of": "9999-12-31"},
            {"ids": ["ok"], "as_of": NUL},
            {"ids": ["ok"], "unknown": 1},
        ):
            resp = await client.post(route, json=body, headers=COORDINATOR)
            assert resp.status_code == 422, (body, resp.text)
            assert resp.json()["code"]
        ok = await client.post(route, json={"ids": ["unknown"]}, headers=COORDINATOR)
        assert ok.status_code == 200


async def test_parameters_are_bounded(app):  # noqa: F811
    async with client_for(app) as client:
        for url in (
            "/scorecards/mentees/a%00b",
            f"/scorecards/mentees/{'x' * 300}",
            "/scorecards/programme?as_of=9999-12-31",
            "/scorecards/programme?as_of=0001-01-01",
            f"/scorecards/programme?as_of={'2027' * 40}",
            f"/relationships/{'x' * 300}/health",
            "/relationships/r1/health?as_of=9999-12-31",
            "/relationships/health?cohort_id=a%25b",
            f"/relationships/health?state={'x' * 300}",
            "/relationships/health/history?from=0001-01-01&to=2027-01-01",
            "/relationships/health/history?from=2027-01-01&to=9999-01-01",
            f"/equity?dimension={'x' * 300}",
            f"/equity?cohort_id={'x' * 300}",
            f"/mentors/{'x' * 300}/impact?quarter=2027Q1",
        ):
            resp = await client.get(url, headers=COORDINATOR)
            assert resp.status_code in (400, 422), (url, resp.text)
            assert resp.json()["code"]
