"""Fixtures the chassis tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chassis.telemetry import setup_telemetry


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Every span this process finishes during the test, as it finishes it."""
    spans = InMemorySpanExporter()
    handle = setup_telemetry("chassis-test", span_exporter=spans)
    yield spans
    handle.shutdown()
