"""The CloudEvents 1.0 envelope of an integration event and its Kafka binding.

Attribute names follow the CloudEvents rule (lower-case letters and digits only), so the
Python fields ``correlation_id``/``causation_id`` travel as the extension attributes
``correlationid``/``causationid``. On Kafka the binary content mode of the CloudEvents
Kafka protocol binding is used: ``datacontenttype`` is the Kafka ``content-type``
header and nothing else (§3.2.1), every other attribute is a ``ce_<name>`` header
(§3.2.3), the payload is the JSON message value, and the message key is the stream id
(the ``partitionkey`` extension, still sent as ``ce_partitionkey`` per §3.1), which
keeps one aggregate's events in order on one partition. A message whose
``content-type`` is ``application/cloudevents+json`` is read in structured mode.

The ``type`` attribute on the wire is reverse-DNS prefixed and versioned,
``org.tandem.<producer>.<EventName>.v<schema version>`` (``ce_type`` below); in memory
``Envelope.type`` is the bare event name, which every handler is keyed by.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chassis.errors import TandemError
from chassis.events import EventMetadata, JsonDict, RecordedEvent

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
# The Kafka header that carries ``datacontenttype`` in binary mode (binding §3.2.1).
CONTENT_TYPE_HEADER = "content-type"
# A ``content-type`` with this prefix means structured mode (binding §3).
STRUCTURED_MEDIA_TYPE = "application/cloudevents"
TYPE_PREFIX = "org.tandem"

Headers = list[tuple[str, bytes]]


class MalformedMessage(TandemError):
    """A received message is not a readable CloudEvent; retrying cannot help."""

    code = "MalformedMessage"
    status = 422
    title = "Malformed event message"


# -- The event type on the wire ------------------------------------------------------
#
# The one place that maps event names to ``ce_type`` values and back.
#
# LEGACY ALIAS (issue 18): up to release 0.1.0 messages carried the bare event name
# (``ce_type: PersonRegistered``) and a ``ce_datacontenttype`` header besides
# ``content-type``. Releases after 0.1.0 send only the prefixed form; the release right
# after 0.1.0 still reads the old shape, decoded to the same envelope. The alias (the
# ``_BARE_NAME`` branch of ``parse_ce_type`` and ``LEGACY_HEADERS``) can go in the
# release after that, once every topic's retention has passed the last old-shaped
# message and no old-shaped consumer dead letter is left to replay
# (``/admin/dead-letters`` replays a message with its original headers).

_NAME = r"[A-Za-z][A-Za-z0-9_]*"
_WIRE_TYPE = re.compile(
    rf"{re.escape(TYPE_PREFIX)}\.(?P<producer>[a-z0-9][a-z0-9-]*)"
    rf"\.(?P<name>{_NAME})\.v(?P<version>[1-9][0-9]*)"
)
_BARE_NAME = re.compile(_NAME)  # legacy alias, see above
# Old headers read and ignored during the alias release (``content-type`` rules).
LEGACY_HEADERS = frozenset({"ce_datacontenttype"})


@functools.lru_cache(maxsize=1024)  # a handful of sources; asked once per message
def producer_of(source: str) -> str:
    """The producing service of a ``source`` (``tandem/profiles`` → ``profiles``):
    the service whose event store holds the event's stream and publishes it."""
    name = source.removeprefix("tandem/").lower()
    return re.sub(r"[^a-z0-9-]+", "-", name).strip("-") or "unknown"


def ce_type(producer: str, event: str, schema_version: int) -> str:
    """``org.tandem.<producer>.<EventName>.v<schema_version>``."""
    return f"{TYPE_PREFIX}.{producer}.{event}.v{schema_version}"


# Parses remembered for values up to this long only: a message's attributes come
# from whoever produced it, and a cache keyed by megabyte strings is a heap to fill.
_CACHED_UP_TO = 256


def parse_ce_type(value: str) -> tuple[str, int | None]:
    """The bare event name and schema version of a ``ce_type``; the version is
    ``None`` for the legacy bare name. Raises ``MalformedMessage`` for anything
    else."""
    if len(value) <= _CACHED_UP_TO:
        return _parse_ce_type_cached(value)
    return _parse_ce_type(value)


