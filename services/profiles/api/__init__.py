"""The REST API of the profiles service (what the gateway calls)."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from services.profiles.api import (
        admin,
        cohorts,
        competencies,
        imports,
        people,
        scim,
    )

    return [
        people.router,
        competencies.router,
        cohorts.router,
        imports.router,
        scim.router,
        admin.router,
    ]
