"""Statements built once as SQLAlchemy constructs, run on SQLite's own cursor.

`connection.execute()` builds an execution context, looks the statement up in the compiled
cache, evaluates defaults and wraps the cursor in a Result for every statement: on SQLite,
where the statement itself takes a few µs, that is most of a registration's database CPU.
A `Prepared` statement is compiled once per set of parameter names and runs with the same
SQL, the same type conversions (bind and result processors, `UTCDateTime`'s included) and the
same Python-side defaults and `onupdate`s, in the transaction of the Core connection given.
SQLite only: PostgreSQL's statements are a round trip each, and go through `execute()`.
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
        if dialect.name != "sqlite":
            raise ValueError("Prepared statements run on SQLite only")
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        self.compiled, self.dialect, self.sql = compiled, dialect, compiled.string
        processors = compiled._bind_processors
        self.binds = [(name, processors.get(name)) for name in compiled.positiontup]
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
        arguments = [values[name] if processor is None else processor(values[name])
                     for name, processor in self.binds]
        cursor = connection.connection.cursor()
        try:
            cursor.execute(self.sql, arguments)
            row = cursor.fetchone() if self.columns else None
            if row is not None:
                cursor.fetchall()  # SQLite finishes a RETURNING statement's work on its last row
        except self.dialect.loaded_dbapi.Error as error:
            # As execute() raises it: callers (shared.outages) tell faults by SQLAlchemy's classes.
            raise exc.DBAPIError.instance(self.sql, None, error, self.dialect.loaded_dbapi.Error,
                                          hide_parameters=True, dialect=self.dialect) from error
        finally:
            cursor.close()
        if row is None:
            return None
        return {name: value if processor is None else processor(value)
                for (name, processor), value in zip(self.columns, row)}


def _value_of(default):
    if default.is_scalar:
        return lambda: default.arg
    if default.is_callable:
        return lambda: default.arg(None)
    raise ValueError(f"a default Prepared cannot evaluate: {default!r}")
