"""Grids, micro-grids and communities under /v1 (grid at a point, block data, planner edits)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
