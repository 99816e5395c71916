#!/usr/bin/env bash
# Creates one database per service on first start of the PostgreSQL container.
set -euo pipefail
for db in ${TANDEM_DATABASES:-profiles matching sessions advisors insights}; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" -c "CREATE DATABASE $db" || true
done
