"""Integration events of the advisors service (topic ``tandem.advisors.v1``).

External advisors are people too: their names, emails, organisations and biographies
never travel here; advisors appear by their pseudonymous advisor id and the expertise
matching needs. One module per part; this package's ``registry`` holds them all.
"""

from __future__ import annotations

from chassis.events import EventRegistry
from contracts.advisors import agreements, councils, lifecycle

registry = EventRegistry()
for _module in (lifecycle, agreements, councils):
    registry.include(_module.registry)
