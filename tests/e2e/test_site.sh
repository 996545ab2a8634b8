#!/usr/bin/env bash
# test_site.sh - the site collector end to end against a real PostgreSQL server: initdb in
# a temporary folder, the server on loopback at a free port (skipped, exit 77, only when it
# cannot start). Ten simulated stations (reman-simstation: real stores, publishers and
# replay services) publish at full speed into one reman-collector; then faults: the
# collector SIGKILLed and restarted, PostgreSQL stopped and restarted while stations
# publish, a station restarted, and a hostile station (an impostor publishing under an
# enrolled station's id with another key) refused. After each: every decision in the site
# exactly once (count = sum, no seq gaps), evidence complete with verified hashes. Then
# reman-audit on the site database: a core's history across two stations, the export,
# verification, and changes made behind the collector's back named by station and seq.
set -euo pipefail
src=${RS_SOURCE_DIR:?}
bin=${RS_BINARY_DIR:?}/bin
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
# the server: tests/e2e/pg_lib.sh (shared with test_station_site.sh)
source "$src/tests/e2e/pg_lib.sh"
source "$src/tests/e2e/e2e_lib.sh" # check, stop_pids, demo_references, start_xvfb
pg_find test_site || exit 77
work=$(mktemp -d /tmp/rs-e2e-site-XXXXXX)
chmod 755 "$work"
pids=()
pg_vars
cleanup() {
  local rc=$?
  stop_pids
  if [ "$rc" -ne 0 ]; then # what the programs said, before it is removed
    local f
    for f in "$work"/collector.err "$work"/sim-*.err; do
      [ -s "$f" ] || continue
      echo "--- $(basename "$f") (last 40)"; tail -40 "$f"
    done
  fi
  pg_cleanup
  rm -rf "$work"
}
trap cleanup EXIT
port() { rs_free_port; }
now() { date +%s.%N; }

# --- PostgreSQL ---------------------------------------------------------------------------
pg_init test_site   # the server started, database "site", $DB; pg_start/pg_stop, psql_, q

# --- stations and the collector -----------------------------------------------------------
N=10
PER=${RS_SITE_PER_STATION:-2000}
declare -a PUBP REPP
for i in $(seq 1 $N); do PUBP[$i]=$(port); REPP[$i]=$(port); done
sim() { # sim I COUNT [ARGS...]: station st-I in the background
  local i=$1 n=$2; shift 2
  "$bin/reman-simstation" --store "$work/st-$i" --station "st-$i" \
    --publish "tcp://127.0.0.1:${PUBP[$i]}" --replay "tcp://127.0.0.1:${REPP[$i]}" \
    --rate max --count "$n" "$@" 2>>"$work/sim-$i.err" &
  simpid[$i]=$!; pids+=($!)
}
declare -a simpid
collector_args=()
for i in $(seq 1 $N); do
  collector_args+=("tcp://127.0.0.1:${PUBP[$i]}" --replay "tcp://127.0.0.1:${REPP[$i]}")
