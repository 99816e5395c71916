"""The events the matching service stores: its published contract, as is."""

from contracts.matching import registry

__all__ = ["registry"]
