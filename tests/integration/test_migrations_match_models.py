"""Each service's migrations build exactly the schema its models declare (columns, types,
indexes and constraints with their conventional names), on SQLite and PostgreSQL."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared import services


@pytest.mark.parametrize("service", services.with_database())
def test_the_migrated_schema_is_the_models_schema(database, service):
    """Nothing for autogenerate to add: a model changed without its migration fails here."""
    metadata = services.declared()[service].models.Base.metadata
    with database(service).engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