done
collector() {
  "$bin/reman-collector" --db "$DB" --evidence "$work/evidence" --status-every 2 \
    "${collector_args[@]}" "$@" 2>>"$work/collector.err" &
  cpid=$!; pids+=($cpid)
}
count_decisions() { q "SELECT count(*) FROM decisions" 2>/dev/null || echo -1; }
wait_count() { # wait_count N SECONDS: until the site holds N decisions
  local want=$1 limit=$2 t0; t0=$(date +%s)
  while [ "$(count_decisions)" != "$want" ]; do
    if [ $(( $(date +%s) - t0 )) -ge "$limit" ]; then return 1; fi
    sleep 0.2
  done
}
exactly_once() { # every station's seq 1..max held once: count = max, min = 1 (PK: no duplicates)
  local r
  r=$(q "SELECT count(*) FILTER (WHERE c <> m OR lo <> 1) || ' ' || (sum(c) = sum(m))
         FROM (SELECT station, count(*) AS c, max(seq) AS m, min(seq) AS lo
               FROM decisions GROUP BY station) s")
  [ "$r" = "0 true" ] || { echo "exactly_once: $r" >&2; q "SELECT station, count(*), min(seq), max(seq) FROM decisions GROUP BY station" >&2; return 1; }
}
evidence_ok() { # every cited hash held, each file's SHA-256 = its name
  local missing
  missing=$(q "SELECT count(DISTINCT sha256) FROM decision_evidence de WHERE NOT EXISTS (SELECT 1 FROM evidence e WHERE e.sha256 = de.sha256)")
  [ "$missing" = 0 ] || { echo "evidence outstanding: $missing" >&2; return 1; }
  local files bad
  files=$(find "$work/evidence" -type f | wc -l)
  [ "$files" -ge "$(q "SELECT count(*) FROM evidence")" ] || return 1
  bad=$(cd "$work/evidence" && find . -type f -name '[0-9a-f]*' -exec sha256sum {} + |
        awk '{n=$2; sub(".*/","",n); if ($1 != n) print $2}' | wc -l)
  [ "$bad" = 0 ]
}
wait_evidence() {
  local t0; t0=$(date +%s)
  while [ "$(q "SELECT count(DISTINCT sha256) FROM decision_evidence de WHERE NOT EXISTS (SELECT 1 FROM evidence e WHERE e.sha256 = de.sha256)")" != 0 ]; do
    [ $(( $(date +%s) - t0 )) -ge "$1" ] && return 1
    sleep 0.3
  done
}

# (a) ten stations at full speed, three with evidence, into one collector
collector
sleep 0.3
t0=$(now)
for i in $(seq 1 $N); do
  if [ "$i" -le 3 ]; then sim "$i" "$PER" --evidence; else sim "$i" "$PER"; fi
done
total=$((N * PER))
check "(a) all $total decisions in the site" wait_count "$total" 90
t1=$(now)
rate=$($PY -c "print(round($total / ($t1 - $t0)))")
echo "figure: site_live_decisions_per_s=$rate ($N stations x $PER, collector and stations on this machine)"
check "(a) exactly once, no gaps" exactly_once
check "(a) evidence complete and verified" wait_evidence 60
check "(a) evidence files hash to their names" evidence_ok
check "(a) signatures re-verified: no rejected rows" test "$(q "SELECT count(*) FROM rejected")" = 0
check "(a) health view: lag 0 everywhere" test "$(q "SELECT coalesce(max(lag),0) FROM health")" = 0
# the searched columns and evidence rows come from the collector's reading of each message
# (ra_site.c scans the JSON text); the server's own reading of the stored message must agree
check "(a) searched columns equal the server's reading of every message" test "$(q "
  SELECT count(*) FROM decisions d, LATERAL (SELECT d.message::jsonb AS j) m WHERE NOT (
  d.id IS NOT DISTINCT FROM (m.j->>'id')::uuid AND d.ts IS NOT DISTINCT FROM (m.j->>'ts')::timestamptz
  AND d.serial IS NOT DISTINCT FROM m.j->>'serial' AND d.part_number IS NOT DISTINCT FROM m.j->>'part_number'
  AND d.family IS NOT DISTINCT FROM m.j->>'family' AND d.route IS NOT DISTINCT FROM m.j->>'route'
  AND d.proposal IS NOT DISTINCT FROM m.j->>'proposal' AND d.operator IS NOT DISTINCT FROM m.j->>'operator'
  AND d.override_reason IS NOT DISTINCT FROM m.j->'override'->>'reason_code'
  AND d.session IS NOT DISTINCT FROM (m.j->>'session')::bigint
  AND d.chain_hash IS NOT DISTINCT FROM m.j->'chain'->>'hash'
  AND d.chain_n IS NOT DISTINCT FROM (m.j->'chain'->>'n')::bigint
  AND d.sig IS NOT DISTINCT FROM m.j->'chain'->>'sig')")" = 0
check "(a) evidence rows equal the server's reading of every evidence list" test "$(q "
  WITH want AS (SELECT d.station, d.seq, e->>'sha256' AS sha256, e->>'kind' AS kind
    FROM decisions d, jsonb_array_elements(d.message::jsonb->'evidence') e),
  got AS (SELECT station, seq, sha256, kind FROM decision_evidence)
  SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT SELECT * FROM got) a)
       + (SELECT count(*) FROM (SELECT * FROM got EXCEPT SELECT * FROM want) b)")" = 0
psql_ -d postgres -c "CREATE DATABASE inscheck" >/dev/null
check "(a) awkward and malformed messages through the insert path (site_insert_check)" \
  "$RS_BINARY_DIR/tests/site_insert_check" "${DB/dbname=site/dbname=inscheck}"

