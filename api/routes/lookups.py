"""Address and register lookups under /v1 (parse, resolve, reverse, buildings, rooms, search)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
