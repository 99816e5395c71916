"""Matching keeps an approved advisor's personal fields (industries, markets,
functions, crises) in its candidate row and may quote them in a pairing's
explanation: ``AdvisorErased`` makes it forget them, as ``PersonErased`` does a
person (matching's handlers, on real PostgreSQL)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from chassis.envelope import Envelope
from chassis.events import utcnow
from services.matching.projections import advisors as matching_advisors
from services.matching.projections import candidates, pairings
from services.matching.projections.tables import metadata

pytestmark = pytest.mark.postgres


def envelope(kind: str, advisor_id: str, **data) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source="tandem/advisors",
        type=kind,
        subject=advisor_id,
        time=utcnow(),
        data={"advisor_id": advisor_id, **data},
        tenant="acme",
    )


async def test_an_erased_advisor_leaves_every_table_of_matching(database_url):
    engine = create_async_engine(database_url, poolclass=NullPool)
    advisor, kept = str(uuid.uuid4()), str(uuid.uuid4())
    approved = {
        "geography": "GB",
        "time_zone": "Europe/London",
        "industries": ["Zanzibar shipbuilding"],
        "crisis_experience": ["the great widget recall"],
    }
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        handlers = matching_advisors.HANDLERS
        async with engine.begin() as conn:
            for aid in (advisor, kept):
                await handlers["AdvisorApproved"](
                    envelope("AdvisorApproved", aid, **approved), conn
                )
                await conn.execute(
                    text(
                        "INSERT INTO pairing_explanations VALUES (:p, 'acme', :a, "
                        ":m, :r)"
                    ),
                    {
                        "p": str(uuid.uuid4()),
                        "a": aid,
                        "m": str(uuid.uuid4()),
                        "r": json.dumps(
                            {"experience": "brings industry experience 'zanzibar'"}
                        ),
                    },
                )
        async with engine.connect() as conn:
            profile = (
                await conn.execute(
                    text("SELECT mentor_profile FROM candidates WHERE person_id = :a"),
                    {"a": advisor},
                )
            ).scalar_one()
        assert json.loads(profile)["industries"] == approved["industries"]

        async with engine.begin() as conn:
            await handlers["AdvisorErased"](envelope("AdvisorErased", advisor), conn)

        async with engine.connect() as conn:
            left = {
                (table, column): (
                    await conn.execute(
                        text(f"SELECT count(*) FROM {table} WHERE {column} = :a"),
                        {"a": advisor},
                    )
                ).scalar_one()
                for table, column in candidates.PERSON_TABLES + pairings.PERSON_TABLES
            }
            others = (
                await conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM candidates WHERE person_id = :k)"
                        " + (SELECT count(*) FROM pairing_explanations "
                        "WHERE mentor_id = :k)"
                    ),
                    {"k": kept},
                )
            ).scalar_one()
        assert set(left.values()) == {0}, left
        assert others == 2, "another advisor is not touched"
    finally:
        await engine.dispose()