# (a2) the collector's own rate: a second, empty site database catching up on the same
#      ten stations' full history from their replay services
psql_ -d postgres -c "CREATE DATABASE site2" >/dev/null
t0=$(now)
set +e
"$bin/reman-collector" --db "host=127.0.0.1 port=$PGPORT dbname=site2 user=site" \
  --evidence "$work/evidence2" --status-every 0 --count "$total" --timeout 60 \
  "${collector_args[@]}" 2>"$work/collector2.err"
rc=$?
set -e
t1=$(now)
c2=$(psql_ -d site2 -c "SELECT count(*) FROM decisions")
check "(a2) catch-up collector wrote all $total (got $c2, exit $rc)" test "$c2" = "$total"
echo "figure: site_ingest_replay_decisions_per_s=$($PY -c "print(round($total / ($t1 - $t0)))") (one collector catching up $total decisions of $N stations from replay)"

# (b) the collector SIGKILLed mid-ingest, restarted: nothing lost or duplicated
stop_sim() { kill -TERM "${simpid[$1]}" 2>/dev/null || true; wait "${simpid[$1]}" 2>/dev/null || true; }
for i in 1 2 3 4; do stop_sim "$i"; sim "$i" 1000; done   # the same stores go on (seq continues)
sleep 0.4
kill -9 "$cpid"; wait "$cpid" 2>/dev/null || true
sleep 2   # the stations go on deciding while the collector is away
collector
tb=$(now)
total=$((total + 4000))
check "(b) after SIGKILL + restart: all $total decisions" wait_count "$total" 60
echo "figure: collector_restart_catch_up_s=$($PY -c "print(round($(now) - $tb, 2))") (killed with SIGKILL 2 s into 4 stations x 1000 at full speed; restarted)"
check "(b) exactly once, no gaps" exactly_once

# (c) PostgreSQL stopped and restarted while stations publish: the collector catches up
for i in 5 6 7; do stop_sim "$i"; "$bin/reman-simstation" --store "$work/st-$i" --station "st-$i" \
  --publish "tcp://127.0.0.1:${PUBP[$i]}" --replay "tcp://127.0.0.1:${REPP[$i]}" \
  --rate 500 --count 1500 2>>"$work/sim-$i.err" & simpid[$i]=$!; pids+=($!); done
sleep 0.5
pg_stop
sleep 3
pg_start
tr=$(now)
total=$((total + 4500))
check "(c) PostgreSQL down 3 s then back: all $total decisions" wait_count "$total" 60
echo "figure: site_db_outage_catch_up_s=$($PY -c "print(round($(now) - $tr, 2))") (after a 3 s database outage with 3 stations publishing at 500/s)"
check "(c) exactly once, no gaps" exactly_once
check "(c) the collector reported the outage" grep -q "site database is unavailable" "$work/collector.err"

# (d) a station restarted (SIGTERM, then again with more decisions)
stop_sim 8
sim 8 300 --evidence
total=$((total + 300))
check "(d) station restarted: all $total decisions" wait_count "$total" 30
check "(d) exactly once, no gaps" exactly_once
check "(d) its evidence fetched and verified" wait_evidence 30
check "(d) evidence files hash to their names" evidence_ok

# (d2) a station unreachable for a while (SIGSTOP: no heartbeats, no replay) while it
#      has decisions to publish, then back (SIGCONT): reported stale, then caught up.
#      8 s against the collector's 3 s: a collector still working through what the
#      station sent before it stopped (the sanitizer build on a loaded machine) sees the
#      silence begin later than it began (5 s once left it under 3 s)
stop_sim 9
sim 9 1500 --rate 300
sleep 1
kill -STOP "${simpid[9]}"
sleep 8
kill -CONT "${simpid[9]}"
total=$((total + 1500))
check "(d2) station unreachable 8 s: all $total decisions" wait_count "$total" 40
check "(d2) exactly once, no gaps" exactly_once
check "(d2) reported stale meanwhile" grep -q "station st-9 stale" "$work/collector.err"

