"""The one config loader: 12-factor settings from the environment, with local defaults."""
import os
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from limits import parse_many

from shared import durations
from shared.services import declared
from shared.signing import Keys

DEFAULT_PORT = 5001  # the public address of a process that declares no web app
DEV_SECRET_KEY = "dev-only-not-secret"
SMTP_SECURITY = ("starttls", "tls", "none")  # STARTTLS on 587/25, implicit TLS on 465, plain
# Every key this project ever shipped as a default (config.py, docker-compose.yml): anyone
# can read them, so outside development they are refused like no key at all.
SHIPPED_SECRET_KEYS = frozenset({DEV_SECRET_KEY, "change-me"})
MIN_SECRET_LENGTH = 32
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
# gunicorn's exit code for "App failed to load": its master stops instead of restarting
# a worker that can never start.
EXIT_CONFIG = 4


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
    """A list of limits such as 5/hour;20/day, checked now so a typo stops the process."""
    text = env(name, default)
    try:
        rates = parse_many(text)
    except ValueError:
        rates = []
    if not rates or any(rate.amount < 1 for rate in rates):
        raise ConfigError(f"{name}={text!r} is not a list of limits such as 5/hour;20/day")
    return text


def _smtp_security():
    """SMTP_SECURITY; unset, it is what the rest of the SMTP settings imply.

    SMTP_STARTTLS=true (the older setting) still means starttls. A login implies starttls:
    a password is never sent in clear by default. With neither, `none`: the local sink.
    """
    starttls = env("SMTP_STARTTLS", "false").lower() in ("1", "true", "yes")
    security = env("SMTP_SECURITY")
    if security is None:
        return "starttls" if starttls or env("SMTP_USERNAME") else "none"
    security = security.lower()
    if security not in SMTP_SECURITY:
        raise ConfigError(f"SMTP_SECURITY={security!r} is not one of starttls, tls, none")
    if starttls and security != "starttls":
        raise ConfigError(f"SMTP_STARTTLS=true contradicts SMTP_SECURITY={security}; "
                          "drop SMTP_STARTTLS")
    return security


_PERIOD_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


def _period(name, default, seconds=False):
    """A length of time such as 7d, 12h or 30m (or 20s where `seconds`: tests), checked now
    so a typo stops the process."""
    text = env(name, default).strip().lower()
    amount, unit = text[:-1], text[-1:]
    units = {**_PERIOD_UNITS, "s": timedelta(seconds=1)} if seconds else _PERIOD_UNITS
    if unit not in units or not amount.isdigit() or int(amount) < 1:
        raise ConfigError(f"{name}={text!r} is not a length of time such as 7d, 12h or 30m")
    return int(amount) * units[unit]


def _durations(name, default):
    """ISO 8601 durations such as P1D,PT2H (an empty value: none)."""
    text = env(name, default)
    try:
        return durations.parse_list(text)
    except ValueError as error:
        raise ConfigError(f"{name}={text!r}: {error}") from None


def _count(name, default, unit):
    """A whole number of `unit`, at least one: nothing is ever kept for no time at all."""
    value = _number(int, name, default)
    if value < 1:
        raise ConfigError(f"{name}={value} must be 1 or more ({unit})")
    return value


@dataclass(frozen=True)
class Peer:
    """Where a service with a web app answers: the address people reach (links in emails and
    pages) and the one other services call its API at (inside compose, its container)."""

    public_url: str
    api_url: str
    # A bearer token of that service, for a peer that calls its API ({NAME}_API_TOKEN);
    # None: this process has none.
    api_token: str | None = None


