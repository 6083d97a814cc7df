"""One place that reads configuration from the environment, with safe local defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEV_SECRET_KEY = "commons-dev-secret-key-do-not-use-in-production"
MIN_PRODUCTION_SEND_LEASE = 60  #: seconds; SMTP and SMS sends give up after 15


class ConfigurationError(RuntimeError):
    """Raised when the environment describes a configuration Commons must not start with."""


@dataclass(frozen=True)
class Settings:
    env: str
    data_dir: Path
    database_url: str
    nats_url: str | None  #: None means "start the embedded nats-server"
    smtp_url: str | None  #: None means "deliver to the dev mailbox"
    secret_key: str
    base_url: str
    mail_from: str
    booking_rate_limit_per_minute: int = 30  #: booking attempts per client address per minute
    web_workers: int = 1  #: ``commons serve`` processes sharing the port (COMMONS_WEB_WORKERS)
    #: where texts go: notify://…, twilio://… or dev:// (see notifications/sms); None: the dev outbox in
    #: development, no texts at all in production
    sms_url: str | None = None
    #: the bearer token GOV.UK Notify sends with received texts (``/webhooks/sms/notify``)
    sms_inbound_token: str | None = None
    #: how long a sender may hold a claimed message before another sender may try it (a crash's cost)
    send_lease_seconds: int = 300
    #: how long JetStream waits for a worker's ack before redelivering the message
    ack_wait_seconds: int = 30
    #: how long a rendered What's on page may be reused while nothing under it changes (0: never);
    #: PostgreSQL only, where a change to the tables it shows is heard at once (web/listing_cache.py)
    listing_cache_seconds: int = 5

    @property
    def effective_sms_url(self) -> str | None:
        """The SMS provider to use: the configured one, else the dev outbox outside production."""
        if self.sms_url:
            return self.sms_url
        return None if self.is_production else "dev://"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def dev_mailbox_enabled(self) -> bool:
        return self.smtp_url is None and not self.is_production

    def validate(self) -> None:
        if self.is_production and self.secret_key == DEV_SECRET_KEY:
            raise ConfigurationError(
                "COMMONS_SECRET_KEY is not set. Set it to a long random value "
                "before running with COMMONS_ENV=production."
            )
        if self.is_production and len(self.secret_key) < 32:
            raise ConfigurationError("COMMONS_SECRET_KEY must be at least 32 characters in production.")
        if self.is_production and self.smtp_url is None:
            raise ConfigurationError(
                "COMMONS_SMTP_URL must be set in production (the dev mailbox is for development only)."
            )
        if not (self.is_postgres or self.database_url.startswith("sqlite:///")):
            raise ConfigurationError(
                f"COMMONS_DATABASE_URL must start with postgresql:// or sqlite:/// (got {self.database_url!r})."
            )
        if self.is_production and self.send_lease_seconds < MIN_PRODUCTION_SEND_LEASE:
            raise ConfigurationError(
                f"COMMONS_SEND_LEASE_SECONDS must be at least {MIN_PRODUCTION_SEND_LEASE} in production: a shorter "
                "lease than twice a send's 15-second time-out lets a second sender send the same message again."
            )
        if self.sms_url is not None:
            from notifications.sms import InvalidSmsUrl, provider_from_url

            try:
                provider_from_url(self.sms_url)
            except InvalidSmsUrl as exc:
                raise ConfigurationError(f"COMMONS_SMS_URL: {exc}") from None
        if self.smtp_url is not None and not self.smtp_url.startswith(("smtp://", "smtps://")):
            raise ConfigurationError(f"COMMONS_SMTP_URL must look like smtp://host:port (got {self.smtp_url!r}).")


def _whole_number(environ: dict[str, str], name: str, default: int, minimum: int = 0) -> int:
    text = environ.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number (got {text!r}).") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be {minimum} or more (got {value}).")
    return value


def _positive_int(environ: dict[str, str], name: str, default: int) -> int:
    return _whole_number(environ, name, default, minimum=1)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from an environment mapping (defaults to ``os.environ``)."""
    environ = dict(os.environ if environ is None else environ)
    data_dir = Path(environ.get("COMMONS_DATA_DIR") or "./var").resolve()
    database_url = environ.get("COMMONS_DATABASE_URL") or f"sqlite:///{data_dir / 'commons.sqlite3'}"
    settings = Settings(
        env=environ.get("COMMONS_ENV", "development"),
        data_dir=data_dir,
        database_url=database_url,
        nats_url=environ.get("COMMONS_NATS_URL") or None,
        smtp_url=environ.get("COMMONS_SMTP_URL") or None,
        secret_key=environ.get("COMMONS_SECRET_KEY") or DEV_SECRET_KEY,
        base_url=(environ.get("COMMONS_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        mail_from=environ.get("COMMONS_MAIL_FROM") or "Commons <bookings@commons.localhost>",
        booking_rate_limit_per_minute=_positive_int(environ, "COMMONS_BOOKING_RATE_LIMIT", 30),
        sms_url=environ.get("COMMONS_SMS_URL") or None,
        sms_inbound_token=environ.get("COMMONS_SMS_INBOUND_TOKEN") or None,
        send_lease_seconds=_positive_int(environ, "COMMONS_SEND_LEASE_SECONDS", 300),
        ack_wait_seconds=_positive_int(environ, "COMMONS_ACK_WAIT_SECONDS", 30),
        web_workers=_positive_int(environ, "COMMONS_WEB_WORKERS", 1),
        listing_cache_seconds=_whole_number(environ, "COMMONS_LISTING_CACHE_SECONDS", 5),
    )
    settings.validate()
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