# (d3) an id collision: another decision already holds the id of one st-5 sends. With the
#      collector stopped, st-5's last decision is moved in PostgreSQL to a station 'ghost'
#      (seq 1, same id); restarted, the collector resumes st-5 from its new highest seq, the
#      station replays the moved decision, and the site refuses it by name, once. Then the
#      ghost goes and the next restart takes the decision in.
kill -TERM "$cpid"; wait "$cpid" || true
M5=$(q "SELECT max(seq) FROM decisions WHERE station = 'st-5'")
ID5=$(q "SELECT id FROM decisions WHERE station = 'st-5' AND seq = $M5")
q "BEGIN; CREATE TEMPORARY TABLE g AS SELECT * FROM decisions WHERE station = 'st-5' AND seq = $M5;
   DELETE FROM decision_evidence WHERE station = 'st-5' AND seq = $M5;
   DELETE FROM decisions WHERE station = 'st-5' AND seq = $M5;
   UPDATE g SET station = 'ghost', seq = 1; INSERT INTO decisions SELECT * FROM g; COMMIT;" >/dev/null
collector
t=0; while [ "$(q "SELECT count(*) FROM rejected WHERE station = 'st-5'")" -lt 1 ] && [ $t -lt 100 ]; do sleep 0.2; t=$((t+1)); done
check "(d3) the colliding decision in rejected, naming the holder" \
  test "$(q "SELECT count(*) FROM rejected WHERE station = 'st-5' AND seq = $M5 AND reason = 'the id $ID5 is held by station ghost seq 1'")" = 1
# the collector reports the refusal once the site's insert has ended, after the row is
# committed: wait for the line too (under the sanitizers it came after the row was seen)
t=0; until grep -q "REFUSED st-5 seq $M5: the id $ID5 is held by station ghost seq 1" "$work/collector.err" || [ $t -ge 100 ]; do sleep 0.2; t=$((t+1)); done
check "(d3) reported on stderr" grep -q "REFUSED st-5 seq $M5: the id $ID5 is held by station ghost seq 1" "$work/collector.err"
check "(d3) not in decisions under st-5" test "$(q "SELECT count(*) FROM decisions WHERE station = 'st-5' AND seq = $M5")" = 0
kill -TERM "$cpid"; wait "$cpid" || true
# restarted again, the ghost still there: the decision is replayed and sent to the site
# again (the collector's health line counts it written), and not rejected a second time
n0=$(wc -l <"$work/collector.err")
collector
t=0; until tail -n +"$((n0 + 1))" "$work/collector.err" | grep -q "health: station st-5 .* written 1 rejected 0" || [ $t -ge 100 ]; do sleep 0.2; t=$((t+1)); done
seen=$(tail -n +"$((n0 + 1))" "$work/collector.err" | grep -c "health: station st-5 .* written 1 rejected 0" || true)
check "(d3) replayed again: sent to the site (written 1), not rejected twice" \
  test "$((seen >= 1)) $(q "SELECT count(*) FROM rejected WHERE station = 'st-5'")" = "1 1"
kill -TERM "$cpid"; wait "$cpid" || true
q "DELETE FROM decisions WHERE station = 'ghost'; DELETE FROM rejected WHERE station = 'st-5'" >/dev/null
collector
check "(d3) the ghost gone: st-5 seq $M5 taken in" wait_count "$total" 30
check "(d3) exactly once, no gaps" exactly_once

# (e) hostile: the site enrolled station 'evil' with st-1's key; an impostor publishes as
#     'evil' with its own key: refused, reported, never merged
EP=$(port); ER=$(port)
q "INSERT INTO stations (station, public_key, status) VALUES ('evil', '$(tr -d ' \n' <"$work/st-1/station.pub")', 'enrolled')" >/dev/null
kill -TERM "$cpid"; wait "$cpid" || true
collector_args+=("tcp://127.0.0.1:$EP" --replay "tcp://127.0.0.1:$ER")
collector
"$bin/reman-simstation" --store "$work/evil" --station evil --publish "tcp://127.0.0.1:$EP" \
  --replay "tcp://127.0.0.1:$ER" --count 50 2>>"$work/sim-evil.err" & pids+=($!)
t=0; while [ "$(q "SELECT count(*) FROM rejected WHERE station = 'evil'")" -lt 50 ] && [ $t -lt 100 ]; do sleep 0.2; t=$((t+1)); done
check "(e) impostor's 50 decisions in rejected" test "$(q "SELECT count(*) FROM rejected WHERE station = 'evil'")" -ge 50
check "(e) none of them in decisions" test "$(q "SELECT count(*) FROM decisions WHERE station = 'evil'")" = 0
check "(e) reported on stderr" grep -q "REFUSED station evil" "$work/collector.err"
check "(e) health shows it" test "$(q "SELECT status FROM health WHERE station = 'evil'")" = key-changed
check "(e) the others still exactly once" exactly_once

