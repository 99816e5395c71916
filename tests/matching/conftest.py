"""Matching tests may run the profiles service as the producer of their input."""

from tests.profiles.conftest import app, client  # noqa: F401  (fixtures)
