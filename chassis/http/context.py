"""Who and what is behind a request, as event metadata."""

from __future__ import annotations

from chassis.auth.principal import Principal
from chassis.events import EventMetadata
from chassis.http.request_id import current_request_id
from chassis.telemetry import current_traceparent


def metadata_for(
    principal: Principal, *, causation_id: str | None = None
) -> EventMetadata:
    """Metadata for the events a request appends: tenant, actor, request, trace."""
    return EventMetadata(
        tenant=principal.tenant,
        actor=principal.subject,
        correlation_id=current_request_id(),
        causation_id=causation_id,
        traceparent=current_traceparent(),
    )