check "(e) evidence_wanted agrees: nothing wanted once every file is held" \
  test "$(q "SELECT count(*) FROM evidence_wanted")" = 0

# (f) cross-station audit on the site database (reman-audit --site, a read-only session):
#     a core that comes back, inspected at two stations, traced across both with its
#     evidence; every decision exported; every signature verified; then a message, a
#     searched column and an evidence row changed in PostgreSQL, each named by station and
#     seq
stop_sim 1; stop_sim 2
sim 1 2 --serial CORE-0077
sim 2 3 --serial CORE-0077 --evidence
total=$((total + 5))
check "(f) the returning core's 5 decisions in the site" wait_count "$total" 30
check "(f) its evidence fetched" wait_evidence 30
set +e
"$bin/reman-audit" history --site "$DB" --json CORE-0077 >"$work/hist.jsonl" 2>"$work/audit.err"
rc=$?
set -e
check "(f) history --site exits 0 (got $rc)" test "$rc" -eq 0
check "(f) history: 5 decisions of CORE-0077 at st-1 and st-2, in time order, with evidence" \
  $PY - "$work/hist.jsonl" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
rows, summary = lines[:-1], lines[-1]["summary"]
assert len(rows) == 5, len(rows)
assert sorted(r["station"] for r in rows) == ["st-1"] * 2 + ["st-2"] * 3
assert all(r["record"]["serial"] == "CORE-0077" for r in rows)
assert [r["ts"] for r in rows] == sorted(r["ts"] for r in rows)
st2 = [r for r in rows if r["station"] == "st-2"]
assert all(len(r["evidence"]) == 1 and r["evidence"][0]["held"] and
           r["evidence"][0]["sha256"] == r["record"]["evidence"][0]["sha256"] for r in st2)
assert summary["decisions"] == 5 and sorted(summary["stations"]) == ["st-1", "st-2"], summary
EOF
set +e
"$bin/reman-audit" history --site "$DB" NO-SUCH-CORE >/dev/null 2>&1; rc=$?
set -e
check "(f) history of an unknown serial exits 1 (got $rc)" test "$rc" -eq 1
n_pg=$(q "SELECT count(*) FROM decisions")
"$bin/reman-audit" export --site "$DB" --format csv --out "$work/site.csv"
check "(f) export --site csv: one row per decision in PostgreSQL ($n_pg)" \
  test "$(($(wc -l <"$work/site.csv") - 1))" = "$n_pg"
"$bin/reman-audit" export --site "$DB" --format json --out "$work/site.json"
check "(f) export --site json: the same count, every signature verified" $PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["count"] == int(sys.argv[2]) == len(d["decisions"]) and d["verified"] else 1)' \
  "$work/site.json" "$n_pg"
"$bin/reman-audit" export --site "$DB" --format csv --from "$(date -u -d '2 days ago' +%F)" \
  --out "$work/recent.csv"
"$bin/reman-audit" export --site "$DB" --format csv --to 2000-01-01 --out "$work/old.csv"
check "(f) export --from/--to: the period's decisions only" \
  test "$(wc -l <"$work/recent.csv")/$(wc -l <"$work/old.csv")" = "$((n_pg + 1))/1"
check "(f) verify --site exits 0" "$bin/reman-audit" verify --site "$DB"
verify_names() { # verify_names WHAT STATION SEQ: verify fails and names them
  local rc
  set +e; "$bin/reman-audit" verify --site "$DB" >"$work/verify.out" 2>&1; rc=$?; set -e
  [ "$rc" -eq 1 ] && grep -q "station $2 seq $3: .*$1" "$work/verify.out" ||
    { echo "verify exit $rc: $(cat "$work/verify.out")" >&2; return 1; }
}
q "UPDATE decisions SET message = replace(message, '\"route\":\"', '\"route\":\"x')
   WHERE station = 'st-3' AND seq = 17" >/dev/null
check "(f) a message changed in PostgreSQL: verify exits 1 naming st-3 seq 17" \
  verify_names "altered" st-3 17
