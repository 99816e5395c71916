"""The CloudEvents 1.0 envelope of an integration event and its Kafka binding.

Attribute names follow the CloudEvents rule (lower-case letters and digits only), so the
Python fields ``correlation_id``/``causation_id`` travel as the extension attributes
``correlationid``/``causationid``. On Kafka the binary content mode is used: every
attribute is a ``ce_<name>`` header, the payload is the JSON message value, and the
message key is the stream id (the ``partitionkey`` extension), which keeps one
aggregate's events in order on one partition.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chassis.errors import TandemError
from chassis.events import EventMetadata, JsonDict, RecordedEvent

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"

Headers = list[tuple[str, bytes]]


class MalformedMessage(TandemError):
    """A received message is not a readable CloudEvent; retrying cannot help."""

    code = "MalformedMessage"
    status = 422
    title = "Malformed event message"


@dataclass(frozen=True)
class Envelope:
    """One integration event with its CloudEvents attributes."""

    id: str
    source: str
    type: str
    subject: str
    time: datetime
    data: JsonDict
    tenant: str
    schema_version: int = 1
    stream_type: str = ""
    stream_version: int = 0
    actor: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None

    @property
    def metadata(self) -> EventMetadata:
        return EventMetadata(
            tenant=self.tenant,
            actor=self.actor,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            traceparent=self.traceparent,
        )

    @classmethod
    def from_recorded(cls, event: RecordedEvent, source: str) -> Envelope:
        meta = event.metadata
        return cls(
            id=str(event.id),
            source=source,
            type=event.event_type,
            subject=event.stream_id,
            time=event.time,
            data=event.data,
            tenant=meta.tenant,
            schema_version=event.schema_version,
            stream_type=event.stream_type,
            stream_version=event.version,
            actor=meta.actor,
            correlation_id=meta.correlation_id or str(event.id),
            causation_id=meta.causation_id,
            traceparent=meta.traceparent,
        )

    def attributes(self) -> dict[str, str]:
        """CloudEvents context attributes (required, optional and extensions)."""
        attrs = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat(),
            "datacontenttype": CONTENT_TYPE,
            "tenant": self.tenant,
            "schemaversion": str(self.schema_version),
            "streamtype": self.stream_type,
            "streamversion": str(self.stream_version),
            "partitionkey": self.subject,
        }
        for name, value in (
            ("actor", self.actor),
            ("correlationid", self.correlation_id),
            ("causationid", self.causation_id),
            ("traceparent", self.traceparent),
        ):
            if value:
                attrs[name] = value
        return attrs

    def to_json(self) -> JsonDict:
        """Structured-mode CloudEvent (used by the in-process bus and dead letters)."""
        return {**self.attributes(), "data": self.data}

    # -- Kafka binary content mode -------------------------------------------------

    def kafka_key(self) -> bytes:
        return self.subject.encode()

    def kafka_value(self) -> bytes:
        return json.dumps(self.data, separators=(",", ":"), default=str).encode()

    def kafka_headers(self) -> Headers:
        headers = [(f"ce_{k}", v.encode()) for k, v in self.attributes().items()]
        headers.append(("content-type", CONTENT_TYPE.encode()))
        return headers

    @classmethod
    def from_kafka(
        cls, headers: Sequence[tuple[str, bytes]], value: bytes | None
    ) -> Envelope:
        """Decode a binary-mode CloudEvent; raises MalformedMessage if it is not one."""
        attrs: dict[str, str] = {}
        for key, raw in headers or ():
            if key.startswith("ce_") and raw is not None:
                attrs[key[3:]] = raw.decode("utf-8", errors="replace")
        try:
            data = json.loads(value) if value else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedMessage(f"message value is not JSON: {exc}") from exc
        return cls.from_attributes(attrs, data)

    @classmethod
    def from_attributes(cls, attrs: dict[str, Any], data: Any) -> Envelope:
        missing = [
            n for n in ("id", "source", "type", "tenant", "time") if not attrs.get(n)
        ]
        if missing:
            raise MalformedMessage(
                f"missing CloudEvents attributes: {', '.join(missing)}"
            )
        if attrs.get("specversion", SPEC_VERSION) != SPEC_VERSION:
            raise MalformedMessage(
                f"unsupported specversion {attrs.get('specversion')}"
            )
        if not isinstance(data, dict):
            raise MalformedMessage("event data must be a JSON object")
        try:
            return cls(
                id=str(attrs["id"]),
                source=str(attrs["source"]),
                type=str(attrs["type"]),
                subject=str(attrs.get("subject") or ""),
                time=datetime.fromisoformat(str(attrs["time"])),
                data=data,
                tenant=str(attrs["tenant"]),
                schema_version=int(attrs.get("schemaversion") or 1),
                stream_type=str(attrs.get("streamtype") or ""),
                stream_version=int(attrs.get("streamversion") or 0),
                actor=attrs.get("actor"),
                correlation_id=attrs.get("correlationid"),
                causation_id=attrs.get("causationid"),
                traceparent=attrs.get("traceparent"),
            )
        except (ValueError, TypeError) as exc:
            raise MalformedMessage(f"bad CloudEvents attribute: {exc}") from exc

    @classmethod
    def from_json(cls, doc: JsonDict) -> Envelope:
        attrs = {k: v for k, v in doc.items() if k != "data"}
        return cls.from_attributes(attrs, doc.get("data"))

    @property
    def uuid(self) -> uuid.UUID:
        return uuid.UUID(self.id)
