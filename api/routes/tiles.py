"""Vector tiles, TileJSON and the MapLibre style."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