q "UPDATE decisions SET message = replace(message, '\"route\":\"x', '\"route\":\"')
   WHERE station = 'st-3' AND seq = 17" >/dev/null
serial=$(q "SELECT serial FROM decisions WHERE station = 'st-4' AND seq = 5")
q "UPDATE decisions SET serial = 'FORGED' WHERE station = 'st-4' AND seq = 5" >/dev/null
check "(f) a searched column changed: verify names st-4 seq 5 and the column" \
  verify_names "serial column" st-4 5
q "UPDATE decisions SET serial = '$serial' WHERE station = 'st-4' AND seq = 5" >/dev/null
q "DELETE FROM decision_evidence WHERE station = 'st-2' AND seq = 7" >/dev/null
check "(f) an evidence row deleted: verify names st-2 seq 7" \
  verify_names "decision_evidence" st-2 7

# (g) a site database as the first collector made it (schema 1: the migration text taken
#     from ra_site.c as shipped), holding real decisions, opened by this program: migrations
#     2 and 3 applied, nothing lost, every decision still verifies
psql_ -d postgres -c "CREATE DATABASE oldsite" >/dev/null
OLD=${DB/dbname=site/dbname=oldsite}
$PY - "$src/app/src/ra_site.c" >"$work/schema1.sql" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
body = text[text.index("s_migration_1 ="):]
body = body[:body.index('";') + 1]
print("".join(bytes(m, "utf-8").decode("unicode_escape") for m in re.findall(r'"((?:[^"\\]|\\.)*)"', body)))
PYEOF
psql_ -d oldsite -v ON_ERROR_STOP=1 -f "$work/schema1.sql" >/dev/null
psql_ -d oldsite -c "CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now()); INSERT INTO schema_version (version) VALUES (1)" >/dev/null
psql_ -d site -c "\copy (SELECT station, seq, message FROM decisions WHERE station IN ('st-1', 'st-2') ORDER BY station, seq) TO '$work/old.csv' CSV"
psql_ -d site -c "\copy (SELECT station, public_key FROM stations WHERE station IN ('st-1', 'st-2')) TO '$work/oldst.csv' CSV"
psql_ -d oldsite -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE TEMP TABLE m (station text, seq bigint, message text);
\copy m FROM '$work/old.csv' CSV
\copy stations (station, public_key) FROM '$work/oldst.csv' CSV
INSERT INTO decisions (station, seq, id, ts, serial, part_number, family, route, proposal, operator,
  override_reason, session, message, doc, chain_hash, chain_n, sig)
  SELECT station, seq, (j->>'id')::uuid, (j->>'ts')::timestamptz, j->>'serial', j->>'part_number',
  j->>'family', j->>'route', j->>'proposal', j->>'operator', j->'override'->>'reason_code',
  (j->>'session')::bigint, message, j, j->'chain'->>'hash', (j->'chain'->>'n')::bigint,
  j->'chain'->>'sig' FROM m, LATERAL (SELECT message::jsonb AS j) x;
INSERT INTO decision_evidence (station, seq, sha256, kind) SELECT station, seq, e->>'sha256', e->>'kind'
  FROM m, jsonb_array_elements(message::jsonb->'evidence') e ON CONFLICT DO NOTHING;
INSERT INTO evidence (sha256, bytes) SELECT DISTINCT sha256, 0 FROM decision_evidence
  WHERE sha256 < '8';
SQL
oq() { psql_ -d oldsite -c "$1"; }
n_old=$(oq "SELECT count(*) FROM decisions")
cited_missing=$(oq "SELECT count(*) FROM (SELECT DISTINCT station, sha256 FROM decision_evidence de WHERE NOT EXISTS (SELECT 1 FROM evidence e WHERE e.sha256 = de.sha256)) x")
check "(g) the schema-1 database holds $n_old real decisions, $cited_missing files wanted" \
  test "$n_old" -gt 1000 -a "$cited_missing" -gt 0
check "(g) verify --site reads schema 1 as it is (read-only: no migration)" \
  "$bin/reman-audit" verify --site "$OLD"
check "(g) ... and left it at version 1" test "$(oq "SELECT max(version) FROM schema_version")" = 1
check "(g) opened by the collector's code (site_insert_check): migrated and inserting" \
  "$RS_BINARY_DIR/tests/site_insert_check" "$OLD"
