"""Dependency aliases of the sessions API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from chassis.auth.fastapi import PrincipalDep
from services.sessions.relationships import Relationships


def get_relationships(request: Request) -> Relationships:
    return request.app.state.relationships


RelationshipsDep = Annotated[Relationships, Depends(get_relationships)]

__all__ = ["PrincipalDep", "RelationshipsDep"]
