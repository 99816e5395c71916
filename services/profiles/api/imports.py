"""Bulk import of people from an HRIS: built in services/profiles/imports.py."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/imports", tags=["imports"])
