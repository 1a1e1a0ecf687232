#!/usr/bin/env bash
# Starts, idempotently, the throwaway services the integration tests talk to, from Debian packages only:
#   a PostgreSQL cluster in $CIVICLENS_HOME/test-services/pg (127.0.0.1:55432, superuser civiclens, scram password)
#   and a Mosquitto broker (127.0.0.1:51883), both run here rather than as the Debian system services
#   (which may not start in a container without systemd). Writes $CIVICLENS_HOME/test-services/env with
#   CIVICLENS_TEST_POSTGRES (an Npgsql connection string) and CIVICLENS_TEST_MQTT (host:port) for `source`.
# Reuses servers already up from an earlier run; restarts after stale pid files. `test-services.sh stop` stops both.
# Ports: CIVICLENS_TEST_PG_PORT, CIVICLENS_TEST_MQTT_PORT.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CIVICLENS_HOME="${CIVICLENS_HOME:-$repo/.civiclens}"
pg_port="${CIVICLENS_TEST_PG_PORT:-55432}"
mqtt_port="${CIVICLENS_TEST_MQTT_PORT:-51883}"
action="${1:-start}"
[[ "$action" == start || "$action" == stop ]] || { echo "usage: $0 [start|stop]" >&2; exit 2; }

dir="$CIVICLENS_HOME/test-services"
pg="$dir/pg"           # owned by the server's user: data/, password, log, unix socket
mq="$dir/mosquitto"    # mosquitto.conf, mosquitto.pid, mosquitto.log

sudo_cmd=()
is_root=0
if [[ "$(id -u)" -ne 0 ]]; then sudo_cmd=(sudo); else is_root=1; fi

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"
    "${sudo_cmd[@]}" apt-get update -qq
    apt_updated=1
  fi
  log "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# PostgreSQL refuses to run as root: as root, the server and its tools run as the package's postgres user
