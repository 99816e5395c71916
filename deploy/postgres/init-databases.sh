#!/usr/bin/env bash
# Creates one database per service on the first start of the PostgreSQL container
# (docker-entrypoint-initdb.d runs this once, on an empty data directory). Each service
# owns its database; none reads another's. Safe to run again: existing ones are kept.
set -euo pipefail
for db in ${TANDEM_DATABASES:-profiles matching sessions advisors insights notifications}; do
    if [[ ! "$db" =~ ^[a-z][a-z0-9_]*$ ]]; then
        echo "init-databases: refusing database name '$db'" >&2
        exit 1
    fi
    exists="$(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")"
    if [ "$exists" != "1" ]; then
        echo "init-databases: creating database $db"
        psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
            -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
    fi
done
