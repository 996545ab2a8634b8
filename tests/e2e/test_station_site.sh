#!/usr/bin/env bash
# test_station_site.sh - the station window pointed at the site database (--site): a real
# PostgreSQL server (tests/e2e/pg_lib.sh), three simulated stations (reman-simstation, one
# core inspected at two of them) filling it through a real reman-collector, then the real
# window under Xvfb driven by key events (xdotool):
#   1. both pages say they read the site database;
#   2. the supervisor view counts every decision the site holds, of every station, and the
#      new ones as they arrive (polled, only new rows);
#   3. the audit browser: a serial inspected at two stations lists both stations' records
#      (the trace drill); a decision opened from the site with its evidence image from the
#      site's evidence directory and its signature checked; one altered in PostgreSQL
#      shown as not verifying; the whole site verified; a CSV export through the page;
#   4. PostgreSQL stopped: both pages say the site cannot be reached and the window still
#      answers; started again: they recover.
# Skipped (77) without Xvfb/xdotool/ImageMagick, the station or a PostgreSQL server.
# Screenshots: $RS_BINARY_DIR/e2e/screenshots/site-*.png.
set -euo pipefail
src=${RS_SOURCE_DIR:?}
bin=${RS_BINARY_DIR:?}/bin
for tool in Xvfb xdotool import; do
  command -v $tool >/dev/null || { echo "skipped: $tool is not installed (install-deps.sh --test)"; exit 77; }
done
[ -x "$bin/reman-station" ] || { echo "skipped: reman-station was not built (GTK 4 absent)"; exit 77; }
source "$src/tests/e2e/pg_lib.sh"
source "$src/tests/e2e/e2e_lib.sh" # check, stop_pids, demo_references, start_xvfb
pg_find test_station_site || exit 77
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
work=$(mktemp -d /tmp/rs-e2e-stsite-XXXXXX)
chmod 755 "$work"
shots=${RS_BINARY_DIR}/e2e/screenshots
mkdir -p "$shots"
pids=()
pg_vars
cleanup() {
  stop_pids
  pg_cleanup
  rm -rf "$work"
}
trap cleanup EXIT
port() { pg_free_port; }
wait_log() { # wait_log FILE REGEX [SECONDS]: until a line of FILE matches
  local f=$1 re=$2 t=${3:-60} i=0
  while [ $i -lt $((t * 10)) ]; do
    grep -Eq "$re" "$f" 2>/dev/null && return 0
    sleep 0.1; i=$((i + 1))
  done
  echo "timed out waiting for /$re/ in $f:"; tail -n 20 "$f"; return 1
}
shot() { import -window root "$shots/$1.png"; echo "screenshot: $shots/$1.png"; }
key() { xdotool key --delay 60 "$@"; sleep 0.3; }
typ() { xdotool type --delay 40 "$1"; sleep 0.2; }

# --- the site: PostgreSQL, three stations, the collector ----------------------------------
pg_init test_station_site
count_decisions() { q "SELECT count(*) FROM decisions" 2>/dev/null || echo -1; }
wait_count() { # wait_count N SECONDS: until the site holds N decisions
  local t0; t0=$(date +%s)
  while [ "$(count_decisions)" != "$1" ]; do
    [ $(( $(date +%s) - t0 )) -ge "$2" ] && { echo "site holds $(count_decisions), not $1"; return 1; }
    sleep 0.2
  done
}
wait_evidence() {
  local t0; t0=$(date +%s)
  while [ "$(q "SELECT count(*) FROM evidence_wanted")" != 0 ]; do
    [ $(( $(date +%s) - t0 )) -ge "$1" ] && return 1
    sleep 0.3
  done
}
declare -A PUBP REPP simpid
for s in st-a st-b st-c; do PUBP[$s]=$(port); REPP[$s]=$(port); done
sim() { # sim STATION COUNT [ARGS...]: in the background, serving replay until stopped
  local s=$1 n=$2; shift 2
  "$bin/reman-simstation" --store "$work/$s" --station "$s" \
    --publish "tcp://127.0.0.1:${PUBP[$s]}" --replay "tcp://127.0.0.1:${REPP[$s]}" \
    --count "$n" "$@" 2>>"$work/sim-$s.err" &
  simpid[$s]=$!; pids+=($!)
}
collector_args=()
for s in st-a st-b st-c; do
  collector_args+=("tcp://127.0.0.1:${PUBP[$s]}" --replay "tcp://127.0.0.1:${REPP[$s]}")
done
"$bin/reman-collector" --db "$DB" --evidence "$work/evidence" --status-every 5 \
  "${collector_args[@]}" 2>>"$work/collector.err" &
