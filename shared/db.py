"""Database helpers: one engine per service, short transactions, Alembic migrations."""
import os
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import pq
from sqlalchemy import DateTime, MetaData, create_engine, event, exc, func, make_url, select
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

from shared.services import declared

MIGRATIONS = Path(__file__).with_name("migrations")
NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
          "pk": "pk_%(table_name)s"}


def utcnow():
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores UTC, always returns aware datetimes (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    # On SQLite, the same text both ways in one step each: SQLAlchemy's DATETIME formats a
    # dict of the fields and parses into a naive datetime that replace() then makes aware,
    # keyword calls that cost a registration (nine times) about 2 % of its instructions.
    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value):
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            # "YYYY-MM-DD HH:MM:SS.ffffff", DATETIME's storage format, without the "+00:00"
            return value.astimezone(timezone.utc).isoformat(" ", "microseconds")[:-6]
        return process

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = super().result_processor(dialect, coltype)

        def process(value):
            if type(value) is str and len(value) == 26:  # as bind_processor writes them
                return datetime.fromisoformat(value + "+00:00")
            return parse(value)
        return process


def make_base():
    """A declarative base with its own metadata: each service owns its tables."""

    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING)

    return Base


def make_engine(url, settings=None, autocommit=False):
    """An engine; SQLite gets WAL, a busy timeout and write-locking transactions. PostgreSQL
    `settings` ({name: value}) hold for every session of this engine's connections;
    `autocommit`: each statement commits as it runs, and connections are not checked at
    checkout (Database.autocommits())."""
    if url.startswith("sqlite"):
        _ensure_folder(url)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_connect)
        # The dialect's own BEGIN (a no-op for pysqlite), not a "begin" event: any connection
        # event makes SQLAlchemy dispatch its events around every statement of every
        # transaction, 8 % of a registration's use case.
        engine.dialect.do_begin = _sqlite_begin
        return engine
    # A pooled connection is checked before use, so the first requests after a restart get
    # a fresh one; a server that is gone answers within seconds, never a hang (shared.outages).
    # The check is the transaction's own BEGIN (_begin_as_ping), not a round trip of its own.
    psycopg_url = make_url(url).get_driver_name() == "psycopg"
    connect_args = dict(SERVER_TIMEOUTS)
    if settings:  # after any `options` the URL gives, which libpq would otherwise lose
        connect_args["options"] = " ".join(
            [*filter(None, [make_url(url).query.get("options")]),
             *(f"-c {name}={value}" for name, value in settings.items())])
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = create_engine(url, pool_pre_ping=not (psycopg_url or autocommit), pool_timeout=10,
                           connect_args=connect_args, hide_parameters=True,  # no personal data in logs
                           **options)
    if psycopg_url and not autocommit:
        event.listen(engine, "checkout", _begin_as_ping)
    return engine


# libpq's: refuse to wait over 3 s for a connection, and drop one whose server stopped
# acknowledging (a failover to another host) after 10 s instead of the kernel's 15 minutes.
SERVER_TIMEOUTS = {"connect_timeout": 3, "tcp_user_timeout": 10_000, "keepalives": 1,
                   "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


def _begin_as_ping(dbapi_connection, _record, _proxy):
    """Check a pooled PostgreSQL connection by starting its transaction: psycopg would send
    this BEGIN before the first statement anyway, so a dead connection is found (and the
    pool tries a new one) at no extra round trip; a separate ping cost one per transaction."""
    plain = not (dbapi_connection.autocommit or dbapi_connection.isolation_level is not None
                 or dbapi_connection.read_only is not None or dbapi_connection.deferrable is not None)
    pgconn = dbapi_connection.pgconn
    if pgconn.transaction_status != pq.TransactionStatus.IDLE:
        raise exc.DisconnectionError("connection not idle at checkout")
    try:
        result = pgconn.exec_(b"BEGIN" if plain else b";")  # others: psycopg begins its own way
    except psycopg.Error as error:
        raise exc.DisconnectionError(str(error)) from error
    if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.EMPTY_QUERY):
        raise exc.DisconnectionError(result.error_message.decode(errors="replace"))


def _ensure_folder(url):
    path = url.split("///", 1)[-1] if url.startswith("sqlite") else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_begin(dbapi_connection):
    # BEGIN IMMEDIATE takes the write lock up front, so a read-then-write transaction
    # (capacity check, then insert) can neither overbook nor fail on lock upgrade. A
    # connection from `Database.reading()` began its own plain BEGIN already: it only reads,
    # and needs no lock at all under WAL.
    driver = dbapi_connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE")


