"""SCIM 2.0 users (RFC 7643/7644): identity providers provision Tandem's people.

A SCIM ``User`` is a person of the token's tenant. Every change goes through
``Profiles`` (so it is an event like any other); reads come from the ``people`` table.

=======================================================  ===============================
SCIM attribute                                           person
=======================================================  ===============================
``id``                                                   ``person_id`` (read-only)
``userName`` (unique per tenant, case-insensitive)       ``email``
``emails[primary].value``                                ``email`` (read-only: userName)
``name.givenName`` / ``name.familyName``                 ``given_name`` / ``family_name``
``title``                                                ``title``
``active``                                               active / deactivated
``timezone``                                             ``time_zone``
``addresses[0].country``                                 ``geography``
``externalId``                                           kept beside the person (SCIM)
enterprise ``employeeNumber`` (unique per tenant)        ``employee_id``
enterprise ``department``                                ``business_unit``
enterprise ``division``                                  ``function``
enterprise ``manager.value`` (the manager's SCIM id)     ``manager_id``
tandem ``level`` / ``function`` / ``geography``          the same
tandem ``roles`` / ``hireDate`` / ``languages``          programme roles, hire date, …
=======================================================  ===============================

Defaults, for identity providers that know nothing of Tandem:

- required, no default (400 ``invalidValue`` naming the attribute, nothing created):
  ``userName``, ``name.givenName``, ``name.familyName``, enterprise ``department``,
  tandem ``level``, ``function`` (or enterprise ``division``) and ``geography`` (or
  ``addresses[0].country``). The Tandem extension wins where both are sent.
- ``active`` defaults to true, ``timezone`` to ``UTC``, ``roles`` and ``languages`` to
  none (a coordinator assigns programme roles). These are also what an attribute
  reads as once unassigned: a PATCH ``remove`` (or a ``null``) of ``active`` or
  ``timezone`` restores the default; removing a required attribute is refused
  (``mutability``, RFC 7644 §3.5.2.2) and the whole PATCH changes nothing.
- PUT replaces what an identity provider owns (core and enterprise attributes); the
  Tandem attributes and ``timezone``/``active`` keep their value when a PUT omits them,
  so an IdP that does not send them never wipes them.
- Tandem keeps one address: ``emails`` always reads as the userName, and ``emails``
  sent by an IdP are ignored (change the userName to change the address).
- Attributes of the core and enterprise schemas that Tandem does not keep (phone
  numbers, display name, street addresses, cost centre, …) are accepted and ignored;
  attributes of no known schema are refused (``invalidPath`` in a PATCH,
  ``invalidValue`` in a POST or PUT).

``active: false`` deactivates the person (reason ``inactive``); ``active: true``
reactivates them. DELETE *deprovisions*: the person is deactivated with reason
``deprovisioned`` and the User answers 404 from then on (RFC 7644 §3.6), but nothing is
erased: erasure destroys the person's key (crypto-shredding) and makes every service
forget them, so it stays a deliberate admin action (``DELETE /people/{id}``). A later
POST with the same ``userName`` or ``employeeNumber`` brings the deprovisioned person
back, history intact.

Filters take every operator of RFC 7644 §3.4.2.2 with ``and``/``or``/``not`` and
parentheses, on the attributes above plus ``id``, ``emails.value`` and
``meta.created``/``meta.lastModified`` (no value paths such as ``emails[type eq …]``).
A person's names, userName, title, employeeNumber, hireDate and externalId are sealed
in the database: ``userName``/``externalId`` ``eq``/``ne`` use their blind indexes, and
a filter SQL cannot decide (``userName co …``, a name) is evaluated over the opened
rows of the tenant (``filters``).
Pages are 1-based (``startIndex``/``count``, at most ``maxResults`` = 200 a page);
ETags are weak and change with every write; ``If-Match`` is honoured on PUT, PATCH
and DELETE, ``If-None-Match`` on GET. Responses are built and projected
(``attributes``/``excludedAttributes``) by ``resources`` with scim2-models, whose
models ``/Schemas`` is generated from.
"""

from __future__ import annotations

from services.profiles.application.scim.errors import ScimError
from services.profiles.application.scim.filters import (
    Filter,
    compile_filter,
    parse_filter,
)
from services.profiles.application.scim.mapping import (
    DETAIL_PATHS,
    FIELDS,
    IDP_OWNED,
    IGNORE,
    READ_ONLY,
    REQUIRED,
    RESET,
    Field,
    details_of,
    new_record,
    read_user,
    record_of,
    require_complete,
    resolve,
    write,
)
from services.profiles.application.scim.patch import apply_patch
from services.profiles.application.scim.protocol import (
    CORE,
    ENTERPRISE,
    ERROR,
    LIST_RESPONSE,
    MAX_RESULTS,
    PATCH_OP,
    SCIM_JSON,
    TANDEM,
)
from services.profiles.application.scim.users import (
    DEACTIVATED,
    DEPROVISIONED,
    USERS,
    VISIBLE,
    ScimUsers,
    etag,
)

__all__ = [
    "CORE",
    "DEACTIVATED",
    "DEPROVISIONED",
    "DETAIL_PATHS",
    "ENTERPRISE",
    "ERROR",
    "FIELDS",
    "IDP_OWNED",
    "IGNORE",
    "LIST_RESPONSE",
    "MAX_RESULTS",
    "PATCH_OP",
    "READ_ONLY",
    "REQUIRED",
    "RESET",
    "SCIM_JSON",
    "TANDEM",
    "USERS",
    "VISIBLE",
    "Field",
    "Filter",
    "ScimError",
    "ScimUsers",
    "apply_patch",
    "compile_filter",
    "details_of",
    "etag",
    "new_record",
    "parse_filter",
    "read_user",
    "record_of",
    "require_complete",
    "resolve",
    "write",
]
