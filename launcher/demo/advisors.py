"""External advisors for the demo, taken through due diligence and approved."""

from __future__ import annotations

from collections.abc import Callable

from launcher.demo.api import Api

ADVISORS = (
    ("Helena Vasquez", "Vasquez Advisory", ["strategy", "finance"], "ES"),
    ("Kwame Mensah", "Mensah Partners", ["change", "culture"], "GH"),
    ("Ingrid Solberg", "Nordlys Board Services", ["influence", "data_ai"], "NO"),
)
ADVISOR_ZONES = {"ES": "Europe/Madrid", "GH": "Africa/Accra", "NO": "Europe/Oslo"}


async def onboard_advisors(
    api: Api, coordinator: str, step: Callable[[str, int, int], None]
) -> list[str]:
    """Propose, check and approve the advisors; their ids."""
    ids: list[str] = []
    for n, (name, firm, expertise, country) in enumerate(ADVISORS, 1):
        given, family = name.split(" ", 1)
        made = await api.post(
            "/advisors/advisors",
            coordinator,
            {
                "name": name,
                "email": f"{given.lower()}@{family.lower()}.example",
                "organisation": firm,
                "expertise_sought": expertise,
            },
        )
        aid = made["advisor_id"]
        path = f"/advisors/advisors/{aid}"
        await api.post(f"{path}/diligence", coordinator)
        await api.put(f"{path}/conflicts", coordinator, {})
        for check in ("background", "conflict_of_interest", "confidentiality",
                      "compliance"):  # fmt: skip
            await api.put(
                f"{path}/checks/{check}",
                coordinator,
                {"status": "passed", "evidence": "Reviewed by Legal"},
            )
        await api.post(
            f"{path}/approve",
            coordinator,
            {
                "geography": country,
                "time_zone": ADVISOR_ZONES[country],
                "languages": ["en"],
                "level": 11,
                "strengths": [
                    {"competency_id": c, "proficiency": 5} for c in expertise
                ],
                "formats": ["one_to_one", "group"],
                "max_mentees": 2,
                "hours_per_month": 6,
            },
        )
        ids.append(aid)
        step("advisors", n, len(ADVISORS))
    return ids
