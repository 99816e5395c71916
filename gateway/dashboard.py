"""The reference programme dashboard (``portal/``), served at ``/dashboard``."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.settings import GatewaySettings


def mount_dashboard(app: FastAPI, settings: GatewaySettings) -> None:
    """Serve the built dashboard, when there is one (to be implemented)."""