def _peers():
    """Every declared web service's addresses: {NAME}_PUBLIC_BASE_URL (else PUBLIC_BASE_URL)
    and {NAME}_API_URL, each on 127.0.0.1 and the declared port unless set."""
    peers = {}
    for name, declaration in declared().items():
        if declaration.port is not None:
            local = f"http://127.0.0.1:{declaration.port}"
            peers[name] = Peer(public_url=env("PUBLIC_BASE_URL", local, name).rstrip("/"),
                               api_url=(os.environ.get(f"{name.upper()}_API_URL") or local
                                        ).rstrip("/"),
                               api_token=os.environ.get(f"{name.upper()}_API_TOKEN") or None)
    return peers


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
    smtp_security: str  # starttls | tls | none (see SMTP_SECURITY)
    smtp_timeout: float
    mail_from: str
    smtp_ca_file: str | None = None  # a private CA to trust; None: the system's store
    peers: dict = field(default_factory=dict)  # service name -> Peer
    retry_delays: tuple = field(default=(10.0, 30.0, 60.0, 300.0, 900.0, 1800.0))
    stale_after: float = 120.0
    sweep_every: float = 5.0
    max_body_bytes: int = 64 * 1024
    public_rate_limit: str = "30/minute;300/hour"
    trusted_proxy_hops: int = 0  # reverse proxies in front that append to X-Forwarded-For
    mail_cap: str = "5/hour;20/day"  # per mailbox, for the emails anonymous requests cause
    secret_key_fallbacks: tuple = ()
    environment: str = "production"
    event_client_limit: str = "10/hour"  # registrations per client address and event
    pending_hold: float = 1800.0  # seconds a `confirm_by_email` seat is held unconfirmed
    reminders: tuple = ("P1D", "PT2H")  # before an event starts, ISO 8601; an event may set its own
    change_coalesce: float = 120.0  # seconds an event change waits, so several edits send one email
    # The public attendance table (docs/privacy.md) shows no count from 1 to this less one.
    public_count_min: int = 5
    # Retention of personal data (docs/privacy.md); the privacy notice states these.
    stream_retention: timedelta = timedelta(days=7)  # bus entries, dead letters and tombstones
    # A change feed's tombstones (shared/changes.py): a mirror that has not synced for longer
    # must sync again from 0 (its cursor is answered 410)
    feed_tombstone_retention: timedelta = timedelta(days=30)
    dead_letter_cap: int = 10_000  # dead letters kept at most, newest first
    retention_days: int = 180  # registrations kept after their event ends, then anonymised
    delivery_context_days: int = 30  # an email's stored content kept after it is done
    # The Ed25519 key that signs a log's tree heads; None: not set (only development makes
    # one, under DATA_DIR). A file, never a database row: whoever can rewrite the
    # database must not also be able to sign.
    history_signing_key_file: Path | None = None
    arco_response_days: int = 20  # business days the law gives to answer an ARCO request
    # Webhooks (docs/webhooks.md): Standard Webhooks' retry schedule, in seconds
    webhook_retry_delays: tuple = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    webhook_disable_after: timedelta = timedelta(days=5)  # failing that long disables an endpoint
    webhook_secret_overlap: timedelta = timedelta(hours=24)  # the old secret still signs
    webhook_allow_private: bool = False  # endpoints on private/loopback addresses (tests)

    @property
    def is_sqlite(self):
        return self.database_url.startswith("sqlite")

    @property
    def keys(self):
        """What signs and verifies links and cookies, per purpose (shared.signing.Keys).
        Outside development a key anyone could know or guess never signs (ConfigError)."""
        check_secrets(self)
        return Keys(self.secret_key, self.secret_key_fallbacks)


