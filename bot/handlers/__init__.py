"""Bolt listeners only: each module exposes ``register(app)``; no business rule lives here."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.handlers import adherence, coaching, errors, huddle, kpi, notices

MODULES = (kpi, adherence, huddle, coaching, notices, errors)


def register_all(app: AsyncApp) -> None:
    for module in MODULES:
        module.register(app)
