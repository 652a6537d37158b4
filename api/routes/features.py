"""OGC API - Features: /collections and their items."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
