"""The SCIM User as Tandem returns and describes it, in ``scim2-models`` (RFC 7643).

One set of models is both what a response is built from and what ``/Schemas``
publishes (``Model.to_schema()``), so every attribute a response carries is
advertised, with the characteristics the server enforces: ``userName`` an e-mail
address, ``tandem:level`` 1-12, ``geography`` an ISO 3166-1 code (its
``canonicalValues``), ``hireDate`` a full-date, ``roles`` one of Tandem's.

The models describe only the attributes Tandem keeps. Other standard attributes an
identity provider sends (phone numbers, cost centre, …) are accepted and ignored by
``mapping`` and never returned, so they are not advertised either. Writes do not go
through these models: ``mapping`` and ``patch`` read what identity providers send
(Entra ID's ``"False"`` and ``"8"``, a manager as a bare id, the Tandem extension
winning over ``division`` and ``addresses``) into the sealed person record, which the
domain validates (``PersonDetails.validated``).

Projection (RFC 7644 §3.4.2.5) is scim2-models' ``attributes``/``excludedAttributes``
dump; ``id``, ``schemas`` and ``meta`` are always returned.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import Field as PydanticField
from pydantic import ValidationError
from scim2_models import (
    URN,
    AnyExtension,
    CaseExact,
    ComplexAttribute,
    Context,
    Extension,
    Meta,
    Mutability,
    Reference,
    Required,
    Resource,
    ResponseParameters,
    Schema,
    Uniqueness,
)

from chassis.inputs import EARLIEST
from services.profiles.application.scim.errors import ScimError
from services.profiles.application.scim.protocol import (
    CORE,
    ENTERPRISE,
    TANDEM,
    JsonObject,
)
from services.profiles.application.scim.rows import UserRow
from services.profiles.domain.person import COUNTRIES, ROLES


class UserName(ComplexAttribute):
    """The person's name."""

    formatted: Annotated[str | None, Mutability.read_only] = None
    """Given and family name, as Tandem shows it."""

    family_name: Annotated[str | None, Required.true] = None
    """Family name; must not be empty."""

    given_name: Annotated[str | None, Required.true] = None
    """Given name; must not be empty."""


class WorkEmail(ComplexAttribute):
    """The userName as the primary work address."""

    value: Annotated[str | None, Mutability.read_only] = None
    """The address (the userName)."""

    type: Annotated[str | None, Mutability.read_only] = PydanticField(
        None, examples=["work"]
    )
    """Always work."""

    primary: Annotated[bool | None, Mutability.read_only] = None
    """Always true."""


class WorkAddress(ComplexAttribute):
    """The work address; only its country is kept (the geography)."""

    country: str | None = PydanticField(None, examples=sorted(COUNTRIES))
    """ISO 3166-1 alpha-2 country code (upper case; lower case is accepted)."""

    type: Annotated[str | None, Mutability.read_only] = PydanticField(
        None, examples=["work"]
    )
    """Always work."""

    primary: Annotated[bool | None, Mutability.read_only] = None
    """Always true: Tandem keeps one address."""


class TandemCoreUser(Resource[AnyExtension]):
    """A person of the programme (the core User attributes Tandem keeps)."""

    __schema__ = URN(CORE)

    user_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    """The work e-mail address (local@domain.tld, at most 320 characters); unique per
    organisation, case-insensitive."""

    name: Annotated[UserName | None, Required.true] = None
    """The person's name."""

    display_name: Annotated[str | None, Mutability.read_only] = None
    """Given and family name (derived; a sent value is ignored)."""

    title: str | None = None
    """Job title; a change records a career outcome."""

    timezone: str | None = None
    """IANA time zone (e.g. Europe/London); UTC when unassigned, so removing it
    restores UTC."""

    active: bool | None = None
    """False deactivates the person, true reactivates; true when unassigned, so
    removing it reactivates."""

    emails: Annotated[list[WorkEmail] | None, Mutability.read_only] = None
    """The userName as the primary work address (Tandem keeps one address; sent
    values are ignored: change the userName to change it)."""

    addresses: list[WorkAddress] | None = None
    """The work address; only its country is kept (as the Tandem geography)."""


UserRef = Reference["User"]  # type: ignore[name-defined]  # referenceTypes ["User"]


