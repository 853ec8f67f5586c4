"""`GET /api/status`: the model the header shows and how people sign in."""

import httpx
import pytest

from data_science.config import Settings


async def test_without_a_key_the_offline_model_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/status")
    assert response.status_code == 200
    assert response.json() == {"model": {"name": "offline", "kind": "offline"}, "auth_mode": "none"}


async def test_a_hosted_model_is_named_and_no_key_is_shown(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data_science.server.app import create_app

    monkeypatch.setattr(settings, "OPENAI_API_KEY", "sk-status-test-key")
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        body = (await http.get("/api/status")).json()
    assert body["model"] == {"name": "openai/gpt-4o", "kind": "hosted"}
    assert "sk-status-test-key" not in str(body)
