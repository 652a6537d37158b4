"""Person-level data under /v1: officer scope only, every read written to the audit log."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
