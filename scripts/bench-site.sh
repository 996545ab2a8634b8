#!/usr/bin/env bash
# bench-site.sh - the site's figures of reman-bench (docs/benchmarks.md, "The site"):
# starts a PostgreSQL server of its own the way tests/e2e/test_site.sh does (initdb in a
# folder, pg_ctl on a free loopback port; as user nobody when run as root), with the
# server's default durability (fsync and synchronous commit on), then runs
#   build/bin/reman-bench --only site --site-conninfo "host=127.0.0.1 port=P dbname=site ..."
# and stops the server.
#
#   scripts/bench-site.sh [--data DIR] [--bin DIR] [reman-bench arguments: --json, --site-rows N]
#
# --data DIR keeps the server's files in DIR (made when absent) instead of a temporary
# folder: the next run with the same DIR reuses the million decisions the first one
# filled (about 5 GB) and measures again. Without it everything is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/build/bin
data=
while [ $# -gt 0 ]; do
  case $1 in
    --data) data=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) break ;;
  esac
done
[ -x "$bin/reman-bench" ] || { echo "bench-site: $bin/reman-bench not built (cmake --build build)" >&2; exit 2; }
PGBIN=${PGBIN:-}
if [ -z "$PGBIN" ]; then
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PGBIN=$d; done
fi
[ -n "$PGBIN" ] || { echo "bench-site: no PostgreSQL server (apt install postgresql)" >&2; exit 2; }
asuser=()
if [ "$(id -u)" -eq 0 ]; then asuser=(runuser -u nobody --); fi
if [ -n "$data" ]; then
  mkdir -p "$data"
  work=$(cd "$data" && pwd)
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/rs-bench-site-XXXXXX")
fi
chmod 755 "$work"
pgdata=$work/pg
mkdir -p "$pgdata" "$work/sock"
[ "$(id -u)" -eq 0 ] && chown nobody "$pgdata" "$work/sock"
started=0
cleanup() {
  [ "$started" = 1 ] && "${asuser[@]}" "$PGBIN/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
  if [ -z "$data" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
fresh=0
if [ ! -f "$pgdata/PG_VERSION" ]; then
  "${asuser[@]}" "$PGBIN/initdb" -D "$pgdata" -U site --auth=trust -E UTF8 >"$work/initdb.log" 2>&1 ||
    { echo "bench-site: initdb failed: $(tail -1 "$work/initdb.log")" >&2; exit 1; }
  fresh=1
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${asuser[@]}" "$PGBIN/pg_ctl" -D "$pgdata" -l "$work/sock/pg.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $work/sock -c shared_buffers=256MB -c max_wal_size=4GB" \
  start >/dev/null || { echo "bench-site: the server would not start: $(tail -3 "$work/sock/pg.log")" >&2; exit 1; }
started=1
if [ "$fresh" = 1 ]; then
  psql -X -q -h 127.0.0.1 -p "$port" -U site -d postgres -c "CREATE DATABASE site" >/dev/null
fi
echo "bench-site: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $pgdata" >&2
"$bin/reman-bench" --only site --site-conninfo "host=127.0.0.1 port=$port dbname=site user=site" "$@"
