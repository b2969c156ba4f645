"""Statements built once as SQLAlchemy constructs, run on the driver's own cursor.

`connection.execute()` builds an execution context, looks the statement up in the compiled
cache, evaluates defaults and wraps the cursor in a Result for every statement: on SQLite,
where the statement itself takes a few µs, that is most of a registration's database CPU,
and on PostgreSQL about as much as the round trip's own. A `Prepared` statement is compiled
once per set of parameter names and runs on a cursor kept with its connection, with the
same SQL, the same type conversions (bind and result processors, `UTCDateTime`'s included)
and the same Python-side defaults and `onupdate`s, in the transaction of the Core
connection given; an error is raised as execute() raises it, and a connection the server
ended is invalidated as execute() does.
"""
from sqlalchemy import exc


class Prepared:
    def __init__(self, statement):
        self.statement = statement
        self._forms = {}  # (dialect name, parameter names): _Form

    def first(self, connection, params):
        """The first row the statement returns, as {column name: value}, or None."""
        form = self._forms.get((connection.dialect.name, *params))
        if form is None:
            form = self._forms[(connection.dialect.name, *params)] = _Form(
                self.statement, connection.dialect, params)
        return form.first(connection, params)


class _Form:
    def __init__(self, statement, dialect, names):
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        if compiled.escaped_bind_names:
            raise ValueError(f"parameter names Prepared cannot bind: {compiled.escaped_bind_names}")
        self.compiled, self.dialect, self.sql = compiled, dialect, compiled.string
        processors = compiled._bind_processors
        # SQLite's qmark style takes a list in the statement's order; psycopg's pyformat a dict.
        self.positional = compiled.positiontup is not None
        self.binds = [(name, processors.get(name)) for name in (
            compiled.positiontup if self.positional else compiled.bind_names.values())]
        # The columns' defaults (an insert's) and `onupdate`s (an update's) the statement
        # binds, evaluated per run as execute() does; only plain values and functions.
        self.defaults = [(column.key, _value_of(column.default))
                         for column in compiled.insert_prefetch]
        self.defaults += [(column.key, _value_of(column.onupdate))
                          for column in compiled.update_prefetch]
        self.columns = [(entry[0], entry[3]._cached_result_processor(dialect, None))
                        for entry in compiled._result_columns]

    def first(self, connection, params):
        values = self.compiled.construct_params(params)
        for name, default in self.defaults:
            values[name] = default()
        if self.positional:
            arguments = [values[name] if processor is None else processor(values[name])
                         for name, processor in self.binds]
        else:
            arguments = {name: values[name] if processor is None else processor(values[name])
                         for name, processor in self.binds}
        proxied = connection.connection
        dbapi_connection = proxied.dbapi_connection
        cursor = _cursor(proxied.info, dbapi_connection)
        try:
            cursor.execute(self.sql, arguments)
            row = cursor.fetchone() if self.columns else None
            if row is not None:
                cursor.fetchall()  # SQLite finishes a RETURNING statement's work on its last row
        except self.dialect.loaded_dbapi.Error as error:
            # As execute() raises it: callers (shared.outages) tell faults by SQLAlchemy's
            # classes, and the pool must not hand out again a connection the server ended.
            ended = self.dialect.is_disconnect(error, dbapi_connection, cursor)
            if ended:  # as execute() does: every connection opened before it is recycled too
                connection.engine.pool._invalidate(connection.connection, error)
                connection.invalidate(error)
            raise exc.DBAPIError.instance(
                self.sql, None, error, self.dialect.loaded_dbapi.Error, hide_parameters=True,
                dialect=self.dialect, connection_invalidated=ended) from error
        if row is None:
            return None
        return {name: value if processor is None else processor(value)
                for (name, processor), value in zip(self.columns, row)}


def _cursor(info, dbapi_connection):
    """The connection's cursor for Prepared statements, kept in its pool record's `info`:
    making one and closing it costs as much as converting the statement's parameters. Kept
    with the connection it belongs to, as a record outlives the connection it opened."""
    kept = info.get("prepared_cursor")
    if kept is None or kept[0] is not dbapi_connection:
        kept = info["prepared_cursor"] = (dbapi_connection, dbapi_connection.cursor())
    return kept[1]


def _value_of(default):
    if default.is_scalar:
        return lambda: default.arg
    if default.is_callable:
        return lambda: default.arg(None)
    raise ValueError(f"a default Prepared cannot evaluate: {default!r}")
