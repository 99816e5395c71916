#!/usr/bin/env bash
# Example generator of the Secrets the manifests reference (none is committed).
# Prints them as YAML; nothing is sent anywhere unless you pipe it to kubectl:
#
#   export NAMESPACE=tandem DATABASE_HOST=postgres.databases:5432
#   export JWT_SECRET=$(openssl rand -base64 48)
#   export PROFILES_DB_PASSWORD=... MATCHING_DB_PASSWORD=... SESSIONS_DB_PASSWORD=...
#   export ADVISORS_DB_PASSWORD=... INSIGHTS_DB_PASSWORD=...
#   export PROFILES_MASTER_KEY=$(openssl rand -base64 32)
#   export ADVISORS_MASTER_KEY=$(openssl rand -base64 32)
#   export SESSIONS_PULSE_KEY=$(openssl rand -base64 32)
#   export SESSIONS_MASTER_KEY=$(openssl rand -base64 32)
#   deploy/k8s/make-secrets.sh | kubectl apply -f -
#
# Each service gets its own database user (named like the service and its database)
# and sees only its own credentials: tandem-jwt (JWT_SECRET) and <service>-secrets
# (DATABASE_URL, plus the service's master key where it has one, and sessions' pulse
# ledger key). Passwords go into a
# URL: use URL-safe ones (openssl rand -hex 24). Master keys are 32 random bytes,
# base64; losing one makes that service's encrypted personal data unreadable, so keep
# them in your secret store, not only in the cluster.
set -euo pipefail

namespace="${NAMESPACE:?set NAMESPACE (tandem, or tandem-dev for the development overlay)}"
host="${DATABASE_HOST:?set DATABASE_HOST (host:port of PostgreSQL)}"

secret() {
    kubectl create secret generic "$1" --namespace "$namespace" \
        --dry-run=client --output yaml "${@:2}"
    echo "---"
}

secret tandem-jwt \
    --from-literal=JWT_SECRET="${JWT_SECRET:?set JWT_SECRET (openssl rand -base64 48)}"

for service in profiles matching sessions advisors insights notifications; do
    var="${service^^}_DB_PASSWORD"
    password="${!var:?set $var (URL-safe, e.g. openssl rand -hex 24)}"
    extra=()
    case "$service" in
        profiles)
            extra=(--from-literal=PROFILES_MASTER_KEY="${PROFILES_MASTER_KEY:?set PROFILES_MASTER_KEY}")
            ;;
        sessions)
            extra=(
                --from-literal=SESSIONS_PULSE_KEY="${SESSIONS_PULSE_KEY:?set SESSIONS_PULSE_KEY}"
                --from-literal=SESSIONS_MASTER_KEY="${SESSIONS_MASTER_KEY:?set SESSIONS_MASTER_KEY}"
            )
            ;;
        advisors)
            extra=(--from-literal=ADVISORS_MASTER_KEY="${ADVISORS_MASTER_KEY:?set ADVISORS_MASTER_KEY}")
            ;;
    esac
    secret "$service-secrets" \
        --from-literal=DATABASE_URL="postgresql+asyncpg://$service:$password@$host/$service" \
        ${extra[@]+"${extra[@]}"}
done
