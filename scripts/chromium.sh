#!/usr/bin/env bash
# Debian's Chromium, for the real-browser test (b2b_assets_tests/ops/test_browser.py).
#
#   scripts/chromium.sh install   # install Debian's chromium if it is missing (as root), print its path
#   scripts/chromium.sh path      # print its path, exit 1 when it is not installed
#
# Playwright (the `playwright` package of the [test] extra) drives this binary through
# `executable_path`; `playwright install` and its own browser builds are never used.
# `install` is idempotent and safe to run concurrently (a lock file serialises it).
# Environment: B2B_CHROMIUM (a Chromium binary to use instead of Debian's).
set -euo pipefail

CHROMIUM="${B2B_CHROMIUM:-/usr/bin/chromium}"
LOCK="${TMPDIR:-/tmp}/b2b_chromium_install.lock"

log() { echo "chromium.sh: $*" >&2; }
die() { log "$*"; exit 1; }

installed() { [ -x "${CHROMIUM}" ]; }

install() {
    installed && { echo "${CHROMIUM}"; return; }
    [ "$(id -u)" = 0 ] || die "${CHROMIUM} is missing; run as root or: apt-get install chromium"
    exec 9>>"${LOCK}"
    flock -w 900 9 || die "timed out waiting for ${LOCK}"
    if ! installed; then
        log "installing chromium from Debian"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends chromium </dev/null >/dev/null
        installed || die "chromium installed but ${CHROMIUM} is missing"
    fi
    echo "${CHROMIUM}"
}

case "${1:-}" in
    install) install ;;
    path) installed && echo "${CHROMIUM}" ;;
    *) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
