"""The one config loader: 12-factor settings from the environment, with local defaults."""
import os
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("registration", "commitments", "notifications")
PORTS = {"registration": 5001, "commitments": 5002, "notifications": 5003}
DEV_SECRET_KEY = "dev-only-not-secret"


def env(name, default=None, service=None):
    """Read NAME, preferring SERVICE_NAME when a service is given (REGISTRATION_DATABASE_URL)."""
    if service:
        value = os.environ.get(f"{service.upper()}_{name}")
        if value:
            return value
    value = os.environ.get(name)
    return value if value not in (None, "") else default


class ConfigError(RuntimeError):
    """A setting that cannot be used; the message names the variable."""


def _number(kind, name, default):
    text = env(name, default)
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number") from None


def _floats(name, default):
    text = env(name, default)
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a list of seconds such as 10,30,60") from None


def _rates(name, default):
    """A `limits` rate string such as 10/hour or 30/minute;300/hour."""
    from limits import parse_many

    text = env(name, default)
    try:
        parse_many(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a rate such as 10/hour") from None
    return text


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know about its surroundings."""

    service: str
    data_dir: Path
    database_url: str
    redis_url: str
    secret_key: str
    public_base_url: str
    smtp_host: str
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None
    smtp_starttls: bool
    smtp_timeout: float
    mail_from: str
    commitments_api_url: str = "http://127.0.0.1:5002"
    retry_delays: tuple = field(default=(10.0, 30.0, 60.0, 300.0, 900.0, 1800.0))
    stale_after: float = 120.0
    sweep_every: float = 5.0
    max_body_bytes: int = 64 * 1024
    public_rate_limit: str = "30/minute;300/hour"
    event_client_limit: str = "10/hour"  # registrations per client address and event
    pending_hold: float = 1800.0  # seconds a `confirm_by_email` seat is held unconfirmed

    @property
    def is_sqlite(self):
        return self.database_url.startswith("sqlite")


def load(service, **overrides):
    """Build the settings of one service from the environment; overrides win (tests)."""
    data_dir = Path(env("DATA_DIR", "./data")).resolve()
    values = dict(
        service=service,
        data_dir=data_dir,
        database_url=env("DATABASE_URL", f"sqlite:///{data_dir / service}.db", service),
        redis_url=env("REDIS_URL", "redis://127.0.0.1:6379/0"),
        secret_key=env("SECRET_KEY", DEV_SECRET_KEY),
        public_base_url=env(
            "PUBLIC_BASE_URL", f"http://127.0.0.1:{PORTS.get(service, 5001)}", service
        ).rstrip("/"),
        smtp_host=env("SMTP_HOST", "127.0.0.1"),
        smtp_port=_number(int, "SMTP_PORT", "8025"),
        smtp_username=env("SMTP_USERNAME"),
        smtp_password=env("SMTP_PASSWORD"),
        smtp_starttls=env("SMTP_STARTTLS", "false").lower() in ("1", "true", "yes"),
        smtp_timeout=_number(float, "SMTP_TIMEOUT", "10"),
        mail_from=env("MAIL_FROM", "Abierto <abierto@localhost>"),
        commitments_api_url=env("COMMITMENTS_API_URL", "http://127.0.0.1:5002").rstrip("/"),
        retry_delays=_floats("DELIVERY_RETRY_DELAYS", "10,30,60,300,900,1800"),
        stale_after=_number(float, "DELIVERY_STALE_AFTER", "120"),
        sweep_every=_number(float, "SWEEP_EVERY", "5"),
        public_rate_limit=env("PUBLIC_RATE_LIMIT", "30/minute;300/hour"),
        event_client_limit=_rates("EVENT_CLIENT_LIMIT", "10/hour"),
        pending_hold=_number(float, "PENDING_HOLD", "1800"),
    )
    values.update(overrides)
    if values["secret_key"] == DEV_SECRET_KEY and env("ABIERTO_ENV") == "production":
        raise ConfigError("SECRET_KEY must be set when ABIERTO_ENV=production")
    if not values["redis_url"].startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL={values['redis_url']!r} needs a scheme: redis://host:6379/0")
    return Settings(**values)
