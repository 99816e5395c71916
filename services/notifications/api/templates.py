"""Routes of a tenant's message templates, over ``Templates``
(``application/templates.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from chassis.auth.fastapi import require_roles
from chassis.auth.principal import Principal, Role
from chassis.events import utcnow
from chassis.http.openapi import problems
from chassis.service import provided
from contracts.api.notifications import TemplateIn, TemplateView
from contracts.notifications import Channel, NotificationKind
from services.notifications.application.templates import Templates

router = APIRouter(tags=["templates"])
Editor = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.COORDINATOR))]
TemplatesDep = Annotated[Templates, Depends(provided(Templates))]
Locale = Annotated[str, Path(max_length=2, pattern="^(en|fr|de)$")]


@router.put(
    "/notifications/templates/{kind}/{channel}/{locale}",
    responses=problems(403, 404, 422),
)
async def set_template(
    kind: NotificationKind,
    channel: Channel,
    locale: Locale,
    body: TemplateIn,
    principal: Editor,
    templates: TemplatesDep,
) -> TemplateView:
    """Set the organisation's wording of a kind of message for a channel and locale."""
    await templates.save(
        principal.tenant, kind, channel, locale, body.subject, body.body, utcnow()
    )
    return TemplateView(
        kind=kind, channel=channel, locale=locale, subject=body.subject, body=body.body
    )
