"""Events: payload models, the type registry with upcasting, and their records.

A payload model (in ``contracts/``) is a frozen pydantic model with a class-level
``event_type`` (past tense, e.g. ``PairingProposed``) and ``schema_version``. The
registry maps a type name to its current model and holds upcasters that lift a stored
older version, one step at a time, to the current one when it is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from chassis.errors import TandemError

JsonDict = dict[str, Any]
Upcaster = Callable[[JsonDict], JsonDict]


class ContractValue(BaseModel):
    """A value nested inside event payloads (a goal, a window, a rule set)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EventPayload(BaseModel):
    """Base class of every event payload model in ``contracts/``.

    ``personal_fields`` names the fields holding personal data: the owning service
    stores them encrypted with the person's key, so erasure shreds them in its event
    store. A contract publishes one only where a consumer needs it, and that consumer
    must forget it on ``PersonErased`` (``contracts/__init__.py``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    personal_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("event_type"):
            cls.event_type = cls.__name__


class UnknownEventType(TandemError):
    code = "UnknownEventType"
    status = 422
    title = "Unknown event type"


class UnsupportedSchemaVersion(TandemError):
    code = "UnsupportedSchemaVersion"
    status = 422
    title = "Event schema version cannot be read"


class EventRegistry:
    """Event type name → current payload model, plus upcasters for older versions."""

    def __init__(self) -> None:
        self._models: dict[str, type[EventPayload]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, model: type[EventPayload]) -> type[EventPayload]:
        """Register a payload model; usable as a class decorator."""
        existing = self._models.get(model.event_type)
        if existing is not None and existing is not model:
            raise ValueError(f"event type {model.event_type} registered twice")
        self._models[model.event_type] = model
        return model

    def override(self, model: type[EventPayload]) -> type[EventPayload]:
        """Register the stored variant of an event whose published model is registered.

        A service may store more than it publishes (private references); the stored
        variant subclasses the published model and replaces it in the service's own
        registry. Usable as a class decorator.
        """
        existing = self._models.get(model.event_type)
        if existing is not None and not issubclass(model, existing):
            raise ValueError(f"{model.__name__} must extend {existing.__name__}")
        self._models[model.event_type] = model
        return model

    def register_all(self, *models: type[EventPayload]) -> None:
        for model in models:
            self.register(model)

    def upcaster(
        self, event_type: str, from_version: int
    ) -> Callable[[Upcaster], Upcaster]:
        """Decorate a function lifting ``from_version`` data to the next version."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return decorate

    def include(self, other: EventRegistry) -> None:
        """Merge another registry (a consumed producer's contracts) into this one."""
        for model in other._models.values():
            self.register(model)
        self._upcasters.update(other._upcasters)

    def __contains__(self, event_type: str) -> bool:
        return event_type in self._models

    def model(self, event_type: str) -> type[EventPayload]:
        try:
            return self._models[event_type]
        except KeyError:
            raise UnknownEventType(
                f"no payload model for event type {event_type!r}"
            ) from None

    @property
    def event_types(self) -> list[str]:
        return sorted(self._models)

    def upcast(self, event_type: str, schema_version: int, data: JsonDict) -> JsonDict:
        """Lift stored ``data`` of ``schema_version`` to the model's current version."""
        target = self.model(event_type).schema_version
        if schema_version > target:
            raise UnsupportedSchemaVersion(
                f"{event_type} v{schema_version} is newer than this code (v{target})"
            )
        version = schema_version
        while version < target:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise UnsupportedSchemaVersion(
                    f"no upcaster for {event_type} from v{version} to v{version + 1}"
                )
            data = step(dict(data))
            version += 1
        return data

    def decode(
        self, event_type: str, schema_version: int, data: JsonDict
    ) -> EventPayload:
        """Validate stored or received data into the current payload model."""
        model = self.model(event_type)
        return model.model_validate(self.upcast(event_type, schema_version, data))


def encode(payload: EventPayload) -> JsonDict:
    """JSON-ready dict of a payload (datetimes ISO 8601, decimals as strings)."""
    return payload.model_dump(mode="json")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class EventMetadata:
    """Who and what caused an event; travels with it to every consumer."""

    tenant: str
    actor: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None

    def as_dict(self) -> JsonDict:
        return {
            "tenant": self.tenant,
            "actor": self.actor,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "traceparent": self.traceparent,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventMetadata:
        return cls(
            tenant=str(data["tenant"]),
            actor=data.get("actor"),
            correlation_id=data.get("correlation_id"),
            causation_id=data.get("causation_id"),
            traceparent=data.get("traceparent"),
        )


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended to a stream."""

    event_type: str
    data: JsonDict
    schema_version: int = 1
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    time: datetime = field(default_factory=utcnow)

    @classmethod
    def of(cls, payload: EventPayload, *, time: datetime | None = None) -> NewEvent:
        return cls(
            event_type=payload.event_type,
            data=encode(payload),
            schema_version=payload.schema_version,
            time=time or utcnow(),
        )


@dataclass(frozen=True, order=True)
class LogPosition:
    """A place in the global log: (writing transaction, insertion sequence).

    The log is ordered by this pair, not by the sequence alone: PostgreSQL commits
    concurrent transactions out of sequence order, and only transactions older than
    every one still running are read, so nothing that commits late is ever passed.
    """

    transaction: int
    sequence: int

    START: ClassVar[LogPosition]

    def __str__(self) -> str:
        return f"{self.transaction}:{self.sequence}"

    @classmethod
    def parse(cls, text: str) -> LogPosition:
        tx, _, seq = text.partition(":")
        return cls(int(tx), int(seq))


LogPosition.START = LogPosition(0, 0)


@dataclass(frozen=True)
class RecordedEvent:
    """An event as the store holds it."""

    id: uuid.UUID
    stream_id: str
    stream_type: str
    version: int
    event_type: str
    schema_version: int
    data: JsonDict
    metadata: EventMetadata
    time: datetime
    position: LogPosition

    @property
    def tenant(self) -> str:
        return self.metadata.tenant
