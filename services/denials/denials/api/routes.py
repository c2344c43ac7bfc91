"""HTTP routes of the denials service (domain routes are added by the service's own issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["denials"])
