"""What runs beside the request handlers in the app's loop: the outbox worker and the scheduler."""

from __future__ import annotations

import logging

from bot.delivery.client import create_delivery_client
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.jobs.schedule import Scheduler

log = logging.getLogger(__name__)


class Background:
    """Started and stopped by the ASGI lifespan; nothing else starts tasks."""

    def __init__(self, deps: Deps) -> None:
        token, _ = deps.settings.require_slack()
        self.worker = DeliveryWorker(deps, create_delivery_client(deps.settings, token))
        self.scheduler = Scheduler(deps)

    async def start(self) -> None:
        self.worker.start()
        await self.scheduler.start()
        log.info("delivery worker and scheduler started")

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.worker.stop()
