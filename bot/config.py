"""Settings: one pydantic-settings class, built once by the entry point and passed down.

Slack's conventional names (``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``, ``SLACK_APP_TOKEN``) work as they
are; everything else is ``RHYTHM_*``. Slack credentials are optional here because ``rhythm demo`` and
``rhythm migrate`` need none; :meth:`Settings.require_slack` checks them where a real Slack connection starts.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./rhythm.db"

# Async drivers we ship; a plain URL is upgraded to them so users can paste what their host gives them.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}
_SUPPORTED = {"sqlite+aiosqlite", "postgresql+psycopg"}


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RHYTHM_", env_file=".env", extra="ignore", frozen=True, populate_by_name=True
    )

    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN", "RHYTHM_SLACK_BOT_TOKEN", "slack_bot_token"),
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "RHYTHM_SLACK_SIGNING_SECRET", "slack_signing_secret"),
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN", "RHYTHM_SLACK_APP_TOKEN", "slack_app_token"),
    )
    # The Slack app's id (api_app_id, "A…"): when set, requests for any other app are refused (bot/handlers/tenant.py).
    slack_app_id: str | None = Field(default=None, pattern=r"^A[A-Z0-9]{2,}$")
    database_url: str = DEFAULT_DATABASE_URL
    slack_api_url: str = "https://slack.com/api/"
    default_timezone: str = "Africa/Johannesburg"
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Seconds /kpi may spend computing before it acks with "working on it" and answers via response_url.
    ack_budget_seconds: float = Field(default=2.0, gt=0, lt=3)

    # Delivery (the outbox worker).
    admin_channel: str | None = Field(default=None, pattern=r"^[CG][A-Z0-9]{4,}$")  # where failures are reported
    channel_rate_per_second: float = Field(default=1.0, gt=0)  # Slack: about 1 message/s per channel
    workspace_rate_per_second: float = Field(default=10.0, gt=0)  # our own cap across all channels
    delivery_max_attempts: int = Field(default=12, ge=1)  # then the message is marked failed

    # Scheduling and reports.
    managers_channel: str | None = Field(default=None, pattern=r"^[CG][A-Z0-9]{4,}$")  # end-of-day campaign report
    campaign_report_time: str = Field(default="17:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    misfire_grace_seconds: int = Field(default=900, ge=0)  # a slot missed by longer is logged, not posted late
    stale_after_minutes: int = Field(default=180, ge=1)  # KPI data older than this is flagged as stale
    # /kpi reads a team's figures synchronously on the event loop (bot/store/hot_reads.py); off: via the async engine
    hot_reads: bool = True

    # Ingest API.
    api_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    api_max_batch: int = Field(default=10_000, ge=1)

    # Zendesk Support pull connector (off unless a subdomain is set).
    zendesk_subdomain: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$")
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None
    zendesk_sla_target_minutes: int = Field(default=60, ge=1)  # first reply within this counts as SLA met
    zendesk_reply_hours: Literal["business", "calendar"] = "business"
    zendesk_pull_minutes: int = Field(default=30, ge=5)  # how often the scheduled pull runs

    # Schedule adherence: how often the daily KPIs are recomputed, and the presence feed pull (off without a URL).
    adherence_kpi_minutes: int = Field(default=15, ge=1, le=720)
    presence_feed_url: str | None = None  # GET, JSON pages of agent states (README: "Presence feed")
    presence_feed_token: SecretStr | None = None  # sent as "Authorization: Bearer <token>"
    presence_poll_seconds: int = Field(default=30, ge=5, le=3600)

    # Coaching (1:1 logs, improvement plans): encryption at rest, retention, cadence.
    encryption_key: SecretStr | None = None  # Fernet key(s), comma-separated, newest first; private notes need one
    coaching_retention_months: int = Field(default=24, ge=0, le=240)  # older coaching records purged; 0 keeps all
    coaching_cadence_days: int = Field(default=14, ge=1, le=365)  # 1:1 cadence; a team's coaching.cadence_days wins

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with 'xoxb-'")
        return v

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with 'xapp-'")
        return v

    @field_validator("slack_signing_secret")
    @classmethod
    def _secret_not_blank(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("encryption_key")
    @classmethod
    def _fernet_keys(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            from bot.crypto import parse_keys  # deferred: settings load without touching cryptography otherwise

            parse_keys(v.get_secret_value())
        return v

    @field_validator("database_url")
    @classmethod
    def _async_database_url(cls, v: str) -> str:
        try:
            url = make_url(v)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        driver = url.drivername
        if driver in _ASYNC_DRIVERS:
            url = url.set(drivername=_ASYNC_DRIVERS[driver])
        if url.drivername not in _SUPPORTED:
            raise ValueError(f"unsupported driver {driver!r}; use sqlite or postgresql")
        return url.render_as_string(hide_password=False)

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v if v.endswith("/") else v + "/"  # slack_sdk joins paths with urljoin

    @field_validator("presence_feed_url")
    @classmethod
    def _feed_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v or None

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Africa/Johannesburg)") from None
        return v

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def require_slack(self) -> tuple[str, str | None]:
        """The bot token and signing secret, or a ConfigError naming what is missing.

        Socket Mode needs no signing secret (the app-level token authenticates the connection).
        """
        needed = [("SLACK_BOT_TOKEN", self.slack_bot_token)]
        if not self.socket_mode:
            needed.append(("SLACK_SIGNING_SECRET", self.slack_signing_secret))
        missing = [name for name, value in needed if value is None]
        if missing:
            raise ConfigError(f"missing setting(s): {', '.join(missing)} (see README: Configuration)")
        assert self.slack_bot_token is not None
        secret = self.slack_signing_secret.get_secret_value() if self.slack_signing_secret else None
        return self.slack_bot_token.get_secret_value(), secret


_ENV_NAMES = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
}


def env_name(field: str) -> str:
    return _ENV_NAMES.get(field, f"RHYTHM_{field.upper()}")


def load_settings(**overrides: object) -> Settings:
    """Build Settings from the environment, turning validation errors into one readable ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            lines.append(f"{env_name(field)}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
