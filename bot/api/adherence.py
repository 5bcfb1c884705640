"""``POST /api/v1/schedule-segments`` and ``POST /api/v1/agent-states``: a WFM or presence feed pushes what agents
should be doing and what they are doing. Same rules as ``rhythm import schedule``; a batch is all or nothing.

States may arrive out of order and repeated (a feed that resends): both are fine. Every accepted state batch
triggers an adherence scan, so a breach shows within seconds, not at the next minute (batches that arrive while a
scan waits to start share it). A schedule batch reaching back before today rebuilds those days' adherence KPIs
beside the response (the job revisits today, and yesterday once an hour).
"""

# No ``from __future__ import annotations``: FastAPI evaluates the endpoint's annotations at runtime.

import asyncio
import logging
from collections.abc import Coroutine
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field

from bot.api.auth import api_key_dependency, auth_first_route
from bot.api.ingest import ItemError, row_error, shape_errors, unprocessable
from bot.deps import Deps
from bot.ingest.adherence import import_schedule_days, import_states
from bot.services.adherence import scan_after_ingest
from bot.services.adherence_kpis import recompute_republished
from bot.store import audit
from bot.store.apikeys import ApiKeyInfo

log = logging.getLogger(__name__)


class SegmentIn(BaseModel):
    agent: str = Field(description="An agent's email, external id or Slack user id.")
    start: str = Field(description="ISO 8601; without an offset it is the agent's team's local time.")
    end: str = Field(description="ISO 8601, after start.")
    activity: str = Field(description="open, break, lunch, meeting, training, coaching, offline, …")


class StateIn(BaseModel):
    agent: str = Field(description="An agent's email, external id or Slack user id.")
    at: str = Field(description="When the agent entered the state (ISO 8601).")
    state: str = Field(description="available, busy, after_work, break, lunch, away, meeting, offline, …")


class Segments(BaseModel):
    segments: list[SegmentIn]


class States(BaseModel):
    states: list[StateIn]


class Accepted(BaseModel):
    received: int
    stored: int = Field(description="Segments written, or state events that were new (repeats are ignored).")


def adherence_router(deps: Deps) -> APIRouter:
    api_key = api_key_dependency(deps)
    router = APIRouter(
        route_class=auth_first_route(api_key, lambda exc: unprocessable(shape_errors(exc.errors()))),
        tags=["adherence"],
    )
    limit = deps.settings.api_max_batch
    running: set[asyncio.Task[None]] = set()
    # One rebuild at a time in this process, in arrival order: each reads the schedules as the batches before it
    # left them, so an earlier, slower rebuild can never commit last with an older schedule's figures.
    rebuilds = asyncio.Lock()

    def beside(work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` after the response, keeping a reference (the loop holds tasks weakly)."""
        task = asyncio.get_running_loop().create_task(work)
        running.add(task)
        task.add_done_callback(running.discard)

    def _too_many(n: int) -> None:
        if n > limit:
            raise unprocessable([ItemError(index=None, error=f"at most {limit} items per request; got {n}")])

    @router.post(
        "/api/v1/schedule-segments",
        response_model=Accepted,
        summary="Replace agents' schedules",
        description="Each agent's segments over the window this batch covers for them are replaced.",
        max_body_size=deps.settings.api_max_body_bytes,
    )
    async def schedule_segments(
        batch: Annotated[Segments, Body()], key: Annotated[ApiKeyInfo, Depends(api_key)]
    ) -> Accepted:
        _too_many(len(batch.segments))
        records = [(i, s.model_dump()) for i, s in enumerate(batch.segments)]
        async with deps.sessions() as session:
            count, errors, touched = await import_schedule_days(session, records, source=f"api:{key.name}")
            if errors:
                await session.rollback()
                raise unprocessable([row_error(e) for e in errors])
            audit.record(session, actor=f"api:{key.name}", action="schedule.ingest", subject="schedule", rows=count)
            await session.commit()
        beside(_recompute(deps, touched, rebuilds))  # older days' adherence KPIs, which the job no longer revisits
        return Accepted(received=len(records), stored=count)

    @router.post(
        "/api/v1/agent-states",
        response_model=Accepted,
        summary="Record agent state changes",
        max_body_size=deps.settings.api_max_body_bytes,
    )
    async def agent_states(batch: Annotated[States, Body()], key: Annotated[ApiKeyInfo, Depends(api_key)]) -> Accepted:
        _too_many(len(batch.states))
        records = [(i, s.model_dump()) for i, s in enumerate(batch.states)]
        async with deps.sessions() as session:
            new, errors = await import_states(session, records, source=f"api:{key.name}")
            if errors:
                await session.rollback()
                raise unprocessable([row_error(e) for e in errors])
            await session.commit()
        if new:  # answer the feed now; scan beside it
            beside(_scan(deps))
        return Accepted(received=len(records), stored=new)

    return router


async def _recompute(deps: Deps, touched: dict[int, set[date]], lock: asyncio.Lock) -> None:
    try:
        async with lock:
            await recompute_republished(deps, touched)
    except Exception:
        log.exception("adherence KPIs after a schedule re-publish failed")


async def _scan(deps: Deps) -> None:
    try:
        await scan_after_ingest(deps)  # one scan for batches that arrive while another runs
    except Exception:
        log.exception("adherence scan after ingest failed")
