"""Integration events of the advisors service (topic ``tandem.advisors.v1``).

External advisors are people too: their names, emails, organisations and biographies
never travel here; advisors appear by their pseudonymous advisor id and the expertise
matching needs. One module per part; this package's ``registry`` holds them all.
"""

from __future__ import annotations

from chassis.events import EventRegistry
from contracts.advisors import lifecycle

registry = EventRegistry()
registry.include(lifecycle.registry)

for _name in ("agreements", "councils"):
    try:
        _module = __import__(f"contracts.advisors.{_name}", fromlist=["registry"])
    except ModuleNotFoundError:
        continue
    registry.include(_module.registry)
