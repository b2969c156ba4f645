"""Alembic environment shared by every service; the metadata is the one its declaration's models hold."""
from alembic import context
from sqlalchemy import engine_from_config, pool

from shared.services import declared

config = context.config
service = config.attributes.get("service") or config.get_main_option("service")
target_metadata = declared()[service].models.Base.metadata


def run_migrations_online():
    engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `abierto db upgrade`")
run_migrations_online()
