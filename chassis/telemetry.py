"""OpenTelemetry for every Tandem process: providers, helpers, and the HTTP server span.

Configuration follows the standard ``OTEL_*`` variables: ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` override the names passed in code,
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the per-signal ``…_TRACES_ENDPOINT`` /
``…_METRICS_ENDPOINT``) turns on OTLP/HTTP export, ``OTEL_SDK_DISABLED=true`` turns
everything off. Tests pass an in-memory exporter or reader instead.

Why the design looks the way it does: OpenTelemetry allows the global tracer and meter
providers to be set **once** per process. ``setup_telemetry`` therefore installs one
SDK provider of each kind the first time (the first call also fixes the resource) and
on every call *adds* its span processor and metric reader to them. Span processors go
through one fan-out processor owned by this module, because the SDK can add processors
but not remove them; metric readers use the SDK's ``add/remove_metric_reader``. The
returned :class:`TelemetryHandle` flushes and removes exactly what its call added, so a
test can set up capture, assert, and leave the process as it found it.

Which service a span belongs to: in a deployment each process has its own resource
(``service.name``, ``service.version``), set by :func:`configure_process`, which the
HTTP app factory calls. Tests and the embedded launcher run several services in one
process, where the resource is necessarily shared, so every span also carries a
``tandem.service`` attribute: set where work enters a service (the server span, the
relay's PRODUCER span, a consumer's CONSUMER span), inherited by local child spans, and
otherwise the process's own service name. In a real process it always equals
``service.name``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context, metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.redaction import span_attributes

logger = logging.getLogger("chassis.telemetry")
_TRACE_CONTEXT = TraceContextTextMapPropagator()


class _FanOutSpanProcessor(SpanProcessor):
    """Forwards to a changeable set of processors (the SDK cannot remove one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._children: tuple[SpanProcessor, ...] = ()

    def add(self, processor: SpanProcessor) -> None:
        with self._lock:
            self._children += (processor,)

    def remove(self, processor: SpanProcessor) -> None:
        with self._lock:
            self._children = tuple(p for p in self._children if p is not processor)

    def active(self) -> bool:
        """Whether any processor is attached (a span started now reaches one)."""
        return bool(self._children)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for child in self._children:
            child.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for child in self._children:
            child.on_end(span)

    def shutdown(self) -> None:
        for child in self._children:
            child.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return all(child.force_flush(timeout_millis) for child in self._children)


SERVICE_ATTRIBUTE = "tandem.service"
"""Span attribute naming the Tandem service that did the work (see the module doc)."""


def _service_from_messaging(
    kind: SpanKind | None, attributes: Attributes
) -> str | None:
    # The conventions of chassis.runtime: topic ``tandem.<producer>.v1``, consumer
    # group ``tandem.<consumer>``.
    attributes = attributes or {}
    if kind is SpanKind.PRODUCER:
        topic = attributes.get("messaging.destination.name")
        parts = topic.split(".") if isinstance(topic, str) else []
        if len(parts) == 3 and parts[0] == "tandem":
            return parts[1]
    if kind is SpanKind.CONSUMER:
        group = attributes.get("messaging.consumer.group.name")
        if isinstance(group, str) and group.startswith("tandem."):
            return group.removeprefix("tandem.")
    return None


class _ServiceAttribution(SpanProcessor):
    """Sets ``tandem.service`` on every span that starts without one."""

    def __init__(self, default: str) -> None:
        self.default = default

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        attributes = span.attributes or {}
        if SERVICE_ATTRIBUTE in attributes:
            return
        parent = trace.get_current_span(parent_context)
        inherited = getattr(parent, "attributes", None) or {}
        service = inherited.get(SERVICE_ATTRIBUTE)
        if not isinstance(service, str):
            service = _service_from_messaging(span.kind, attributes) or self.default
        span.set_attribute(SERVICE_ATTRIBUTE, service)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


# Process-wide by nature: OpenTelemetry's own providers are process globals.
_install_lock = threading.Lock()
_fan_out: _FanOutSpanProcessor | None = None
# The tracer provider this module installed (None: none, or someone else's).
_own_provider: TracerProvider | None = None
_meter_provider: MeterProvider | None = None
# The meter provider this module installed (None: none, or someone else's), and how
# many metric readers ``setup_telemetry`` calls attached to it.
_own_meter_provider: MeterProvider | None = None
_readers_attached = 0
_process_lock = threading.Lock()
_process_handle: TelemetryHandle | None = None


@dataclass
class TelemetryHandle:
    """What one ``setup_telemetry`` call added; ``shutdown`` flushes and removes it."""

    service_name: str
    enabled: bool
    span_processors: list[SpanProcessor] = field(default_factory=list)
    metric_readers: list[MetricReader] = field(default_factory=list)

    def force_flush(self) -> None:
        """Export everything buffered so far (spans and metrics)."""
        for processor in self.span_processors:
            processor.force_flush()
        for reader in self.metric_readers:
            reader.collect()

    def shutdown(self) -> None:
        """Flush, then detach this call's processors and readers (idempotent)."""
        for processor in self.span_processors:
            processor.force_flush()
            if _fan_out is not None:
                _fan_out.remove(processor)
            processor.shutdown()
        self.span_processors.clear()
        global _readers_attached
        for reader in self.metric_readers:
            with _install_lock:
                _readers_attached -= 1
            if _meter_provider is not None and hasattr(
                _meter_provider, "remove_metric_reader"
            ):
                _meter_provider.remove_metric_reader(reader)  # also shuts it down
            else:
                reader.shutdown()
        self.metric_readers.clear()


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def _otlp_configured(signal: str) -> bool:
    if os.environ.get(f"OTEL_{signal}_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    )


def _resource(service_name: str, service_version: str) -> Resource:
    # Resource.create lets code win over OTEL_* variables; operators expect the
    # opposite, so the environment is merged on top.
    coded = Resource.create(
        {"service.name": service_name, "service.version": service_version}
    )
    return coded.merge(OTELResourceDetector().detect())


def _install_providers(
    resource: Resource,
) -> tuple[_FanOutSpanProcessor, MeterProvider]:
    global _fan_out, _meter_provider, _own_provider, _own_meter_provider
    with _install_lock:
        if _fan_out is None:
            _fan_out = _FanOutSpanProcessor()
            current = trace.get_tracer_provider()
            if not isinstance(current, TracerProvider):
                current = TracerProvider(resource=resource)
                trace.set_tracer_provider(current)
                _own_provider = current
            # else someone (e.g. opentelemetry-instrument) installed an SDK provider
            # first: share it rather than fight over the global.
            name = current.resource.attributes.get("service.name")
            # Attribution first, so exporters see the attribute on every span.
            current.add_span_processor(_ServiceAttribution(str(name or "unknown")))
            current.add_span_processor(_fan_out)
        if _meter_provider is None:
            current_meters = metrics.get_meter_provider()
            if isinstance(current_meters, MeterProvider):
                _meter_provider = current_meters
            else:
                _meter_provider = MeterProvider(resource=resource)
                metrics.set_meter_provider(_meter_provider)
                _own_meter_provider = _meter_provider
        return _fan_out, _meter_provider


def setup_telemetry(
    service_name: str,
    service_version: str = "0.1.0",
    *,
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
) -> TelemetryHandle:
    """Install tracing and metrics for this process; safe to call more than once.

    ``span_exporter`` (e.g. ``InMemorySpanExporter``) is attached with a synchronous
    processor so tests see spans as soon as they end; without one, OTLP/HTTP export is
    used when an endpoint is configured, otherwise spans are created but not exported.
    ``metric_reader`` (e.g. ``InMemoryMetricReader``) plays the same role for metrics.
    """
    global _readers_attached
    if _env_true("OTEL_SDK_DISABLED"):
        return TelemetryHandle(service_name=service_name, enabled=False)
    fan_out, meter_provider = _install_providers(
        _resource(service_name, service_version)
    )
    handle = TelemetryHandle(service_name=service_name, enabled=True)

    processor: SpanProcessor | None = None
    if span_exporter is not None:
        processor = SimpleSpanProcessor(span_exporter)
    elif _otlp_configured("TRACES"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        processor = BatchSpanProcessor(OTLPSpanExporter())
    if processor is not None:
        fan_out.add(processor)
        handle.span_processors.append(processor)

    reader = metric_reader
    if reader is None and _otlp_configured("METRICS"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter,
        )

        reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    if reader is not None:
        if hasattr(meter_provider, "add_metric_reader"):
            meter_provider.add_metric_reader(reader)
            handle.metric_readers.append(reader)
            with _install_lock:
                _readers_attached += 1
        else:  # opentelemetry-sdk older than add_metric_reader
            logger.warning("this OpenTelemetry SDK cannot add metric readers later")
    return handle


def configure_process(
    service_name: str, service_version: str = "0.1.0"
) -> TelemetryHandle:
    """Telemetry for a service's own process: resource, and OTLP export if configured.

    Called by the HTTP app factory, so ``uvicorn --factory services.<name>.main:
    build_app`` exports with ``service.name`` and ``service.version`` set. Only the
    first call in a process does anything (several apps in one process - tests, the
    embedded launcher - share that first call's resource and exporters).
    """
    global _process_handle
    with _process_lock:
        if _process_handle is None:
            _process_handle = setup_telemetry(service_name, service_version)
        return _process_handle


def tracer(name: str) -> trace.Tracer:
    """A tracer from the global provider (name it after the module)."""
    return trace.get_tracer(name)


def meter(name: str) -> metrics.Meter:
    """A meter from the global provider (name it after the module)."""
    return metrics.get_meter(name)


def spans_recorded() -> bool:
    """False when a span started now would reach nobody: no SDK tracer provider, or
    only the one this module installed with nothing added to it (no exporter
    configured, no test capturing). Hot paths (the relay's and the consumers' span
    per event, the event store's per append) then build none: an unexported span
    costs 100-300 µs of CPU for nothing. Someone else's provider (say
    ``opentelemetry-instrument``'s) always records."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return False
    if provider is not _own_provider or _fan_out is None:
        return True
    return _fan_out.active()


def metrics_recorded() -> bool:
    """False when a measurement taken now would reach no reader: no SDK meter
    provider, or only the one this module installed with no reader attached. The
    HTTP duration histogram is then not fed (one ``record`` costs tens of µs of CPU
    even with no reader). Someone else's provider always records."""
    provider = metrics.get_meter_provider()
    if not isinstance(provider, MeterProvider):
        return False
    if provider is not _own_meter_provider:
        return True
    return _readers_attached > 0


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None outside any span.

    Events carry it so a consumer's span joins the producer's trace.
    """
    carrier: dict[str, str] = {}
    _TRACE_CONTEXT.inject(carrier)
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> Context:
    """An OpenTelemetry context whose parent is ``traceparent`` (empty when None)."""
    if not traceparent:
        return Context()
    return _TRACE_CONTEXT.extract({"traceparent": traceparent}, context=Context())


def _route_of(scope: Scope) -> str | None:
    route = scope.get("route")
    if route is None:
        return None
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path == "":
        # A router included under a prefix whose own path is "" (Strawberry's
        # GraphQLRouter at /graphql): FastAPI keeps the original route, so its template
        # is empty, and the request path is the (parameterless) template.
        path = scope.get("path")
    return path if isinstance(path, str) else None


class ServerSpanMiddleware:
    """Pure ASGI middleware: one SERVER span per HTTP request, named "METHOD route".

    The incoming ``traceparent`` becomes the parent, so a trace started by the gateway
    continues here. The route template is only known after routing, so the span is
    renamed on the way out. Probe paths are skipped: they would drown real traffic.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        excluded_paths: Sequence[str] = ("/healthz", "/readyz"),
        service_name: str | None = None,
    ) -> None:
        self.app = app
        self.excluded_paths = frozenset(excluded_paths)
        self.service_name = service_name
        self._duration = meter("chassis.http").create_histogram(
            "http.server.request.duration",
            unit="s",
            description="Duration of HTTP server requests",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.excluded_paths:
            await self.app(scope, receive, send)
            return
        if spans_recorded():
            await self._traced(scope, receive, send)
            return
        # No span would reach anyone (``spans_recorded``): none is built. The caller's
        # trace context is still made current, so what this request publishes carries
        # the trace on; the duration is measured while a metric reader would see it.
        status = _Status(send)
        carrier = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope.get("headers", ())
            if key in _PROPAGATED
        }
        token = context.attach(propagate.extract(carrier)) if carrier else None
        started = time.perf_counter()
        try:
            await self.app(scope, receive, status.send)
        finally:
            if token is not None:
                context.detach(token)
            if metrics_recorded():
                attributes: dict[str, str | int] = {
                    "http.request.method": scope["method"]
                }
                route = _route_of(scope)
                if route:
                    attributes["http.route"] = route
                if status.code is not None:
                    attributes["http.response.status_code"] = status.code
                self._duration.record(
                    time.perf_counter() - started, attributes=attributes
                )

    async def _traced(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        headers = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope.get("headers", ())
        }
        attributes: dict[str, str | int] = {
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
            "network.protocol.version": scope.get("http_version", "1.1"),
        }
        if scope.get("server"):
            host, port = scope["server"][0], scope["server"][1]
            attributes["server.address"] = host
            if port is not None:
                attributes["server.port"] = port
        request_id = scope.get("state", {}).get("request_id")
        if request_id:
            attributes["tandem.request_id"] = request_id
        if self.service_name:
            attributes[SERVICE_ATTRIBUTE] = self.service_name
        status = _Status(send)
        started = time.perf_counter()
        with described_span(
            tracer("chassis.http"),
            method,
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes=attributes,
        ) as span:
            try:
                await self.app(scope, receive, status.send)
            finally:
                route = _route_of(scope)
                metric_attributes: dict[str, str | int] = {
                    "http.request.method": method
                }
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                    metric_attributes["http.route"] = route
                status_code = status.code
                if status_code is not None:
                    span.set_attribute("http.response.status_code", status_code)
                    metric_attributes["http.response.status_code"] = status_code
                    # Semantic conventions: only 5xx is a server span error.
                    if status_code >= 500:
                        span.set_status(StatusCode.ERROR)
                if metrics_recorded():
                    self._duration.record(
                        time.perf_counter() - started, attributes=metric_attributes
                    )


@contextmanager
def described_span(
    tracer: trace.Tracer, name: str, **options: Any
) -> Iterator[trace.Span]:
    """``tracer.start_as_current_span(name, **options)``, an exception leaving it
    recorded as ``described`` (``chassis.redaction``: without the values it was
    raised for) rather than as the SDK records it (the exception's text as it is),
    then raised on. Every span the chassis starts is started here."""
    with tracer.start_as_current_span(
        name, record_exception=False, set_status_on_exception=False, **options
    ) as span:
        try:
            yield span
        except Exception as exc:
            span.record_exception(exc, attributes=span_attributes(exc))
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


# The headers a trace context travels in (W3C trace context and baggage, and B3 or
# Jaeger's should OTEL_PROPAGATORS name them).
_PROPAGATED = frozenset(
    name.encode("latin-1")
    for name in (
        "traceparent",
        "tracestate",
        "baggage",
        "b3",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-b3-sampled",
        "x-b3-flags",
        "x-b3-parentspanid",
        "uber-trace-id",
    )
)


class _Status:
    """Wraps ``send`` and keeps the response's status code."""

    __slots__ = ("_send", "code")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.code: int | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.code = message["status"]
        await self._send(message)


# -- lag instruments ------------------------------------------------------------------
# Created on the global (proxy) meter at import, like the messaging instruments: they
# bind to the SDK provider whenever ``setup_telemetry`` installs it.
_lag_meter = metrics.get_meter("tandem.lag")

projection_lag_ms = _lag_meter.create_histogram(
    "tandem.projection.lag",
    unit="ms",
    description="Event time → read model updated (the effect committed)",
)
"""Record one applied event's projection lag, attribute ``consumer``."""

consumer_offset_lag = _lag_meter.create_gauge(
    "tandem.consumer.offset_lag",
    unit="{message}",
    description="Messages between a consumer group's position and the partitions' "
    "high watermarks, summed over its assigned partitions",
)
"""Set a consumer's sampled offset lag, attribute ``consumer``."""
