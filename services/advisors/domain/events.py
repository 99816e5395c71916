"""The events the advisors service stores: the published ones, and stored variants
(``@registry.override``) that add personal fields, encrypted per advisor with the
chassis's crypto-shredding codec (``personal_fields``)."""

from __future__ import annotations

from chassis.events import EventRegistry
from contracts.advisors import registry as public

registry = EventRegistry()
registry.include(public)
