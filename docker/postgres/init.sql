-- One service's role and database. docker/postgres/init.sh runs this once per service
-- (psql variables `service` and `password`) as the superuser, when the postgres image
-- first starts on an empty data volume; each service's Alembic migrations make its tables.
--
-- The role owns its database and nothing else: not a superuser, cannot create roles or
-- databases, and no other role but the superuser may connect to its database (PUBLIC
-- has CONNECT on every new database by default; it is taken away here).
CREATE ROLE :"service" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE :"service" OWNER :"service";
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;
