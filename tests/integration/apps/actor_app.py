"""The smallest app hosting the PushPopActor, as a user would write it.

Run by the devstack launcher: it listens on ``APP_PORT``; the Dapr SDK finds its sidecar through
``DAPR_HTTP_PORT``/``DAPR_HTTP_ENDPOINT``; with ``APP_API_TOKEN`` set the actor routes accept only
the sidecar.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI
from push_pop_actor import register_actor

app = FastAPI(title="push-pop actor app")
register_actor(app)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "instance": os.environ.get("APP_INSTANCE", "")}


def main() -> None:
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["APP_PORT"]), log_level="warning")


if __name__ == "__main__":
    main()
