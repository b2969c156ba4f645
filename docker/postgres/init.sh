#!/bin/sh
# Run by the postgres image (/docker-entrypoint-initdb.d) on an empty data volume, as
# the superuser, with the container's environment: one role and one database per
# service, each with its own password (see init.sql). A shell script rather than plain
# SQL because the passwords come from the environment, never from this file. The
# commitments' database also gets history.sql: its role may only read and append there.
set -eu
# An empty password would make a role anyone on the network could log in as.
: "${REGISTRATION_DB_PASSWORD:?set REGISTRATION_DB_PASSWORD}"
: "${COMMITMENTS_DB_PASSWORD:?set COMMITMENTS_DB_PASSWORD}"
: "${NOTIFICATIONS_DB_PASSWORD:?set NOTIFICATIONS_DB_PASSWORD}"
for service in registration commitments notifications; do
  case $service in
    registration) password=$REGISTRATION_DB_PASSWORD ;;
    commitments) password=$COMMITMENTS_DB_PASSWORD ;;
    notifications) password=$NOTIFICATIONS_DB_PASSWORD ;;
  esac
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v service="$service" -v password="$password" -f /abierto/init.sql
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v service=commitments -f /abierto/history.sql
