#!/usr/bin/env bash
# Installs the SYSTEM prerequisites of Tandem's real local infrastructure on a
# Debian/Ubuntu machine:
#   * PostgreSQL server binaries (initdb, pg_ctl, postgres)  -> apt: postgresql
#   * Java runtime for the Kafka broker                       -> apt: openjdk-17-jre-headless
#   * Maven, to resolve the Kafka broker jars                 -> apt: maven
#   * Chromium, driven headless by the dashboard's browser tests -> apt: chromium
#   * Node.js and npm (the dashboard's build, >= 20.19)        -> apt: nodejs npm (if absent)
#   * Go (builds kustomize and the compose loader for the
#     offline deployment checks in tests/deploy)              -> apt: golang-go (if absent)
# Debian 12's nodejs and golang-go are older than the dashboard and kustomize need; a
# machine without a newer Node.js/Go gets them as a last resort and the tests that need
# more say so (tests/portal, tests/deploy).
# Idempotent: when everything is present it does nothing (no apt-get update).
# Run as root, or as a user with sudo.
set -euo pipefail

have_pg_server() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
            return 0
        fi
    fi
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
            return 0
        fi
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 \
        && command -v postgres >/dev/null 2>&1
}

packages=()
have_pg_server || packages+=(postgresql)
command -v java >/dev/null 2>&1 || packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || packages+=(maven)
# The dashboard's browser tests (tests/portal) drive Debian's chromium through
# playwright-core; they never download a browser of their own.
[ -x /usr/bin/chromium ] || packages+=(chromium)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
command -v go >/dev/null 2>&1 || packages+=(golang-go)

if [ "${#packages[@]}" -eq 0 ]; then
    echo "bootstrap: PostgreSQL server, java, mvn, chromium, node, npm and go are already installed."
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "bootstrap: need root (or sudo) to install: ${packages[*]}" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: apt-get not found; install these yourself: ${packages[*]}" >&2
    exit 1
fi

echo "bootstrap: installing ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
${as_root[@]+"${as_root[@]}"} apt-get update
${as_root[@]+"${as_root[@]}"} apt-get install -y --no-install-recommends "${packages[@]}"
echo "bootstrap: done (installed ${packages[*]})"
