"""The collector's settings for a serving process (``chassis.heap``)."""

from __future__ import annotations

import gc

import pytest

from chassis.heap import YOUNG_THRESHOLD, settle_heap, tuning_on
from chassis.settings import ServiceSettings

pytestmark = pytest.mark.unit


@pytest.fixture
def collector(monkeypatch):
    monkeypatch.delenv("GC_TUNING", raising=False)  # the suite's conftest sets it
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def settings(**values: object) -> ServiceSettings:
    values.setdefault("jwt_secret", "a-real-secret-of-enough-length-0123456789")
    return ServiceSettings(service_name="s", **values)  # type: ignore[arg-type]


def test_on_when_serving_off_in_the_test_process_and_as_asked(collector, monkeypatch):
    assert tuning_on(settings(environment="production"))
    assert tuning_on(settings(environment="development"))
    assert not tuning_on(settings(environment="test"))
    assert not tuning_on(settings(environment="production", gc_tuning=False))
    assert tuning_on(settings(environment="test", gc_tuning=True))
    monkeypatch.setenv("GC_TUNING", "")  # blank is unset
    assert not tuning_on(settings(environment="test"))
    monkeypatch.setenv("GC_TUNING", "false")
    assert not tuning_on(settings(environment="production"))


def test_settling_freezes_the_startup_heap_and_widens_the_young_generation(
    collector,
):
    frozen = gc.get_freeze_count()
    assert not settle_heap(settings(environment="test"))
    assert gc.get_freeze_count() == frozen
    assert settle_heap(settings(environment="production"))
    assert gc.get_freeze_count() > frozen
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
