"""The database's own refusal to edit the history: triggers that reject UPDATE and DELETE
(and, on PostgreSQL, TRUNCATE) of its rows, on both backends.

The migration that adds them calls `guard`; its downgrade calls `unguard`. A role that owns
the table can still drop them, which is why, where docker/postgres/init.sh prepared the
database, the migration also hands the table to a role the service cannot become.
"""
REFUSAL = "the history is append-only"

_SQLITE = [
    f"CREATE TRIGGER history_no_update BEFORE UPDATE ON history "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: UPDATE refused'); END",
    f"CREATE TRIGGER history_no_delete BEFORE DELETE ON history "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: DELETE refused'); END",
]
_POSTGRESQL = [
    "CREATE FUNCTION history_refuse_edit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION USING MESSAGE = '{REFUSAL}: ' || TG_OP || ' refused', "
    "ERRCODE = 'insufficient_privilege'; "
    "END $$",
    "CREATE TRIGGER history_no_edit BEFORE UPDATE OR DELETE ON history "
    "FOR EACH ROW EXECUTE FUNCTION history_refuse_edit()",
    "CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON history "
    "FOR EACH STATEMENT EXECUTE FUNCTION history_refuse_edit()",
]
_UNDO = {
    "sqlite": ["DROP TRIGGER IF EXISTS history_no_update", "DROP TRIGGER IF EXISTS history_no_delete"],
    "postgresql": ["DROP TRIGGER IF EXISTS history_no_edit ON history",
                   "DROP TRIGGER IF EXISTS history_no_truncate ON history",
                   "DROP FUNCTION IF EXISTS history_refuse_edit()"],
}
# Made by docker/postgres/history.sql, as the superuser: gives the table to a role nobody
# logs in as, leaving the service's role SELECT and INSERT only.
_SEAL = "seal_history"


def guard(connection):
    """Add the triggers (on a SQLAlchemy connection inside a transaction)."""
    statements = _POSTGRESQL if connection.dialect.name == "postgresql" else _SQLITE
    for statement in statements:
        connection.exec_driver_sql(statement)


def seal(connection):
    """On PostgreSQL prepared by docker/postgres/init.sh, hand the table over; elsewhere nothing."""
    if connection.dialect.name == "postgresql" and connection.exec_driver_sql(
            f"SELECT to_regproc('public.{_SEAL}')").scalar() is not None:
        connection.exec_driver_sql(f"SELECT public.{_SEAL}()")


def unguard(connection):
    """Drop the triggers again (the downgrade, and tests that play the forger)."""
    for statement in _UNDO[connection.dialect.name]:
        connection.exec_driver_sql(statement)