def _sqlite_connect(dbapi_connection, _record):
    dbapi_connection.isolation_level = None  # let _sqlite_begin above start transactions
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Database:
    """An engine and its sessions; a unit of work is `transaction()` (ORM) or `writing()` (Core)."""

    def __init__(self, url):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._watch = None  # the connection `data_version()` reads through, kept open
        self._unsynced = None  # async_commits()' engine, made on first use
        self._autocommits = None  # autocommits()' engine, made on first use
        self._idle = ([], None)  # autocommitting()'s connections between uses, and their pid
        self._making = threading.Lock()  # a web worker's threads may ask at once

    def async_commits(self):
        """PostgreSQL: an engine of its own whose commits do not wait for the disk
        (`synchronous_commit` off for its whole sessions), for records a crash may lose in
        its last fraction of a second at no harm. A separate pool, so that the setting never
        reaches a connection used for anything else; setting it per transaction (SET LOCAL)
        costs a round trip each time. None on SQLite."""
        if self._unsynced is None and not self.url.startswith("sqlite"):
            with self._making:
                if self._unsynced is None:
                    self._unsynced = make_engine(self.url, {"synchronous_commit": "off"})
        return self._unsynced

    def autocommits(self):
        """PostgreSQL: an engine of its own whose connections commit each statement as it
        runs, for a change written in one statement (its BEGIN and COMMIT would be two round
        trips more). A pooled connection is not checked before use (a check is a round trip
        too): the caller finds a dead one by the error (shared.outages.database_away) and
        does its work again the usual way. None on SQLite."""
        if self._autocommits is None and not self.url.startswith("sqlite"):
            with self._making:
                if self._autocommits is None:
                    self._autocommits = make_engine(self.url, autocommit=True)
        return self._autocommits

    @contextmanager
    def autocommitting(self):
        """A connection of autocommits(), kept between uses rather than checked in and out
        of its pool: that costs about 50 µs of CPU a statement (the pool's queue and its
        reset, a Connection made anew), as much as the statement's own round trip. As many
        are kept as the pool holds (a web worker needs one per thread). A connection that
        raised is closed; one the server ended takes the kept ones with it."""
        idle, pid = self._idle
        if pid != os.getpid():  # first use, or a forked child: the parent's sockets are not ours
            idle = []
            self._idle = (idle, os.getpid())
        try:
            connection = idle.pop()  # atomic: threads never get the same one
        except IndexError:
            connection = self.autocommits().connect()
        try:
            yield connection
        except BaseException:
            if connection.invalidated:  # the server ended it: as its pool would, drop every
                while idle:             # connection made before it, which a restart ended too
                    idle.pop().invalidate()
            connection.close()
            raise
        if len(idle) < self._autocommits.pool.size():
            idle.append(connection)
        else:
            connection.close()

    @contextmanager
    def transaction(self, durable=True):
        """A session that commits on success and rolls back on any error. `durable` False:
        on PostgreSQL its commit does not wait for the disk (async_commits()), for a record
        a crash may lose in its last fraction of a second at no harm."""
        bind = None if durable else self.async_commits()
        with self.sessions(**({"bind": bind} if bind is not None else {})) as session, \
                session.begin():
            yield session

    @contextmanager
    def writing(self):
        """A Core connection in one transaction: commits on success, rolls back on any error."""
        # For hot paths where the ORM adds only CPU. It locks as `transaction()` does:
        # _sqlite_begin takes SQLite's write lock, a statement's FOR UPDATE PostgreSQL's rows.
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def reading(self):
        """A Core connection that only reads: on SQLite it never waits for, nor holds up, a writer."""
        with self.engine.connect() as connection:
            if connection.dialect.name == "sqlite":  # before _sqlite_begin's BEGIN IMMEDIATE
                connection.connection.driver_connection.execute("BEGIN")
            yield connection

    def ping(self):
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def data_version(self):
        """A number that changes whenever another connection commits here, read with no
        transaction: SQLite's `PRAGMA data_version`, a few µs. None on PostgreSQL (no such thing)."""
        if not self.url.startswith("sqlite"):
            return None
        if self._watch is None:  # the number is per connection, so it keeps one
            self._watch = self.engine.raw_connection()
        try:
            return self._watch.driver_connection.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error as error:  # the file went away: the next look opens a new connection
            self._watch.invalidate()
            self._watch = None
            raise exc.OperationalError("PRAGMA data_version", None, error) from error

    def dispose(self):
        idle, _ = self._idle
        while idle:
            idle.pop().close()
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        for engine in (self._unsynced, self._autocommits):
            if engine is not None:
                engine.dispose()
        self._unsynced = self._autocommits = None
        self.engine.dispose()


def page_of(session, query, page, per_page):
    """One page of an ordered query and how many rows match it all (per_page None: all)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    if per_page:
        query = query.limit(per_page).offset((page - 1) * per_page)
    return session.scalars(query).all(), total


def alembic_config(service, url):
    """Alembic settings for one service: shared env.py, the versions folder it declares."""
    _ensure_folder(url)
    config = Config()
    config.set_main_option("path_separator", "os")
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_locations", str(declared()[service].migrations))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["service"] = service
    return config


def upgrade(service, url):
    """Bring one service's database to the newest schema."""
    command.upgrade(alembic_config(service, url), "head")
