"""`GET /api/status`: which model answers and how people sign in, for the chat page's header."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from data_science.config import Settings
from data_science.llm.selection import model_name
from data_science.offline.model import OFFLINE_MODEL_NAME

router = APIRouter()


@router.get("/api/status")
async def status(request: Request) -> dict[str, Any]:
    """`{"model": {"name", "kind": "offline"|"hosted"}, "auth_mode"}` (no secrets, no user data)."""
    settings: Settings = request.app.state.settings
    name = model_name(settings)
    return {
        "model": {"name": name, "kind": "offline" if name == OFFLINE_MODEL_NAME else "hosted"},
        "auth_mode": str(getattr(settings, "AUTH_MODE", "none")),
    }
