#!/usr/bin/env bash
# What `make test` needs from the machine, made ready before the suite runs (also called by `.ci/run`).
#
# As root on Debian it installs what is missing (python3-venv, postgresql, redis-server, chromium, faketime,
# wrk) and starts PostgreSQL and Redis when they are installed but do not answer. Without root it changes
# nothing: it prints what is missing, what that leaves out and the command that installs it; the tests that
# need it skip with the same reason. Under CI=true anything still missing fails here, as it would in the suite.
#
# The servers checked are the suite's defaults (tests/conftest.py): PostgreSQL on 127.0.0.1:5432, user postgres,
# database test; Redis on 127.0.0.1:6379. Where TEST_DATABASE_URL or TEST_REDIS_URL name others, those are the
# caller's to run and are not touched here.
set -uo pipefail

in_ci() { case "${CI:-}" in 1 | true | TRUE | True | yes) return 0 ;; *) return 1 ;; esac; }
say() { printf '[test-machine] %s\n' "$*"; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then can_install=1; else can_install=0; fi
missing=()
updated=0

# install PACKAGE...: true when apt-get installed them (root only).
install() {
  [ "$can_install" = 1 ] || return 1
  export DEBIAN_FRONTEND=noninteractive
  if [ "$updated" = 0 ]; then
    apt-get update -qq >/dev/null || return 1
    updated=1
  fi
  say "installing $*"
  apt-get install -y -qq "$@" >/dev/null
}

# need WHAT LEAVES_OUT PACKAGE CHECK...: run CHECK; when it fails install PACKAGE (root) or note it as missing.
need() {
  local what=$1 leaves_out=$2 package=$3
  shift 3
  "$@" && return 0
  install "$package" && "$@" && return 0
  missing+=("$what is missing ($leaves_out): apt-get install $package")
  return 1
}

answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
pg_answers() { answers 127.0.0.1 5432; }
redis_answers() { answers 127.0.0.1 6379; }
wait_for() { for _ in $(seq 1 30); do "$@" && return 0; sleep 1; done; return 1; }

has_venv() { command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; }
has_chromium() { [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; }
has_faketime() { compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null || [ -e /usr/lib/faketime/libfaketime.so.1 ]; }
has_wrk() { command -v wrk >/dev/null; }
has_pg_server() { command -v pg_ctlcluster >/dev/null && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; }
has_redis_server() { command -v redis-server >/dev/null; }

start_postgres() {
  pg_answers && return 0
  has_pg_server || return 1
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start >/dev/null 2>&1
  wait_for pg_answers
}

start_redis() {
  redis_answers && return 0
  has_redis_server || return 1
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  wait_for redis_answers
}

# The suite's database: user postgres, database test (trust auth on loopback).
database_test() {
  command -v psql >/dev/null || return 0 # the suite reports it precisely if it cannot connect
  psql -h 127.0.0.1 -U postgres -d test -tAc 'SELECT 1' >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || return 1
  say "creating database test"
  su postgres -c 'psql -tAc "CREATE DATABASE test"' >/dev/null 2>&1 || createdb -h 127.0.0.1 -U postgres test
}

need "Python's venv" "nothing runs: make needs it to build .venv" python3-venv has_venv

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  if ! start_postgres; then
    if has_pg_server || ! install postgresql || ! start_postgres; then
      missing+=("PostgreSQL does not answer on 127.0.0.1:5432 (the PostgreSQL variants of the tests skip): apt-get install postgresql, then pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start")
    fi
  fi
  if pg_answers && ! database_test; then
    missing+=("database test is missing on 127.0.0.1:5432 (the PostgreSQL variants skip): createdb -h 127.0.0.1 -U postgres test")
  fi
fi

if [ -z "${TEST_REDIS_URL:-}" ]; then
  if ! start_redis; then
    if has_redis_server || ! install redis-server || ! start_redis; then
      missing+=("Redis does not answer on 127.0.0.1:6379 (the real-Redis variants of the tests skip): apt-get install redis-server, then redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no")
    fi
  fi
fi

need "Chromium at ${CHROMIUM_PATH:-/usr/bin/chromium}" "the browser tests skip; or set CHROMIUM_PATH" chromium has_chromium
need "libfaketime" "the daily-limit fault drill skips" faketime has_faketime
need "wrk" "the intake benchmark cannot run: make bench, make bench-quick" wrk has_wrk

if [ "${#missing[@]}" = 0 ]; then
  exit 0
fi
for line in "${missing[@]}"; do say "$line"; done
if in_ci; then
  say "CI=true: the suite must run whole, so a missing piece fails here (run as root to install it)"
  exit 1
fi
say "continuing without them (as root, make test installs them)"
exit 0
