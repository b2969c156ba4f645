"""docker/postgres/init.sql on the real local PostgreSQL: each service's role owns its
database, can build its schema there, is no superuser, and cannot connect to another
service's database; with history.sql, the commitments' role may only read and append to
the history. Roles and databases get unique names and are dropped afterwards."""
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from services.commitments.seed import seed
from services.commitments.tracking import verify_history
from shared.db import Database, upgrade
from tests.conftest import POSTGRES_URL, _admin

INIT_SQL = Path(__file__).resolve().parents[2] / "docker" / "postgres" / "init.sql"
PASSWORD = "it's a \"quoted\" one;"  # psql's :'password' must quote it whole


@pytest.fixture
def two_services(request):
    """Runs init.sql as the superuser for two made-up services; yields their names."""
    if "postgresql" not in request.config.getoption("--backends").split(","):
        pytest.skip("PostgreSQL is not among --backends")
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql (PostgreSQL's client) is not on PATH")
    server = create_engine(POSTGRES_URL).url
    names = [f"abierto_role_{uuid.uuid4().hex[:10]}_{side}" for side in ("a", "b")]
    try:
        for name in names:
            subprocess.run(
                [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", server.host or "127.0.0.1",
                 "-p", str(server.port or 5432), "-U", server.username or "postgres",
                 "-d", "postgres", "-v", f"service={name}", "-v", f"password={PASSWORD}",
                 "-f", str(INIT_SQL)],
                check=True, capture_output=True, text=True, timeout=60)
        yield names
    finally:
        with _admin().connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))


def as_role(role, database):
    return create_engine(create_engine(POSTGRES_URL).url.set(username=role, database=database))


def test_each_role_owns_only_its_database_and_is_no_superuser(two_services):
    with _admin().connect() as connection:
        for name in two_services:
            role = connection.execute(text(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin,"
                " rolpassword IS NOT NULL FROM pg_authid WHERE rolname = :name"),
                {"name": name}).one()
            assert tuple(role) == (False, False, False, True, True)
            owner = connection.execute(text(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :name"),
                {"name": name}).scalar()
            assert owner == name


def test_a_role_builds_its_schema_but_cannot_reach_another_database(two_services):
    mine, theirs = two_services
    engine = as_role(mine, mine)
    try:
        with engine.begin() as connection:  # what the migrations do
            connection.execute(text("CREATE TABLE t (id integer PRIMARY KEY)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        engine.dispose()
    for role, database in ((mine, theirs), (theirs, mine)):
        engine = as_role(role, database)
        try:
            with pytest.raises(OperationalError, match="permission denied for database"):
                engine.connect()
        finally:
            engine.dispose()


HISTORY_SQL = INIT_SQL.with_name("history.sql")
OWNER = "must be owner of (table|relation) history"


@pytest.fixture
def commitments_role(request):
    """init.sh's steps for a made-up commitments service: init.sql, then history.sql; then
    its migrations, run as its own role as compose's `migrate` does. Yields its name."""
    if "postgresql" not in request.config.getoption("--backends").split(","):
        pytest.skip("PostgreSQL is not among --backends")
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql (PostgreSQL's client) is not on PATH")
    server = create_engine(POSTGRES_URL).url
    name = f"abierto_role_{uuid.uuid4().hex[:10]}_c"
    try:
        for script in (INIT_SQL, HISTORY_SQL):
            subprocess.run(
                [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", server.host or "127.0.0.1",
                 "-p", str(server.port or 5432), "-U", server.username or "postgres",
                 "-d", "postgres", "-v", f"service={name}", "-v", f"password={PASSWORD}",
                 "-f", str(script)],
                check=True, capture_output=True, text=True, timeout=60)
        url = server.set(username=name, password=PASSWORD, database=name)
        upgrade("commitments", url.render_as_string(hide_password=False))
        yield name
    finally:
        with _admin().connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{name}_history"'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))


@pytest.mark.parametrize("statement, refusal", [
    ("UPDATE history SET actor = 'otro'", "permission denied for table history"),
    ("DELETE FROM history", "permission denied for table history"),
    ("TRUNCATE history", "permission denied for table history"),
    ("ALTER TABLE history DISABLE TRIGGER USER", OWNER),
    ("DROP TRIGGER history_no_edit ON history", OWNER),
    ("DROP TABLE history", OWNER),
    ("ALTER TABLE history OWNER TO CURRENT_USER", OWNER),
])
def test_the_commitments_role_may_only_read_and_append_to_the_history(commitments_role,
                                                                       statement, refusal):
    """Its service works as before (seeding appends entries), but nothing it can do as itself
    edits, removes or unlocks an entry."""
    url = create_engine(POSTGRES_URL).url.set(username=commitments_role, password=PASSWORD,
                                              database=commitments_role)
    db = Database(url.render_as_string(hide_password=False))
    try:
        seed(db)
        entries = verify_history(db)
        assert entries["ok"] and entries["entries"] > 0
        with pytest.raises(DBAPIError, match=refusal):
            with db.engine.begin() as connection:
                connection.execute(text(statement))
        with db.engine.begin() as connection:  # granting itself the right is a no-op
            connection.execute(text(f'GRANT UPDATE, DELETE ON history TO "{commitments_role}"'))
            assert connection.execute(text(
                "SELECT has_table_privilege(current_user, 'history', 'UPDATE')"
                " OR has_table_privilege(current_user, 'history', 'DELETE')")).scalar() is False
        assert verify_history(db) == entries
    finally:
        db.dispose()