def load(service, **overrides):
    """Build the settings of one service from the environment; overrides win (tests)."""
    data_dir = Path(env("DATA_DIR", "./data")).resolve()
    peers = _peers()
    own = peers.get(service)
    values = dict(
        service=service,
        data_dir=data_dir,
        database_url=env("DATABASE_URL", f"sqlite:///{data_dir / service}.db", service),
        redis_url=env("REDIS_URL", "redis://127.0.0.1:6379/0"),
        secret_key=env("SECRET_KEY", DEV_SECRET_KEY),
        public_base_url=own.public_url if own else env(
            "PUBLIC_BASE_URL", f"http://127.0.0.1:{DEFAULT_PORT}", service).rstrip("/"),
        smtp_host=env("SMTP_HOST", "127.0.0.1"),
        smtp_port=_number(int, "SMTP_PORT", "8025"),
        smtp_username=env("SMTP_USERNAME"),
        smtp_password=env("SMTP_PASSWORD"),
        smtp_security=_smtp_security(),
        smtp_ca_file=env("SMTP_CA_FILE"),
        smtp_timeout=_number(float, "SMTP_TIMEOUT", "10"),
        mail_from=env("MAIL_FROM", "Abierto <abierto@localhost>"),
        peers=peers,
        retry_delays=_floats("DELIVERY_RETRY_DELAYS", "10,30,60,300,900,1800"),
        stale_after=_number(float, "DELIVERY_STALE_AFTER", "120"),
        sweep_every=_number(float, "SWEEP_EVERY", "5"),
        public_rate_limit=env("PUBLIC_RATE_LIMIT", "30/minute;300/hour"),
        trusted_proxy_hops=_number(int, "TRUSTED_PROXY_HOPS", "0"),
        mail_cap=_rates("MAIL_CAP", "5/hour;20/day"),
        secret_key_fallbacks=tuple(
            part.strip() for part in env("SECRET_KEY_FALLBACKS", "").split(",") if part.strip()),
        environment=env("ABIERTO_ENV", "production"),
        event_client_limit=_rates("EVENT_CLIENT_LIMIT", "10/hour"),
        pending_hold=_number(float, "PENDING_HOLD", "1800"),
        reminders=_durations("REMINDERS", "P1D,PT2H"),
        change_coalesce=_number(float, "CHANGE_COALESCE", "120"),
        public_count_min=_count("PUBLIC_COUNT_MIN", "5", "people"),
        stream_retention=_period("STREAM_RETENTION", "7d"),
        feed_tombstone_retention=_period("FEED_TOMBSTONE_RETENTION", "30d"),
        dead_letter_cap=_count("DEAD_LETTER_CAP", "10000", "entries"),
        retention_days=_count("RETENTION_DAYS", "180", "days"),
        delivery_context_days=_count("DELIVERY_CONTEXT_DAYS", "30", "days"),
        arco_response_days=_number(int, "ARCO_RESPONSE_DAYS", "20"),
        webhook_retry_delays=_floats("WEBHOOK_RETRY_DELAYS", "5,300,1800,7200,18000,36000,36000"),
        webhook_disable_after=_period("WEBHOOK_DISABLE_AFTER", "5d", seconds=True),
        webhook_secret_overlap=_period("WEBHOOK_SECRET_OVERLAP", "24h", seconds=True),
        webhook_allow_private=env("WEBHOOK_ALLOW_PRIVATE", "false").lower() in ("1", "true", "yes"),
    )
    values.update(overrides)
    if values["arco_response_days"] < 1:
        raise ConfigError(f"ARCO_RESPONSE_DAYS={values['arco_response_days']} must be 1 or more")
    if "history_signing_key_file" not in values:
        key_file = env("HISTORY_SIGNING_KEY_FILE")
        values["history_signing_key_file"] = Path(key_file) if key_file else (
            values["data_dir"] / "history-signing.key"
            if values["environment"] == "development" else None)
    if values["trusted_proxy_hops"] < 0:
        raise ConfigError(f"TRUSTED_PROXY_HOPS={values['trusted_proxy_hops']} must be 0 or more")
    if not values["redis_url"].startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL={values['redis_url']!r} needs a scheme: redis://host:6379/0")
    if values["smtp_username"] and values["smtp_security"] == "none":
        raise ConfigError("SMTP_USERNAME is set but SMTP_SECURITY=none: a password is never "
                          "sent without TLS; use starttls or tls")
    if values["smtp_ca_file"] and not Path(values["smtp_ca_file"]).is_file():
        raise ConfigError(f"SMTP_CA_FILE={values['smtp_ca_file']!r} is not a file")
    return Settings(**values)


def load_process(service):
    """`load` for a long-running process: it also refuses a key anyone could know, at start.
    (Operator commands that never sign, such as `token` or `mail`, use `load` and need none.)"""
    settings = load(service)
    check_secrets(settings)
    return settings


def load_or_exit(service):
    """`load_process` for an entry point outside the CLI (an app factory, the Celery app): a
    setting that cannot be used ends the process with one line on stderr, not a traceback."""
    return or_exit(load_process, service)


def or_exit(function, *args):
    """function(*args), for an entry point outside the CLI: a ConfigError ends the process
    with one line on stderr, not a traceback."""
    try:
        return function(*args)
    except ConfigError as error:
        print(f"Error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CONFIG) from None


def check_secrets(settings):
    """Fail closed: outside development, SECRET_KEY and its fallbacks must be keys nobody
    could know or guess."""
    if settings.environment == "development":
        return
    _check_secret("SECRET_KEY", settings.secret_key)
    for secret in settings.secret_key_fallbacks:
        _check_secret("SECRET_KEY_FALLBACKS", secret)


def _check_secret(name, secret):
    """Fail closed: outside development, a key anyone could know or guess stops the process."""
    if secret == DEV_SECRET_KEY:
        problem = ("is not set, or is the built-in development key "
                   "(only ABIERTO_ENV=development runs with it)")
    elif secret in SHIPPED_SECRET_KEYS:
        problem = f"is {secret!r}, a default this project shipped"
    elif len(secret) < MIN_SECRET_LENGTH:
        problem = f"has {len(secret)} characters; it needs at least {MIN_SECRET_LENGTH}"
    else:
        return
    raise ConfigError(f"{name} {problem}; make a key with: {MAKE_A_KEY}")
