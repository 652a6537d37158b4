"""The map pages: the viewer at ``/`` and ``/embed/{layer}``, with static assets served locally."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

router = APIRouter()


def mount_static(app: FastAPI) -> None:
    """Mount the static assets (scripts, styles) the pages use; nothing comes from a CDN."""
