"""``POST /api/v1/kpi-samples``: WFM and helpdesk systems push KPI figures with a bearer API key.

Each item is a row of ``rhythm import kpis`` and goes through the same validation and upsert
(:func:`bot.ingest.kpis.import_kpis`), so the API and a CSV file accept exactly the same rows. A batch is
all or nothing: any bad item gives 422 with every bad item's index and reason, and writes nothing. Sending
the same batch again changes nothing (an upsert on metric, subject, period and source).

Order of checks: a declared Content-Length over the limit is 413 at once; then the key (401), before the body is
read, so an unauthenticated caller cannot make us read or parse anything; then the body, capped while it streams
in (413) and only then parsed; then shape, batch size and rows (422).
"""

# No ``from __future__ import annotations`` here: FastAPI evaluates the endpoint's annotations at runtime, and
# ``Depends(api_key)`` names a function local to ingest_router, which a string annotation could not see.

import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, status
from pydantic import BaseModel, Field, field_validator

from bot.api.auth import api_key_dependency, auth_first_route
from bot.deps import Deps
from bot.ingest.kpis import import_kpis
from bot.ingest.records import RowError
from bot.store import audit
from bot.store.apikeys import ApiKeyInfo

PATH = "/api/v1/kpi-samples"
DEFAULT_SOURCE = "api"  # the upsert key's source for items that name none (CSV imports default to "import")


class Sample(BaseModel):
    """One figure: the fields of a ``rhythm import kpis`` row, checked by the same rules."""

    metric: str = Field(description="Metric key, e.g. `csat`, `aht`, `sla`.")
    subject: str = Field(description="An agent's email, external id or Slack user id, or `team:KEY`.")
    date: str | None = Field(None, description="The team's local day, `YYYY-MM-DD`. Give this, or start and end.")
    start: str | None = Field(None, description="ISO 8601; without an offset it is the team's local time.")
    end: str | None = Field(None, description="ISO 8601, after start.")
    value: float | None = Field(None, description="The figure in display units (CSAT 86.5), weight 1.")
    numerator: float | None = Field(None, description="Instead of value: e.g. satisfied ratings.")
    denominator: float | None = Field(None, description="e.g. all ratings; required and positive for rates.")
    source: str | None = Field(
        None, description=f"Part of the upsert key (≤ 64 characters); `{DEFAULT_SOURCE}` if absent."
    )

    @field_validator("subject", mode="before")
    @classmethod
    def _numeric_id(cls, v: object) -> object:
        # A CSV or JSON-lines file may carry a numeric external id (Zendesk user ids are integers).
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("value", "numerator", "denominator", mode="before")
    @classmethod
    def _not_boolean(cls, v: object) -> object:
        if isinstance(v, bool):  # pydantic would read true as 1.0; a file's "true" is not a number either
            raise ValueError("must be a number, not true or false")
        return v


class SampleBatch(BaseModel):
    samples: list[Sample]


class IngestResult(BaseModel):
    received: int = Field(description="Items in the request.")
    upserted: int = Field(description="Samples inserted or updated (all of them: a batch is all or nothing).")


class ItemError(BaseModel):
    index: int | None = Field(description="Position in `samples` (from 0), or null for the request as a whole.")
    error: str


class IngestErrors(BaseModel):
    detail: list[ItemError]


EXAMPLES: dict[str, Any] = {
    "agent-days": {
        "summary": "Agents' daily figures",
        "value": {
            "samples": [
                {
                    "metric": "csat",
                    "subject": "thandi@example.com",
                    "date": "2026-11-20",
                    "numerator": 18,
                    "denominator": 20,
                },
                {"metric": "aht", "subject": "ZD-1001", "date": "2026-11-20", "value": 412, "source": "zendesk"},
            ]
        },
    },
    "interval": {
        "summary": "A 30-minute interval (team's local time)",
        "value": {
            "samples": [
                {"metric": "sla", "subject": "team:alpha", "start": "2026-11-20T09:00", "end": "2026-11-20T09:30"}
                | {"numerator": 41, "denominator": 45, "source": "wfm"}
            ]
        },
    },
}


def unprocessable(errors: Sequence[ItemError]) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=[e.model_dump() for e in errors])


def shape_errors(errors: Sequence[Any]) -> list[ItemError]:
    """FastAPI's validation errors as per-item errors, so clients parse one 422 format."""
    out = []
    for e in errors:
        loc = tuple(e.get("loc", ()))
        if e.get("type") == "json_invalid":
            out.append(ItemError(index=None, error=f"the body is not valid JSON ({e.get('ctx', {}).get('error')})"))
            continue
        index = loc[2] if len(loc) > 2 and loc[:2] == ("body", "samples") and isinstance(loc[2], int) else None
        where = loc[3:] if index is not None else loc[1:]
        message = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        field = ".".join(map(str, where)) or ("item" if index is not None else "body")
        out.append(ItemError(index=index, error=f"{field}: {message}"))
    return out


def row_error(e: RowError) -> ItemError:
    # The importer numbers records by file line; here they are numbered by position in the batch.
    return ItemError(index=e.line, error=re.sub(r"^repeats line (\d+)", r"repeats item \1", e.message))


def ingest_router(deps: Deps) -> APIRouter:
    api_key = api_key_dependency(deps)
    route_class = auth_first_route(api_key, lambda exc: unprocessable(shape_errors(exc.errors())))
    router = APIRouter(route_class=route_class, tags=["ingest"])
    max_batch = deps.settings.api_max_batch

    @router.post(
        PATH,
        summary="Upsert KPI samples",
        description=(
            f"Insert or update up to {max_batch} samples in one transaction. The same batch sent twice leaves "
            "the same rows (the key is metric, subject, period and source). Any bad item: 422 listing every bad "
            "item, and nothing is written. Items follow the rules of `rhythm import kpis`."
        ),
        response_model=IngestResult,
        max_body_size=deps.settings.api_max_body_bytes,  # checks Content-Length, then caps the streamed body
        responses={
            401: {"description": "Missing, unknown or revoked API key."},
            413: {"description": f"Body larger than {deps.settings.api_max_body_bytes} bytes."},
            422: {"model": IngestErrors, "description": "Bad items (each with its index and reason); nothing written."},
        },
    )
    async def ingest_kpi_samples(
        batch: Annotated[SampleBatch, Body(openapi_examples=EXAMPLES)],
        key: Annotated[ApiKeyInfo, Depends(api_key)],
    ) -> IngestResult:
        if len(batch.samples) > max_batch:
            raise unprocessable(
                [ItemError(index=None, error=f"at most {max_batch} samples per request; got {len(batch.samples)}")]
            )
        records = [(i, {k: v for k, v in s.__dict__.items() if v is not None}) for i, s in enumerate(batch.samples)]
        async with deps.sessions() as session:
            count, errors = await import_kpis(session, records, source=DEFAULT_SOURCE)
            if errors:
                await session.rollback()
                raise unprocessable([row_error(e) for e in errors])
            audit.record(session, actor=f"api:{key.name}", action="kpis.ingest", subject="kpi_sample", rows=count)
            await session.commit()
        deps.scorecards.clear()  # new figures: the next /kpi recomputes
        return IngestResult(received=len(records), upserted=count)

    return router
