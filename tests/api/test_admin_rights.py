"""``admin`` reads every caller's prompts and acts on none but its own, with an API key or a JWT."""

from __future__ import annotations

import httpx
import pytest
from redis.asyncio import Redis

from tests.api.conftest import MOSAIC_KEY, OPS_KEY, assert_problem
from tests.api.internal_helpers import submitted_prompt
from tests.idp_server import IdpServer

pytestmark = pytest.mark.integration

OWNER = {"X-API-Key": MOSAIC_KEY}


@pytest.mark.parametrize("admin", ["key", "jwt"])
async def test_admin_reads_other_callers_prompts_but_cannot_cancel_or_redeliver_them(
    ops_client: httpx.AsyncClient, redis_client: Redis, key_prefix: str, idp: IdpServer, admin: str
) -> None:
    headers = (
        {"X-API-Key": OPS_KEY}
        if admin == "key"
        else {"Authorization": f"Bearer {idp.token(scope='api admin')}"}
    )
    prompt_id = await submitted_prompt(
        ops_client, redis_client, key_prefix, callback_url="https://mosaic.example/cb"
    )

    read = await ops_client.get(f"/api/prompts/{prompt_id}", headers=headers)
    listed = await ops_client.get("/api/prompts", headers=headers)
    cancel = await ops_client.post(f"/api/prompts/{prompt_id}/cancel", headers=headers)
    redeliver = await ops_client.post(
        f"/api/prompts/{prompt_id}/callback/redeliver", headers=headers
    )
    still = await ops_client.get(f"/api/prompts/{prompt_id}", headers=OWNER)
    own = await ops_client.post("/api/prompts", json={"content": "x"}, headers=headers)
    own_cancel = await ops_client.post(f"{own.headers['location']}/cancel", headers=headers)
    by_owner = await ops_client.post(f"/api/prompts/{prompt_id}/cancel", headers=OWNER)

    assert read.status_code == 200
    assert prompt_id in [p["id"] for p in listed.json()["items"]]
    assert "admin scope only reads" in assert_problem(cancel, 403, "forbidden")["detail"]
    assert_problem(redeliver, 403, "forbidden")
    assert still.json()["status"] == "submitted"
    assert own_cancel.json()["status"] == "cancelled"
    assert by_owner.json()["status"] == "cancelled"
