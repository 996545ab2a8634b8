# pg_lib.sh - a throw-away PostgreSQL server for the end-to-end tests, sourced by
# test_site.sh and test_station_site.sh: initdb in a temporary folder, the server on
# loopback at a free port (fsync off), a database "site" owned by the role "site" (trust
# authentication, loopback only). Run as root, the server runs as nobody.
#
#   pg_find NAME        PGBIN set, 0; or a notice naming the test and 1 (the caller exits 77)
#   pg_vars             after $work exists: pgdata, asuser
#   pg_init NAME        initdb, start, CREATE DATABASE site; PGPORT and DB set; exits 77
#                       (a notice naming the test) when the server cannot be made to run
#   pg_start, pg_stop   the server (pg_stop: fast shutdown, waits)
#   pg_cleanup          the server stopped at once (for the caller's EXIT trap)
#   psql_ ARGS...       psql on the server as "site" (-X -q -A -t)
#   q SQL               one statement on the database "site"

pg_find() {
  PGBIN=${PGBIN:-}
  if [ -z "$PGBIN" ]; then
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PGBIN=$d; done
  fi
  if [ -z "$PGBIN" ] || ! command -v psql >/dev/null; then
    echo "notice: PostgreSQL server not installed (initdb/psql): $1 skipped"
    return 1
  fi
}

pg_vars() {
  pgdata=$work/pg
  asuser=()
  if [ "$(id -u)" -eq 0 ]; then asuser=(runuser -u nobody --); fi
}

pg_free_port() { rs_free_port; }

pg_start() {
  "${asuser[@]}" "$PGBIN/pg_ctl" -D "$pgdata" -l "$work/sock/pg.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $work/sock -c fsync=off -c synchronous_commit=off" \
    start >/dev/null
}

pg_stop() { "${asuser[@]}" "$PGBIN/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null; }

pg_cleanup() {
  [ -n "${pgdata:-}" ] || return 0
  "${asuser[@]}" "$PGBIN/pg_ctl" -D "$pgdata" stop -m immediate >/dev/null 2>&1 || true
}

psql_() { psql -X -q -A -t -h 127.0.0.1 -p "$PGPORT" -U site "$@"; }
q() { psql_ -d site -c "$1"; }

pg_init() {
  mkdir -p "$pgdata" "$work/sock"
  [ "$(id -u)" -eq 0 ] && chown nobody "$pgdata" "$work/sock"
  if ! "${asuser[@]}" "$PGBIN/initdb" -D "$pgdata" -U site --auth=trust -E UTF8 >"$work/initdb.log" 2>&1; then
    echo "notice: initdb failed ($(tail -1 "$work/initdb.log")): $1 skipped"; exit 77
  fi
  PGPORT=$(pg_free_port)
  if ! pg_start; then
    echo "notice: the PostgreSQL server would not start ($(tail -1 "$work/sock/pg.log" 2>/dev/null)): $1 skipped"
    exit 77
  fi
  psql_ -d postgres -c "CREATE DATABASE site" >/dev/null
  DB="host=127.0.0.1 port=$PGPORT dbname=site user=site"
}