# (from /, so an unreadable working directory does not bother them).
as_pg() {
  if [[ $is_root -eq 1 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# True when the pid file names a live process with that command name: a pid reused by another program is stale,
# and so is a zombie (a container's init may never reap a killed server, and kill -0 still finds it).
pid_alive() { # pid_file comm
  local pid stat
  [[ -s "$1" ]] || return 1
  pid="$(head -n1 "$1" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  [[ "${stat##*) }" != Z* ]]
}

# Runs what leaves a daemon behind with only stdin, stdout and stderr open: a daemon holding our lock would make
# the next run wait forever, and one holding a caller's pipe would keep that caller from ever seeing its end.
detached() (
  for fd in "/proc/$BASHPID/fd"/*; do
    fd="${fd##*/}"
    if [[ "$fd" -gt 2 ]]; then { exec {fd}>&-; } 2>/dev/null || true; fi
  done
  "$@"
)

mqtt_answers() { mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t '$SYS/broker/version' -C 1 -W 2 >/dev/null 2>&1; }

# The newest Debian PostgreSQL (15 on Debian 12), never whatever `postgres` is on PATH.
pg_bin() {
  local bins
  bins="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  [[ -x "$bins/pg_ctl" ]] || return 1
  echo "$bins"
}

# Live processes working in the cluster's folder (postgres runs from its data folder): the backends of a killed
# server outlive it until they notice, and a new server must not start beside them.
pg_orphans() {
  local data p comm
  data="$(realpath -e "$pg/data")" || return 0
  for p in /proc/[0-9]*; do
    { read -r comm <"$p/comm"; } 2>/dev/null && [[ "$comm" == postgres ]] || continue
    [[ "$(readlink "$p/cwd" 2>/dev/null)" == "$data" ]] && echo "${p#/proc/}"
  done
  return 0
}

pg_running() { [[ -d "$pg/data" ]] && pid_alive "$pg/data/postmaster.pid" postgres && as_pg "$bin/pg_ctl" status -D "$pg/data" >/dev/null 2>&1; }

stop_all() {
  if bin="$(pg_bin)" && pg_running; then
    log "stopping PostgreSQL"
    as_pg "$bin/pg_ctl" stop -D "$pg/data" -m fast -w -t 60 >/dev/null
  fi
  if pid_alive "$mq/mosquitto.pid" mosquitto; then
    log "stopping Mosquitto"
    local pid i
    pid="$(head -n1 "$mq/mosquitto.pid")"
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do pid_alive "$mq/mosquitto.pid" mosquitto || break; sleep 0.1; done
  fi
  rm -f "$mq/mosquitto.pid"
}

mkdir -p "$dir"
# One run at a time (two test runs starting together would both try to create the cluster).
exec 9>"$dir/lock"
flock 9

if [[ "$action" == stop ]]; then stop_all; exit 0; fi

apt_install postgresql mosquitto mosquitto-clients
bin="$(pg_bin)" || die "no PostgreSQL under /usr/lib/postgresql/*/bin after installing postgresql"
[[ $is_root -eq 0 ]] || getent passwd postgres >/dev/null || die "the postgres user (from the postgresql package) is missing"

# --- PostgreSQL ---------------------------------------------------------------------------------------------
mkdir -p "$pg"
chmod 700 "$pg"
[[ $is_root -eq 0 ]] || chown postgres:postgres "$pg"
as_pg test -w "$pg" || die "the postgres user cannot write $pg (make its parent folders searchable by others)"

# A cluster missing its password, or made by another major version, is thrown away and made again.
if [[ -d "$pg/data" ]] && { [[ ! -s "$pg/password" ]] || [[ "$(cat "$pg/data/PG_VERSION" 2>/dev/null)" != "$(basename "$(dirname "$bin")")" ]]; }; then
  pg_running && as_pg "$bin/pg_ctl" stop -D "$pg/data" -m immediate -w >/dev/null 2>&1 || true
  log "discarding the unusable test cluster in $pg"
  rm -rf "$pg/data"
fi

if [[ ! -d "$pg/data" ]]; then
  log "creating a PostgreSQL test cluster in $pg"
  # Hex keeps the password free of the connection string's ';' and quotes.
  (umask 077 && od -An -N18 -tx1 /dev/urandom | tr -d ' \n' >"$pg/password")
  [[ $is_root -eq 0 ]] || chown postgres:postgres "$pg/password"
  rm -rf "$pg/data.new"
  as_pg "$bin/initdb" -D "$pg/data.new" -U civiclens --pwfile="$pg/password" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$pg/initdb.log" 2>&1 || { cat "$pg/initdb.log" >&2; die "initdb failed"; }
  # Small and quiet for tests; fsync, synchronous_commit and full_page_writes stay on (crash tests need them).
  as_pg tee -a "$pg/data.new/postgresql.conf" >/dev/null <<'EOF'

# CivicLens test cluster (tools/test-services.sh)
listen_addresses = '127.0.0.1'
shared_buffers = 32MB
max_connections = 100
include_if_exists = 'civiclens.conf'
EOF
  as_pg mv "$pg/data.new" "$pg/data"   # only a complete cluster ever sits at data/
fi

# Up from an earlier run on the wanted port: reuse it. Up on another port: restart it.
pg_ready=0
if pg_running; then
  if [[ "$(sed -n 4p "$pg/data/postmaster.pid")" == "$pg_port" ]] && "$bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -t 5; then
    pg_ready=1
  else
    log "restarting PostgreSQL on port $pg_port"
    as_pg "$bin/pg_ctl" stop -D "$pg/data" -m fast -w -t 60 >/dev/null
  fi
fi
if [[ $pg_ready -eq 0 ]]; then
  # A killed server's lock files name a pid that may be reused, or a zombie, by now, and would stop the new one
  # starting: remove them, but only once none of its processes is left (postgres's own check reads that pid file).
  for ((i = 0; i < 100; i++)); do [[ -z "$(pg_orphans)" ]] && break; sleep 0.1; done
  orphans="$(pg_orphans | paste -sd ' ')"
  [[ -z "$orphans" ]] || die "processes of an earlier server still run in $pg/data (pids $orphans): end them first"
  rm -f "$pg/data/postmaster.pid" "$pg"/.s.PGSQL.*.lock
  # Port and socket folder per start; the socket only where its path fits a Unix socket address (107 bytes).
  sock="$pg"
  if [[ $(printf '%s' "$pg/.s.PGSQL.$pg_port" | wc -c) -gt 107 ]]; then sock=""; fi
  [[ -z "$sock" ]] || sock="\"${sock//\'/\'\'}\""   # quoted list element, for paths with spaces or commas
  printf "port = %s\nunix_socket_directories = '%s'\n" "$pg_port" "$sock" |
    as_pg tee "$pg/data/civiclens.conf" >/dev/null
  log "starting PostgreSQL on 127.0.0.1:$pg_port"
  detached as_pg "$bin/pg_ctl" start -D "$pg/data" -l "$pg/postgres.log" -w -t 60 >/dev/null ||
    { tail -n 20 "$pg/postgres.log" >&2; die "PostgreSQL did not start (log: $pg/postgres.log)"; }
fi

# --- Mosquitto ----------------------------------------------------------------------------------------------
mkdir -p "$mq"
# As root mosquitto drops to its package's user, which must be able to write its pid and log files here.
[[ $is_root -eq 0 ]] || chown mosquitto: "$mq"
if pid_alive "$mq/mosquitto.pid" mosquitto && grep -qx "listener $mqtt_port 127.0.0.1" "$mq/mosquitto.conf" && mqtt_answers; then
  : # up from an earlier run
else
  if pid_alive "$mq/mosquitto.pid" mosquitto; then
    kill "$(head -n1 "$mq/mosquitto.pid")" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$mq/mosquitto.pid"
  cat >"$mq/mosquitto.conf" <<EOF
# CivicLens test broker (tools/test-services.sh). Anonymous clients are allowed: the broker listens on
# loopback only and exists only for the tests, so nothing off this machine can reach it.
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence false
pid_file $mq/mosquitto.pid
log_dest file $mq/mosquitto.log
log_timestamp_format %Y-%m-%dT%H:%M:%S
connection_messages false
EOF
  log "starting Mosquitto on 127.0.0.1:$mqtt_port"
  detached mosquitto -c "$mq/mosquitto.conf" -d
  for ((i = 0; i < 50; i++)); do pid_alive "$mq/mosquitto.pid" mosquitto && mqtt_answers && break; sleep 0.1; done
  pid_alive "$mq/mosquitto.pid" mosquitto && mqtt_answers || { tail -n 20 "$mq/mosquitto.log" >&2 || true; die "Mosquitto did not start (log: $mq/mosquitto.log)"; }
fi

# --- Environment for the tests ------------------------------------------------------------------------------
env_file="$dir/env"
(umask 077 && cat >"$env_file.new" <<EOF
export CIVICLENS_TEST_POSTGRES='Host=127.0.0.1;Port=$pg_port;Username=civiclens;Password=$(cat "$pg/password");Database=postgres'
export CIVICLENS_TEST_MQTT='127.0.0.1:$mqtt_port'
EOF
)
mv "$env_file.new" "$env_file"
