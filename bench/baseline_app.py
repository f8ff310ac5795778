"""The minimal baselines the gateway's creation and read are compared with: plain FastAPI + Redis.

``POST /prompts`` validates the same body as the gateway (the same pydantic model), then writes
what a creation writes with one script: the record's hash, two index entries (the caller's and
the status's) and one stream entry (the first job). ``GET /prompts/{id}`` reads the hash back.
No authentication, no idempotency, no outbox, no limits: the smallest honest endpoint, served the
same way (one uvicorn process, native telemetry off), so the gateway's figure is a ratio.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Response
from redis.asyncio import Redis

from ai_gateway.api.schemas.prompts import CreatePromptBody

WRITE = """
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', 1, 's', 'CREATED')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
redis.call('XADD', KEYS[4], '*', 'prompt_id', ARGV[3], 'step', 'prepare')
"""


@asynccontextmanager
async def _redis(app: FastAPI) -> AsyncIterator[None]:
    app.state.redis = Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    app.state.write = app.state.redis.register_script(WRITE)
    yield
    await app.state.redis.aclose()


app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False}, lifespan=_redis)


@app.post("/prompts", status_code=201)
async def create(body: CreatePromptBody, response: Response) -> dict[str, str]:
    prompt_id = uuid.uuid4().hex
    record = body.model_dump_json()
    keys = [f"b:p:{prompt_id}", "b:i:owner:bench", "b:i:status:CREATED", "b:jobs"]
    await app.state.write(keys=keys, args=[record, time.time(), prompt_id])
    response.headers["Location"] = f"/prompts/{prompt_id}"
    return {"id": prompt_id, "status": "CREATED"}


@app.get("/prompts/{prompt_id}")
async def read(prompt_id: str) -> dict[str, str]:
    record = await app.state.redis.hget(f"b:p:{prompt_id}", "d")
    if record is None:
        raise HTTPException(404)
    return {"id": prompt_id, "record": record}
