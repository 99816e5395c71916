"""Dependency aliases of the profiles API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from chassis.auth.fastapi import PrincipalDep
from services.profiles.application import Profiles


def get_profiles(request: Request) -> Profiles:
    return request.app.state.profiles


ProfilesDep = Annotated[Profiles, Depends(get_profiles)]

__all__ = ["PrincipalDep", "ProfilesDep"]
