#!/usr/bin/env bash
# A local PostgreSQL 15 cluster: throwaway for tests, or durable for local production-mode runs.
#
#   scripts/postgres.sh start            # install PostgreSQL 15 if needed, init + start the cluster, print its URL
#   scripts/postgres.sh start --durable  # the same, as a durable cluster (local production mode)
#   scripts/postgres.sh url              # print the URL
#   scripts/postgres.sh status           # exit 0 when running
#   scripts/postgres.sh stop             # stop the cluster (its data stays until the directory is removed)
#   scripts/postgres.sh crash            # tests only: stop at once, as a crash would (no checkpoint, no flush)
#
# The cluster lives in .tmp_pg/ at the repository root (gitignored), listens on
# 127.0.0.1 only, trusts local TCP connections, has a database `b2b`, and runs
# as the unprivileged `postgres` user when invoked as root.
#
# Durability. The default (test) cluster runs with fsync, synchronous_commit and
# full_page_writes off: fast, and fit for tests only. A crash or an immediate stop
# can lose transactions it already reported committed (the sync ledger then forgets
# batches the target has, and resends them). `--durable` (or B2B_PG_DURABLE=1)
# creates a cluster with PostgreSQL's durable defaults instead: a committed ledger
# batch survives a crash. A cluster keeps the mode it was created with; use another
# B2B_PG_DIR for the other mode.
#
# Environment: B2B_PG_DIR (cluster directory, default <repo>/.tmp_pg),
#              B2B_PG_PORT (preferred port, default 55432; the next free one is used if it is taken),
#              B2B_PG_DURABLE=1 (same as --durable).
# `start` is idempotent and safe to run concurrently (a lock file serialises it).
set -euo pipefail

PG_VERSION=15
PG_BIN="/usr/lib/postgresql/${PG_VERSION}/bin"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_ROOT="${B2B_PG_DIR:-${REPO}/.tmp_pg}"
PREFERRED_PORT="${B2B_PG_PORT:-55432}"
DURABLE="${B2B_PG_DURABLE:-0}"
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

# --- scripts/postgres.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
EOF
    if [ "${DURABLE}" = 1 ]; then
        as_owner tee -a "${data}/postgresql.conf" >/dev/null <<'EOF'
# durable (local production mode): every commit is on disk before it is reported
fsync = on
synchronous_commit = on
full_page_writes = on
EOF
        echo durable >"${PG_ROOT}/mode"
    else
        as_owner tee -a "${data}/postgresql.conf" >/dev/null <<'EOF'
# throwaway TEST cluster: commits may be lost on a crash; never keep data you need here
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
        echo test >"${PG_ROOT}/mode"
    fi
}

# A durable request must not silently get a test cluster (or the other way round).
check_mode() {
    local want have
    want="$([ "${DURABLE}" = 1 ] && echo durable || echo test)"
    have="$(cat "${PG_ROOT}/mode" 2>/dev/null || echo test)"
    [ "${want}" = "${have}" ] || die "the cluster in ${PG_ROOT} is a ${have} cluster, not ${want}; use another B2B_PG_DIR"
}

start() {
    install_postgres
    prepare_dirs
    exec 9>>"${PG_ROOT}/lock"
    flock -w 300 9 || die "timed out waiting for ${PG_ROOT}/lock"
    local data chosen
    data="$(data_dir)"
    [ -f "${data}/PG_VERSION" ] && check_mode
    if running; then
        url
        return
    fi
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

if [ "${2:-}" = "--durable" ]; then
    DURABLE=1
fi

crash() {
    running || return 0
    as_owner "${PG_BIN}/pg_ctl" -D "$(data_dir)" -m immediate -w stop </dev/null >/dev/null
    log "crashed (immediate stop)"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    crash) crash ;;
    url) url ;;
    status) running ;;
    *) echo "usage: $0 start [--durable]|stop|crash|url|status" >&2; exit 2 ;;
esac
