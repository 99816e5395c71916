"""SCIM 2.0 provisioning (RFC 7643/7644): built in services/profiles/scim.py."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/scim/v2", tags=["scim"])