pids+=($!)
SERIAL=CORE-SITE-0042
sim st-a 3 --serial "$SERIAL" --evidence   # the core inspected at st-a, then at st-b
sim st-b 4 --serial "$SERIAL" --evidence
sim st-c 40 --evidence --rate 200
total=47
check "the site holds the three stations' $total decisions" wait_count $total 60
check "and their evidence" wait_evidence 60

# --- the station window, pointed at the site ---------------------------------------------
demo_references
start_xvfb
export XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data HOME=$work
echo "X display $DISPLAY, PostgreSQL on port $PGPORT"
ready_window() {
  wait_log "$1" "audit: results=" 90 || return 1
  xdotool search --sync --onlyvisible --class reman-station >/dev/null 2>&1 &
  local sp=$! i=0
  while kill -0 $sp 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  kill $sp 2>/dev/null || true
  sleep 1
  xdotool mousemove 900 500
  sleep 0.5
}

# the connection string from the settings file; the evidence directory from the command line
mkdir -p "$work/config/reman-station"
printf '[station]\nsite=%s\n' "$DB" >"$work/config/reman-station/settings.ini"
log=$work/station.log
"$bin/reman-station" --demo --station bench-site --store "$work/store" --publish "" \
  --references "$refs" --identify-budget 0 --site-evidence "$work/evidence" \
  --language en >"$log" 2>&1 &
spid=$!; pids+=($spid)
check "the station starts with the site database from its settings" \
  wait_log "$log" "start: site database for the supervisor view and the audit browser; evidence $work/evidence" 60
ready_window "$log"

# 1. which source each page reads
check "the audit browser reads the site database" \
  wait_log "$log" "audit: Source: site database \(every station\): host 127.0.0.1 port $PGPORT dbname site user site" 10
check "the audit page opens on the site's decisions, filtered and counted by the server" \
  wait_log "$log" "audit: results=$total source=site serial=- stations=st-a,st-b,st-c" 10
check "the supervisor view reads the site database" \
  wait_log "$log" "supervisor: Source: site database \(every station it holds\): host 127.0.0.1 port $PGPORT dbname site" 10

# 2. the supervisor view: every decision of the site, then the new ones
key ctrl+2
check "the supervisor view counts the site's $total decisions of 3 stations" \
  wait_log "$log" "supervisor: site poll: new=[0-9]+ parts=$total stations=3" 30
check "station liveness from the site's health view: st-a up" \
  wait_log "$log" "supervisor: site: station st-a up lag 0 seq 3" 10
sleep 2.5
shot site-01-supervisor
stop_sim() { kill -TERM "${simpid[$1]}" 2>/dev/null || true; wait "${simpid[$1]}" 2>/dev/null || true; }
stop_sim st-b
check "st-b stopped: the health view says down, and so does the view" \
  wait_log "$log" "supervisor: site: station st-b down" 20
sim st-b 6 --evidence   # st-b decides 6 more (seq 5..10)
total=$((total + 6))
check "the site holds $total" wait_count $total 60
check "the supervisor view reads only the 6 new decisions and counts $total" \
  wait_log "$log" "supervisor: site poll: new=6 parts=$total stations=3" 30
check "each new decision once: st-b seq 10 counted once" \
  test "$(grep -c "supervisor: station=st-b seq=10 " "$log")" = 1
check "st-b up again" wait_log "$log" "supervisor: site: station st-b up lag 0 seq 10" 20
sleep 2.5
shot site-02-supervisor-more
xdotool click --repeat 12 --delay 30 5   # the wheel: down to the stations and the queue
sleep 1
shot site-02b-supervisor-stations

# 3. the audit browser
key ctrl+3
sleep 1
shot site-03-audit
typ "$SERIAL"; key Return
check "the trace drill of $SERIAL lists its 7 decisions at st-a and st-b" \
  wait_log "$log" "audit: results=7 source=site serial=$SERIAL stations=st-a,st-b" 30
sleep 1
shot site-04-audit-serial
# a part of the serial, in other case: the server's substring search (ra_site_search)
key ctrl+a
typ "site-004"; key Return
check "a part of $SERIAL in lower case finds its 7 decisions on the site" \
  wait_log "$log" "audit: results=7 source=site serial=site-004 stations=st-a,st-b" 30
sleep 0.5
shot site-04b-audit-serial-part
check "the whole site verified (every signature with the keys the site holds)" \
  wait_log "$log" "audit: site verified: [0-9]+ decisions of 3 stations" 60
