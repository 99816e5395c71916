"""The demo organisation ``./tandem up`` seeds into a fresh embedded platform."""

from launcher.demo.api import SeedFailed
from launcher.demo.facts import DemoFacts, DemoUser, load_facts
from launcher.demo.seed import STEPS, seed_demo

__all__ = ["STEPS", "DemoFacts", "DemoUser", "SeedFailed", "load_facts", "seed_demo"]
