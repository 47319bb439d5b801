"""Run by tests/api/test_apex_dispatcher_platform.py in a venv of the APEx dispatcher's own
requirements, with its ``app`` package (copied from its repository) first on ``sys.path``:
drives its ``OGCAPIProcessPlatform`` against the platforms given on stdin, as its routers do
(parameters, execute, status until final, results), and prints what it got as JSON.

The one thing replaced is its Keycloak token exchange (``exchange_token``), by a pass-through:
the "user token" it is given is already an API token of the server under test. Nothing of
the dispatcher's files is changed; this file imports none of the server's code."""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def pass_through(user_token: str, url: str) -> str:
    """In place of app.auth.exchange_token: the platform token is the one given."""
    return user_token


async def run(targets: list[dict]) -> list[dict]:
    """Each target's parameters and job, the jobs started first so that they run together."""
    from app.platforms.implementations import ogc_api_process
    from app.schemas.enum import OutputFormatEnum, ProcessingStatusEnum
    from app.schemas.unit_job import ServiceDetails

    ogc_api_process.exchange_token = pass_through
    platform = ogc_api_process.OGCAPIProcessPlatform()
    runs = []
    for target in targets:
        details = ServiceDetails(**target["service"])
        token = target["token"]
        parameters = await platform.get_service_parameters(token, details)
        job_id = await platform.execute_job(
            token, "a test job", details, target["parameters"], OutputFormatEnum.JSON
        )
        runs.append((details, token, parameters, job_id))
    final = (ProcessingStatusEnum.FINISHED, ProcessingStatusEnum.FAILED,
             ProcessingStatusEnum.CANCELED, ProcessingStatusEnum.UNKNOWN)  # fmt: skip
    out = []
    for details, token, parameters, job_id in runs:
        statuses = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = await platform.get_job_status(token, job_id, details)
            if not statuses or statuses[-1] != status.value:
                statuses.append(status.value)
            if status in final:
                break
            await asyncio.sleep(0.2)
        collection = await platform.get_job_results(token, job_id, details)
        out.append({
            "parameters": [p.model_dump(mode="json") for p in parameters],
            "job_id": job_id,
            "statuses": statuses,
            "collection": collection.model_dump(mode="json", by_alias=True, exclude_none=True),
        })  # fmt: skip
    return out


async def main() -> None:
    targets = json.load(sys.stdin)
    print(json.dumps(await run(targets)))


if __name__ == "__main__":
    asyncio.run(main())
