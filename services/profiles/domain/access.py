"""Who may do what with a person's profile.

The token's subject is the person id for people who sign in. Coordinators and admins
manage everyone in their tenant; integrations (HRIS, SCIM) provision; everyone else
edits only themself. Contact details go to the person and to those who manage them;
demographics only to admins and the person; the mentor catalogue is visible to all.
"""

from __future__ import annotations

from chassis.auth.principal import Principal, Role
from chassis.errors import Forbidden


class OperatorRequired(Forbidden):
    """A process-wide operation (every tenant at once) asked by a tenant's admin."""

    code = "OperatorRequired"
    title = "Operator role required"


MANAGERS = (Role.ADMIN, Role.COORDINATOR)
PROVISIONERS = (Role.ADMIN, Role.COORDINATOR, Role.INTEGRATION)


def is_self(principal: Principal, person_id: str) -> bool:
    return principal.subject == person_id


def require_manager(principal: Principal) -> None:
    principal.require(*MANAGERS)


def require_provisioner(principal: Principal) -> None:
    principal.require(*PROVISIONERS)


def require_self_or_manager(principal: Principal, person_id: str) -> None:
    if not (is_self(principal, person_id) or principal.has_role(*MANAGERS)):
        raise Forbidden("you may change only your own profile")


def require_self_or_provisioner(principal: Principal, person_id: str) -> None:
    if not (is_self(principal, person_id) or principal.has_role(*PROVISIONERS)):
        raise Forbidden("you may change only your own profile")


def sees_contact_details(principal: Principal, person_id: str) -> bool:
    return is_self(principal, person_id) or principal.has_role(*PROVISIONERS)


def sees_demographics(principal: Principal, person_id: str) -> bool:
    return is_self(principal, person_id) or principal.has_role(Role.ADMIN)


def require_operator(principal: Principal, what: str) -> None:
    """Work across every tenant is the platform operator's, never a tenant admin's."""
    if not principal.has_role(Role.OPERATOR):
        raise OperatorRequired(
            f"{what} acts on every organisation: it needs the operator role "
            "(an admin acts on their own organisation only)"
        )
