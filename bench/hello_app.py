"""The baseline: the smallest FastAPI endpoint, with defaults and as the gateway serves it."""

from fastapi import FastAPI

app = FastAPI()
lean_app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})


@app.get("/hello")
@lean_app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