@functools.lru_cache(maxsize=1024)  # a consumer reads a few dozen types
def _parse_ce_type_cached(value: str) -> tuple[str, int | None]:
    return _parse_ce_type(value)


def _parse_ce_type(value: str) -> tuple[str, int | None]:
    wire = _WIRE_TYPE.fullmatch(value)
    if wire:
        return wire["name"], int(wire["version"])
    if _BARE_NAME.fullmatch(value):  # legacy alias
        return value, None
    raise MalformedMessage(
        f"event type {value!r} is not {TYPE_PREFIX}.<producer>.<EventName>.v<N>"
    )


def event_name(value: str) -> str:
    """The bare event name of a ``ce_type`` in either form (``value`` if neither)."""
    try:
        return parse_ce_type(value)[0]
    except MalformedMessage:
        return value


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 (a time without a zone is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _is_json(media_type: str) -> bool:
    if len(media_type) <= _CACHED_UP_TO:
        return _is_json_cached(media_type)
    return _media_is_json(media_type)


@functools.lru_cache(maxsize=64)  # one or two media types, asked per message
def _is_json_cached(media_type: str) -> bool:
    return _media_is_json(media_type)


def _media_is_json(media_type: str) -> bool:
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence == CONTENT_TYPE or essence.endswith("+json")


# ``json.dumps(data, separators=(",", ":"), default=str)`` with one encoder (with
# options, ``json.dumps`` builds an encoder per call, and the relay sends thousands).
_VALUE_JSON = json.JSONEncoder(separators=(",", ":"), default=str).encode
_CONTENT_TYPE_PAIR = (CONTENT_TYPE_HEADER, CONTENT_TYPE.encode())
# The ``ce_`` headers of the attributes Tandem sends, by header (``from_kafka``).
_ATTRIBUTE_OF = {
    f"ce_{name}": name
    for name in (
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "tenant",
        "schemaversion",
        "streamversion",
        "subject",
        "streamtype",
        "partitionkey",
        "actor",
        "correlationid",
        "causationid",
        "traceparent",
    )
}
_SPEC_VERSION_PAIR = ("ce_specversion", SPEC_VERSION.encode())


@functools.lru_cache(maxsize=1024)  # a service publishes a few dozen event types
def _static_headers(
    source: str, event: str, schema_version: int
) -> tuple[tuple[str, bytes], ...]:
    """The ``ce_source`` and ``ce_type`` headers of a source's event type."""
    wire = ce_type(producer_of(source), event, schema_version)
    return (("ce_source", source.encode()), ("ce_type", wire.encode()))


_LAST_TIME: list[tuple[datetime, bytes]] = []  # the last moment written, and how


def _rfc3339_bytes(moment: datetime) -> bytes:
    """``rfc3339(moment).encode()``; a batch's events often share their moment."""
    last = _LAST_TIME[0] if _LAST_TIME else None
    if last is not None and last[0] == moment and last[0].tzinfo is moment.tzinfo:
        return last[1]
    written = rfc3339(moment).encode()
    _LAST_TIME[:] = [(moment, written)]
    return written


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
    def from_recorded(
        cls, event: RecordedEvent, source: str, data: JsonDict | None = None
    ) -> Envelope:
        """The envelope of a stored event; ``data``: what it carries instead of the
        event's own data (its contract's projection, say)."""
        meta = event.metadata
        return cls(
            id=str(event.id),
            source=source,
            type=event.event_type,
            subject=event.stream_id,
            time=event.time,
            data=event.data if data is None else data,
            tenant=meta.tenant,
            schema_version=event.schema_version,
            stream_type=event.stream_type,
            stream_version=event.version,
            actor=meta.actor,
            correlation_id=meta.correlation_id or str(event.id),
            causation_id=meta.causation_id,
            traceparent=meta.traceparent,
        )

    @property
    def ce_type(self) -> str:
        """The ``type`` attribute as sent: ``org.tandem.<producer>.<Event>.v<N>``."""
        return ce_type(producer_of(self.source), self.type, self.schema_version)

    def attributes(self) -> dict[str, str]:
        """CloudEvents context attributes (required, optional and extensions) except
        ``datacontenttype``, which each content mode carries in its own way."""
        attrs = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.ce_type,
            "time": rfc3339(self.time),
            "tenant": self.tenant,
            "schemaversion": str(self.schema_version),
            "streamversion": str(self.stream_version),
        }
        for name, value in (
            ("subject", self.subject),
            ("streamtype", self.stream_type),
            ("partitionkey", self.subject),
            ("actor", self.actor),
            ("correlationid", self.correlation_id),
            ("causationid", self.causation_id),
            ("traceparent", self.traceparent),
        ):
            if value:
                attrs[name] = value
        return attrs

    def to_json(self) -> JsonDict:
        """Structured-mode CloudEvent (JSON event format)."""
        return {**self.attributes(), "datacontenttype": CONTENT_TYPE, "data": self.data}

    # -- Kafka binary content mode -------------------------------------------------

    def kafka_key(self) -> bytes:
        return self.subject.encode()

    def kafka_value(self) -> bytes:
        return _VALUE_JSON(self.data).encode()

    def kafka_headers(self) -> Headers:
        """Binary mode: ``content-type`` (the ``datacontenttype``), then one
        ``ce_<name>`` header per other attribute (``attributes``, in its order: a
        test holds the two together), built without the attributes' dict: the relay
        sends thousands, and the headers of one source and type are mostly alike."""
        headers = [
            _CONTENT_TYPE_PAIR,
            _SPEC_VERSION_PAIR,
            ("ce_id", self.id.encode()),
            *_static_headers(self.source, self.type, self.schema_version),
            ("ce_time", _rfc3339_bytes(self.time)),
            ("ce_tenant", self.tenant.encode()),
            ("ce_schemaversion", str(self.schema_version).encode()),
            ("ce_streamversion", str(self.stream_version).encode()),
        ]
        for name, value in (
            ("ce_subject", self.subject),
            ("ce_streamtype", self.stream_type),
            ("ce_partitionkey", self.subject),
            ("ce_actor", self.actor),
            ("ce_correlationid", self.correlation_id),
            ("ce_causationid", self.causation_id),
            ("ce_traceparent", self.traceparent),
        ):
            if value:
                headers.append((name, value.encode()))
        return headers

    @classmethod
    def from_kafka(
        cls, headers: Sequence[tuple[str, bytes]], value: bytes | None
    ) -> Envelope:
        """Decode a CloudEvent from a Kafka message (binary mode, or structured mode
        when ``content-type`` says so); raises MalformedMessage if it is not one."""
        attrs: dict[str, str] = {}
        content_type: str | None = None
        for key, raw in headers or ():
            if raw is None:
                continue
            # A ``ce_`` header is never ``content-type``: those first, by name.
            name = _ATTRIBUTE_OF.get(key)
            if name is not None:
                attrs[name] = raw.decode("utf-8", "replace")
            elif key.startswith("ce_"):
                if key not in LEGACY_HEADERS:
                    attrs[key[3:]] = raw.decode("utf-8", "replace")
            elif key.lower() == CONTENT_TYPE_HEADER:
                content_type = raw.decode("utf-8", "replace")
        try:
            data = json.loads(value) if value else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedMessage(f"message value is not JSON: {exc}") from exc
        if content_type and content_type.lower().startswith(STRUCTURED_MEDIA_TYPE):
            if not _is_json(content_type) or not isinstance(data, dict):
                raise MalformedMessage(f"unreadable event format {content_type!r}")
            return cls.from_json(data)
        if content_type and not _is_json(content_type):
            raise MalformedMessage(f"event data of type {content_type!r}, not JSON")
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
        content_type = attrs.get("datacontenttype")
        if content_type and not _is_json(str(content_type)):
            raise MalformedMessage(f"event data of type {content_type!r}, not JSON")
        name, typed_version = parse_ce_type(str(attrs["type"]))
        try:
            schema_version = int(attrs.get("schemaversion") or typed_version or 1)
        except (ValueError, TypeError) as exc:
            raise MalformedMessage(f"bad CloudEvents attribute: {exc}") from exc
        if typed_version is not None and typed_version != schema_version:
            raise MalformedMessage(
                f"type {attrs['type']} disagrees with schemaversion {schema_version}"
            )
        try:
            return cls(
                id=str(attrs["id"]),
                source=str(attrs["source"]),
                type=name,
                subject=str(attrs.get("subject") or ""),
                time=datetime.fromisoformat(str(attrs["time"])),
                data=data,
                tenant=str(attrs["tenant"]),
                schema_version=schema_version,
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
