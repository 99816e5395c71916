"""The cycle collector's settings for a serving process.

Python's collector runs a young-generation pass every 700 net allocations and,
every so often, a full pass over every tracked object. A serving process holds a
large, long-lived heap built at startup (FastAPI's routes, pydantic validators,
the GraphQL schema, SQLAlchemy's metadata) that every full pass walks again, and a
request allocates thousands of short-lived objects: in the gateway, answering a
dashboard spent about a third of its CPU time in the collector.

:func:`settle_heap` runs once the process has started (the application's
lifespan, ``chassis.http.app``):

* one full collection of what starting up left behind, then ``gc.freeze()``: the
  objects alive now (the long-lived heap) are left out of every later pass. They
  are still freed by reference counting; only a reference cycle among them would
  outlive the process, and the startup heap lives as long as the process anyway;
* a young generation of ``YOUNG_THRESHOLD`` allocations instead of 700, so a
  request's short-lived objects are mostly freed by reference counting before any
  pass looks at them.

It is on unless ``GC_TUNING`` says otherwise; by default it is off when
``ENVIRONMENT=test``, where one process builds hundreds of applications and a
frozen heap would keep each one's cycles for good.
"""

from __future__ import annotations

import gc

from chassis.settings import ServiceSettings

YOUNG_THRESHOLD = 50_000


def tuning_on(settings: ServiceSettings) -> bool:
    """Whether ``settings`` ask for the tuning (see the module docstring)."""
    if settings.gc_tuning is not None:
        return settings.gc_tuning
    return settings.environment != "test"


def settle() -> None:
    """Collect once, freeze what is alive, widen the young generation (see the
    module docstring). Calling it again (several apps in one process) freezes what
    the later ones built."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def settle_heap(settings: ServiceSettings) -> bool:
    """:func:`settle` when ``settings`` ask for it; ``True`` when it did."""
    if not tuning_on(settings):
        return False
    settle()
    return True
