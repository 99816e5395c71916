"""Dependency aliases of the profiles API: the application objects ``main.py`` built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from chassis.auth.fastapi import PrincipalDep
from chassis.service import provided
from services.profiles.application import Profiles
from services.profiles.application.history import ProfilesHistory
from services.profiles.application.imports import Imports
from services.profiles.application.scim import ScimUsers

ProfilesDep = Annotated[Profiles, Depends(provided(Profiles))]
# One job runner per app (built in main.py) so its tasks outlive each request.
ImportsDep = Annotated[Imports, Depends(provided(Imports))]
HistoryDep = Annotated[ProfilesHistory, Depends(provided(ProfilesHistory))]
UsersDep = Annotated[ScimUsers, Depends(provided(ScimUsers))]

__all__ = ["HistoryDep", "ImportsDep", "PrincipalDep", "ProfilesDep", "UsersDep"]