check "(g) now at version 4, doc gone, decisions_doc and the serial's trigram index there" test "$(oq "SELECT max(version) || ' ' ||
  (SELECT count(*) FROM information_schema.columns WHERE table_name = 'decisions' AND column_name = 'doc')
  || ' ' || (to_regclass('decisions_doc') IS NOT NULL) || ' ' || (to_regclass('decisions_serial_trgm') IS NOT NULL)
  FROM schema_version")" = "4 0 true true"
# the search's serial condition, as ra_site_search sends it (S_SEARCH_WHERE, a parameter for
# the part): the planner can read it from the trigram index
trgm_plan() {
  psql_ -d oldsite -At <<'SQL'
SET enable_seqscan = off;
PREPARE part(text) AS SELECT count(*) FROM decisions d WHERE lower(d.serial) LIKE '%' ||
  replace(replace(replace(lower($1::text), '\', '\\'), '%', '\%'), '_', '\_') || '%';
EXPLAIN EXECUTE part('ORE-00');
SQL
}
uses_trgm() { trgm_plan | grep -q decisions_serial_trgm; }
check "(g) a search by a part of a serial can use decisions_serial_trgm" uses_trgm
check "(g) migration 2 filled evidence_wanted with what was cited and not held" \
  test "$(oq "SELECT count(*) FROM evidence_wanted WHERE station IN ('st-1', 'st-2')")" = "$cited_missing"
oq "DELETE FROM decisions WHERE station LIKE 'check%-%'; DELETE FROM decision_evidence WHERE station LIKE 'check%-%'" >/dev/null
old_intact() { test "$(oq "SELECT count(*) FROM decisions")" = "$n_old" && "$bin/reman-audit" verify --site "$OLD" >/dev/null; }
check "(g) all $n_old decisions there and every one verifies after the migration" old_intact

# (h) a site whose role may not create the pg_trgm extension (not the database's owner):
# migration 4 still applies, a warning says why, and a search by a part of a serial
# reads the table and finds the same (site_insert_check's searches)
psql_ -d site -c "CREATE ROLE lowly LOGIN" >/dev/null
psql_ -d site -c "CREATE DATABASE lowsite" >/dev/null
psql_ -d lowsite -c "GRANT USAGE, CREATE ON SCHEMA public TO lowly" >/dev/null
set +e
"$RS_BINARY_DIR/tests/site_insert_check" "host=127.0.0.1 port=$PGPORT dbname=lowsite user=lowly" \
  >"$work/low.out" 2>"$work/low.err"; rc_low=$?
set -e
check "(h) no right to create pg_trgm: migrated, inserting and searching right (got $rc_low)" \
  test "$rc_low" -eq 0
check "(h) ... with a warning naming pg_trgm" grep -q "pg_trgm not available" "$work/low.err"
check "(h) ... at version 4, without the trigram index" test "$(psql_ -d lowsite -c "SELECT max(version)
  || ' ' || (to_regclass('decisions_serial_trgm') IS NULL) FROM schema_version")" = "4 true"
# (i) the administrator creates the extension afterwards: the next writer to connect builds
# the index by itself (no new migration), with no warning, and the searches still pass
psql_ -d lowsite -c "CREATE EXTENSION pg_trgm" >/dev/null
set +e
"$RS_BINARY_DIR/tests/site_insert_check" "host=127.0.0.1 port=$PGPORT dbname=lowsite user=lowly" \
  >"$work/low2.out" 2>"$work/low2.err"; rc_low2=$?
set -e
check "(i) extension created later: the next writer passes (got $rc_low2)" test "$rc_low2" -eq 0
check "(i) ... and has built the trigram index, still at version 4" test "$(psql_ -d lowsite -c \
  "SELECT max(version) || ' ' || (to_regclass('decisions_serial_trgm') IS NOT NULL) FROM
  schema_version")" = "4 true"
check "(i) ... without a warning" bash -c "! grep -q 'pg_trgm not available\|not built' '$work/low2.err'"

kill -TERM "$cpid"; set +e; wait "$cpid"; rc=$?; set -e
check "collector exits 0 on SIGTERM (got $rc)" test "$rc" -eq 0
check "no sanitizer report from the programs (ASan builds)" \
  bash -c "! grep -l 'Sanitizer' '$work'/*.err"
grep "health:" "$work/collector.err" | tail -3 || true
if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"; exit 1 # the programs' output: cleanup
fi
echo "all site checks passed"
