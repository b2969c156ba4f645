-- Run once by the postgres image on an empty data volume
-- (/docker-entrypoint-initdb.d), as the superuser abierto (POSTGRES_USER).
-- One database per service; each service's Alembic migrations create its tables.
CREATE DATABASE registration OWNER abierto;
CREATE DATABASE commitments OWNER abierto;
CREATE DATABASE notifications OWNER abierto;
