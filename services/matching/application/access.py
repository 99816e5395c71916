"""Who may act on and read pairings: coordinators (and admins) run the programme,
sponsors read it, and each person sees the pairings they are a party of."""

from __future__ import annotations

from chassis.auth.principal import Principal, Role

COORDINATORS = (Role.ADMIN, Role.COORDINATOR)


def may_see(principal: Principal, mentor_id: str, mentee_id: str) -> bool:
    """Whether ``principal`` may read a pairing of ``mentor_id`` and ``mentee_id``."""
    if principal.has_role(*COORDINATORS, Role.SPONSOR):
        return True
    return principal.subject in (mentor_id, mentee_id)
