#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and local production-mode runs.
#
#   scripts/postgres.sh start   # install PostgreSQL 15 if needed, init + start the cluster, print its URL
#   scripts/postgres.sh url     # print the URL
#   scripts/postgres.sh status  # exit 0 when running
#   scripts/postgres.sh stop    # stop the cluster (its data stays until the directory is removed)
#
# The cluster lives in .tmp_pg/ at the repository root (gitignored), listens on
# 127.0.0.1 only, trusts local TCP connections, has a database `b2b`, and runs
# as the unprivileged `postgres` user when invoked as root. Durability is off:
# it is for tests, never for data you keep.
#
# Environment: B2B_PG_DIR (cluster directory, default <repo>/.tmp_pg),
#              B2B_PG_PORT (preferred port, default 55432; the next free one is used if it is taken).
# `start` is idempotent and safe to run concurrently (a lock file serialises it).
set -euo pipefail

PG_VERSION=15
PG_BIN="/usr/lib/postgresql/${PG_VERSION}/bin"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_ROOT="${B2B_PG_DIR:-${REPO}/.tmp_pg}"
PREFERRED_PORT="${B2B_PG_PORT:-55432}"
DATABASE=b2b
SUPERUSER=postgres

log() { echo "postgres.sh: $*" >&2; }
die() { log "$*"; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# Run a server command as the unprivileged owner of the cluster (postgres refuses to run as root).
as_owner() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

install_postgres() {
    if [ -x "${PG_BIN}/pg_ctl" ] && [ -x "${PG_BIN}/initdb" ]; then
        return
    fi
    is_root || die "PostgreSQL ${PG_VERSION} is not installed (${PG_BIN}); run as root or: apt-get install postgresql-${PG_VERSION}"
    log "installing postgresql-${PG_VERSION} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "postgresql-${PG_VERSION}" </dev/null >/dev/null
    [ -x "${PG_BIN}/pg_ctl" ] || die "postgresql-${PG_VERSION} installed but ${PG_BIN}/pg_ctl is missing"
}

# Where the data lives. As root, the `postgres` user must be able to reach it: when the
# repository sits below a directory it cannot traverse (e.g. /root), use a private
# directory under /tmp instead and remember it in .tmp_pg/data_dir.
data_dir() {
    if [ -f "${PG_ROOT}/data_dir" ]; then
        cat "${PG_ROOT}/data_dir"
    else
        echo "${PG_ROOT}/data"
    fi
}

prepare_dirs() {
    mkdir -p "${PG_ROOT}"
    if ! is_root || [ -f "${PG_ROOT}/data_dir" ]; then
        return
    fi
    chown postgres: "${PG_ROOT}"
    if ! runuser -u postgres -- test -w "${PG_ROOT}"; then
        local fallback
        fallback="$(mktemp -d "${TMPDIR:-/tmp}/b2b_pg.XXXXXX")"
        chown postgres: "${fallback}"
        chmod 700 "${fallback}"
        echo "${fallback}/data" >"${PG_ROOT}/data_dir"
        log "postgres cannot reach ${PG_ROOT}; using ${fallback}"
    fi
}

port() { cat "${PG_ROOT}/port" 2>/dev/null || echo "${PREFERRED_PORT}"; }

url() { echo "postgresql://${SUPERUSER}@127.0.0.1:$(port)/${DATABASE}"; }

running() {
    local data
    data="$(data_dir)"
    [ -f "${data}/PG_VERSION" ] && as_owner "${PG_BIN}/pg_ctl" -D "${data}" status >/dev/null 2>&1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    local candidate="${PREFERRED_PORT}"
    while port_in_use "${candidate}"; do
        candidate=$((candidate + 1))
        [ "${candidate}" -lt $((PREFERRED_PORT + 100)) ] || die "no free port in ${PREFERRED_PORT}..$((PREFERRED_PORT + 99))"
    done
    echo "${candidate}"
}

init_cluster() {
    local data="$1"
    [ -f "${data}/PG_VERSION" ] && return
    log "initialising a cluster in ${data}"
    as_owner mkdir -p "${data}"
    as_owner "${PG_BIN}/initdb" -D "${data}" -U "${SUPERUSER}" -E UTF8 --no-locale \
        --auth-local=trust --auth-host=trust >/dev/null
    as_owner tee "${data}/pg_hba.conf" >/dev/null <<'EOF'
# throwaway test cluster: trust local TCP only
local all all              trust
host  all all 127.0.0.1/32 trust
EOF
    as_owner tee -a "${data}/postgresql.conf" >/dev/null <<'EOF'

# --- scripts/postgres.sh: throwaway test cluster ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

start() {
    install_postgres
    prepare_dirs
    exec 9>>"${PG_ROOT}/lock"
    flock -w 300 9 || die "timed out waiting for ${PG_ROOT}/lock"
    if running; then
        url
        return
    fi
    local data chosen
    data="$(data_dir)"
    init_cluster "${data}"
    chosen="$(free_port)"
    echo "${chosen}" >"${PG_ROOT}/port"
    is_root && chown postgres: "${PG_ROOT}/port" "${PG_ROOT}/lock"
    log "starting PostgreSQL ${PG_VERSION} on 127.0.0.1:${chosen}"
    if ! as_owner "${PG_BIN}/pg_ctl" -D "${data}" -l "${data}/server.log" -w -t 60 \
            -o "-p ${chosen}" start </dev/null >/dev/null 2>>"${PG_ROOT}/pg_ctl.log" 9>&-; then
        tail -n 30 "${PG_ROOT}/pg_ctl.log" "${data}/server.log" >&2 || true
        die "PostgreSQL did not start"
    fi
    local psql=("${PG_BIN}/psql" -h 127.0.0.1 -p "${chosen}" -U "${SUPERUSER}" -d postgres -v ON_ERROR_STOP=1 -qtA)
    if [ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '${DATABASE}'" </dev/null)" ]; then
        "${psql[@]}" -c "CREATE DATABASE ${DATABASE}" </dev/null >/dev/null
    fi
    url
}

stop() {
    [ -d "${PG_ROOT}" ] || return 0
    exec 9>>"${PG_ROOT}/lock"
    flock -w 300 9 || die "timed out waiting for ${PG_ROOT}/lock"
    if running; then
        as_owner "${PG_BIN}/pg_ctl" -D "$(data_dir)" -m fast -w stop </dev/null >/dev/null
        log "stopped"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) url ;;
    status) running ;;
    *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