# a serial with one decision opens it: st-c's seq 7, its image from the site's evidence
key ctrl+a
one=$(q "SELECT serial FROM decisions WHERE station = 'st-c' AND seq = 7")
typ "$one"; key Return
check "decision st-c seq 7 opened from the site with its image shown and its signature checked" \
  wait_log "$log" "audit: opened station=st-c seq=7 serial=$one images=1 shown=1 signature=ok" 30
sleep 1
shot site-05-audit-decision

# a decision changed behind the collector's back: its own check names it
q "UPDATE decisions SET route = CASE WHEN route = 'scrap' THEN 'reuse' ELSE 'scrap' END
   WHERE station = 'st-c' AND seq = 8" >/dev/null
key ctrl+a
two=$(q "SELECT serial FROM decisions WHERE station = 'st-c' AND seq = 8")
typ "$two"; key Return
check "a decision altered in PostgreSQL is shown as not verifying" \
  wait_log "$log" "audit: opened station=st-c seq=8 serial=$two images=1 shown=1 signature=BAD" 30
sleep 1
shot site-06-audit-altered

# the export through the page: CSV chosen in the format list, the file chooser given a path;
# reman-audit export --site writes every decision of the site
xdotool mousemove 1367 918 click 1; sleep 0.7
key Down; key Return; sleep 0.3
xdotool mousemove 1535 918 click 1; sleep 1.5
key ctrl+a; typ "$work/site-export.csv"; key Return
check "the page exports the site (CSV through reman-audit export --site)" \
  wait_log "$log" "audit: export csv to $work/site-export.csv: done" 30
check "the export holds every decision of the site ($total)" \
  test "$(($(wc -l <"$work/site-export.csv" 2>/dev/null || echo 0) - 1))" = "$total"
sleep 0.5
shot site-06b-audit-exported
# (no window manager here: the keyboard focus does not come back from the closed dialog by
# itself; a click in the serial field gives it back)
xdotool mousemove 567 157 click 1; sleep 0.5

# 4. the site unreachable: said on both pages, the window still answers; then back
pg_stop
key ctrl+a
typ "$SERIAL"; key Return
check "the audit browser says the site cannot be read" \
  wait_log "$log" "audit: search failed: " 30
sleep 0.5
shot site-07-audit-unreachable
key ctrl+2
check "the supervisor view says the site cannot be reached" \
  wait_log "$log" "supervisor: site: the site database cannot be reached" 30
sleep 1
shot site-08-supervisor-unreachable
pg_start
check "the supervisor view recovers when the site is back" \
  wait_log "$log" "supervisor: site: the site database answers again" 30
key ctrl+1

key ctrl+q
check "clean shutdown" wait_log "$log" "stop: clean shutdown" 30
# (never wait for ever: a window that did not quit is killed)
timeout 15 tail --pid="$spid" -f /dev/null 2>/dev/null || kill -9 "$spid" 2>/dev/null || true
wait "$spid" 2>/dev/null || true

# under the sanitizers (the ASan pass of scripts/test.sh): memory errors and undefined
# behaviour fail, and so do leaks allocated from our own code (as in test_station.sh)
if grep -Eq "ERROR: AddressSanitizer|runtime error:" "$log"; then
  echo "FAILED: sanitizer error:"; grep -E -A30 "ERROR: AddressSanitizer|runtime error:" "$log" | head -n 60
  fails=$((fails + 1))
fi
if grep -q "ERROR: LeakSanitizer" "$log"; then
  ours=$(awk '/^(Direct|Indirect) leak of/{blk=$0; next} blk!=""{blk=blk"\n"$0} /^$/{if (blk ~ /\/(hmi|app)\/src\//) print blk; blk=""}' "$log")
  if [ -n "$ours" ]; then
    echo "FAILED: leaks from our code:"; printf '%b\n' "$ours" | head -n 60
    fails=$((fails + 1))
  else
    echo "notice: $(grep -c '^Direct leak' "$log") leak report(s) at exit, none allocated from hmi/ or app/"
  fi
fi
if grep -E "(CRITICAL|WARNING)" "$log" | grep -vE "Gdk-WARNING.*(XSetInputFocus|set_input_focus)"; then
  echo "FAILED: warnings or criticals in the station's log"; fails=$((fails + 1))
fi
echo "screenshots in $shots (site-*.png)"
if [ $fails -ne 0 ]; then
  echo "--- station log: the audit browser and the site"; grep -E "audit:|supervisor: (site|Source)" "$log" | tail -n 60
  echo "--- station log (last 40)"; tail -n 40 "$log"
  echo "$fails check(s) failed"; exit 1
fi
echo "all station-on-site checks passed"