class Manager(ComplexAttribute):
    """The manager: another User of the organisation."""

    value: Annotated[str | None, CaseExact.true] = None
    """The manager's SCIM id."""

    ref: Annotated[UserRef | None, Mutability.read_only] = PydanticField(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """Absolute URI of the manager."""


class TandemEnterpriseUser(Extension):
    """Enterprise User (RFC 7643 §4.3): the attributes Tandem keeps."""

    __schema__ = URN(ENTERPRISE)

    employee_number: Annotated[str | None, Uniqueness.server] = None
    """HR employee number; unique per organisation."""

    department: Annotated[str | None, Required.true] = None
    """Business unit; required by Tandem."""

    division: str | None = None
    """Function (read back as the Tandem function); used when the Tandem extension
    sends none."""

    manager: Manager | None = None
    """The manager: another User of the organisation, never the user themself."""


class TandemUser(Extension):
    """What Tandem needs beyond HR data. Unsent on PUT or PATCH: kept as is."""

    __schema__ = URN(TANDEM)

    level: Annotated[int | None, Required.true] = None
    """Career level, an integer from 1 to 12 (a string of digits is accepted);
    required on create."""

    function: Annotated[str | None, Required.true] = None
    """Function (e.g. Finance); required on create, or enterprise division."""

    geography: Annotated[str | None, Required.true] = PydanticField(
        None, examples=sorted(COUNTRIES)
    )
    """ISO 3166-1 alpha-2 country code (one of canonicalValues); required on create,
    or addresses[0].country."""

    roles: Annotated[list[str] | None, CaseExact.true] = PydanticField(
        None, examples=list(ROLES)
    )
    """Programme roles, each one of canonicalValues; none unless sent."""

    hire_date: str | None = None
    """Hire date, an RFC 3339 full-date (YYYY-MM-DD), not in the future nor before
    {earliest}."""

    languages: list[str] | None = None
    """Languages spoken (BCP 47 tags)."""


TandemUser.model_fields["hire_date"].description = (
    TandemUser.model_fields["hire_date"].description or ""
).format(earliest=EARLIEST.isoformat())

ScimUser = TandemCoreUser[TandemEnterpriseUser | TandemUser]
Params = ResponseParameters[ScimUser]
ALWAYS = ("schemas", "id", "meta")


def stamp(value: datetime | str | None) -> datetime | None:
    """A database time as an aware UTC datetime (RFC 3339 when dumped)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def user_model(row: UserRow, base: str, version: str) -> ScimUser:
    """The SCIM User of a ``people`` row; ``base`` is the absolute ``…/scim/v2``."""
    full = f"{row.given_name} {row.family_name}"
    manager = row.manager_id
    hired = row.hire_date
    user = ScimUser(
        id=row.person_id,
        external_id=row.scim_external_id or None,
        user_name=row.email,
        name=UserName(
            given_name=row.given_name, family_name=row.family_name, formatted=full
        ),
        display_name=full,
        title=row.title or None,
        timezone=row.time_zone,
        active=row.status == "active",
        emails=[WorkEmail(value=row.email, type="work", primary=True)],
        addresses=[WorkAddress(country=row.geography, type="work", primary=True)],
        meta=Meta(
            resource_type="User",
            created=stamp(row.created_at),
            last_modified=stamp(row.updated_at),
            location=f"{base}/Users/{row.person_id}",
            version=version,
        ),
    )
    user[TandemEnterpriseUser] = TandemEnterpriseUser(
        employee_number=row.employee_id or None,
        department=row.business_unit,
        division=row.function,
        manager=Manager(value=manager, ref=f"{base}/Users/{manager}")
        if manager
        else None,
    )
    user[TandemUser] = TandemUser(
        level=row.level,
        function=row.function,
        geography=row.geography,
        roles=json.loads(row.roles),
        hire_date=hired.isoformat() if isinstance(hired, date) else hired,
        languages=json.loads(row.languages),
    )
    return user


def response_parameters(
    attributes: str | list[str] | None, excluded: str | list[str] | None
) -> Params | None:
    """RFC 7644 §3.4.2.5 ``attributes``/``excludedAttributes`` (comma-separated or a
    list), or ``invalidValue``/``invalidPath``; None when neither is given."""
    if not attributes and not excluded:
        return None
    try:
        return Params(
            attributes=attributes or None, excluded_attributes=excluded or None
        )
    except ValidationError as exc:
        detail = "; ".join(str(e.get("msg")) for e in exc.errors())
        kind = "invalidPath" if "path" in detail.lower() else "invalidValue"
        raise ScimError(400, kind, f"attributes: {detail}") from exc


def dump_user(user: ScimUser, params: Params | None = None) -> JsonObject:
    """The User's JSON, projected by ``params``; ``id``, ``schemas`` and ``meta``
    are always returned (RFC 7643 §3.1, RFC 7644 §3.4.2.5)."""
    body: JsonObject = user.model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params
    )
    if params is None:
        return body
    full = user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in ALWAYS:
        body.setdefault(key, full[key])
    ordered = {key: body.pop(key) for key in ALWAYS}
    return {**ordered, **body}


def schemas() -> tuple[Schema, ...]:
    """The schemas of the core User and its two extensions, from their models."""
    return (
        TandemCoreUser.to_schema(),
        TandemEnterpriseUser.to_schema(),
        TandemUser.to_schema(),
    )


def schema_documents(base: str) -> list[JsonObject]:
    """The core User, enterprise and Tandem schemas (RFC 7643 §7) as enforced."""
    names = {CORE: "User", ENTERPRISE: "EnterpriseUser", TANDEM: "TandemUser"}
    documents = []
    for schema in schemas():
        urn = str(schema.id)
        schema.name = names[urn]
        schema.meta = Meta(resource_type="Schema", location=f"{base}/Schemas/{urn}")
        documents.append(schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    return documents
