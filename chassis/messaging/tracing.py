"""Trace context across the log and the broker.

The request that appended an event stored its W3C ``traceparent`` with it. The relay's
PRODUCER span is a child of that context and is injected into the message headers; the
consumer's CONSUMER span is extracted from them. One trace therefore runs from the HTTP
request through the append, the publish and every consumer's effect.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from chassis.envelope import Envelope, Headers
from chassis.messaging.transport import InboundMessage
from chassis.telemetry import described_span, spans_recorded

tracer = trace.get_tracer("tandem.messaging")


def _context_from_traceparent(traceparent: str | None) -> Context | None:
    if not traceparent:
        return None
    return propagate.extract({"traceparent": traceparent})


@contextmanager
def publish_span(
    envelope: Envelope, topic: str, *, recorded: bool | None = None
) -> Iterator[tuple[Span, Headers]]:
    """A PRODUCER span for one event, and the headers that carry it on.

    While no span is recorded (``spans_recorded``; ``recorded``: the caller asked
    once for a whole batch), none is built: the headers carry the event's own
    ``traceparent`` on, so the trace still continues downstream."""
    if not (spans_recorded() if recorded is None else recorded):
        carried = envelope.traceparent
        yield trace.INVALID_SPAN, [("traceparent", carried.encode())] if carried else []
        return
    parent = _context_from_traceparent(envelope.traceparent)
    with described_span(
        tracer,
        f"publish {envelope.type}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": topic,
            "messaging.message.id": envelope.id,
            "tandem.tenant": envelope.tenant,
        },
    ) as span:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield span, [(k, v.encode()) for k, v in carrier.items()]


@contextmanager
def consume_span(
    message: InboundMessage,
    envelope: Envelope,
    consumer: str,
    *,
    recorded: bool | None = None,
) -> Iterator[Span]:
    """A CONSUMER span continuing the trace carried in the message headers (none
    while no span is recorded, ``spans_recorded``; ``recorded``: the caller asked
    once for a whole batch)."""
    if not (spans_recorded() if recorded is None else recorded):
        yield trace.INVALID_SPAN
        return
    carrier = {
        k: v.decode() for k, v in message.headers if k in ("traceparent", "tracestate")
    }
    parent = (
        propagate.extract(carrier)
        if carrier
        else _context_from_traceparent(envelope.traceparent)
    )
    with described_span(
        tracer,
        f"consume {envelope.type}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": message.topic,
            "messaging.consumer.group.name": consumer,
            "messaging.message.id": envelope.id,
            "messaging.kafka.offset": message.offset,
            "tandem.tenant": envelope.tenant,
        },
    ) as span:
        yield span
