#!/usr/bin/env bash
# test_station.sh - the GTK station in a real window under Xvfb, driven by key events
# (xdotool, through the X server like a keyboard or a foot pedal):
#   1. sign in (a wrong PIN refused first), capture, inspect, confirm with one key: the
#      decision reaches a real subscriber (reman-listen) with the route the window showed;
#   2. an override that upgrades the route: refused without the supervisor's right PIN,
#      recorded with it;
#   3. the supervisor view counting a second station's decisions (a headless cell on
#      other ports, followed with --follow);
#   4. the audit browser; the store verifies (reman-audit verify);
#   5. the Chinese interface (--language zh_CN): its strings are the catalogue's.
# A screenshot of every screen goes to $RS_BINARY_DIR/e2e/screenshots (look at them).
set -euo pipefail
src=${RS_SOURCE_DIR:?}
bin=${RS_BINARY_DIR:?}/bin
for tool in Xvfb xdotool import; do
  command -v $tool >/dev/null || { echo "skipped: $tool is not installed (install-deps.sh --test)"; exit 77; }
done
[ -x "$bin/reman-station" ] || { echo "skipped: reman-station was not built (GTK 4 absent)"; exit 77; }
work=$(mktemp -d /tmp/rs-e2e-station-XXXXXX)
shots=${RS_BINARY_DIR}/e2e/screenshots
mkdir -p "$shots"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
source "$src/tests/e2e/e2e_lib.sh" # check, stop_pids, demo_references, start_xvfb
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
port() { rs_free_port; }
# wait_log FILE REGEX [SECONDS]: until a line of FILE matches
wait_log() {
  local f=$1 re=$2 t=${3:-60} i=0
  while [ $i -lt $((t * 10)) ]; do
    grep -Eq "$re" "$f" 2>/dev/null && return 0
    sleep 0.1; i=$((i + 1))
  done
  echo "timed out waiting for /$re/ in $f:"; tail -n 20 "$f"; return 1
}
# wait_count FILE REGEX N [SECONDS]: until more than N lines of FILE match
wait_count() {
  local f=$1 re=$2 n=$3 t=${4:-60} i=0
  while [ $i -lt $((t * 10)) ]; do
    [ "$(grep -Ec "$re" "$f" 2>/dev/null || true)" -gt "$n" ] && return 0
    sleep 0.1; i=$((i + 1))
  done
  echo "timed out waiting for line $((n + 1)) matching /$re/ in $f:"; tail -n 20 "$f"; return 1
}
# next_core: F12, and wait for the camera's next frame (whatever its number)
next_core() {
  local seen; seen=$(grep -c "camera: frame " "$log" || true)
  key F12
  wait_count "$log" "camera: frame " "$seen" 30
}
# capture_until TRIES WANT [NOT]: the next core, captured, up to TRIES times, until the
# last inspection line matches WANT (and not NOT); fails when none did
capture_until() {
  local tries=$1 want=$2 not=${3:-} i seen last
  for i in $(seq "$tries"); do
    next_core
    sleep 0.3
    seen=$(grep -c "inspection: " "$log" || true)
    key F5
    wait_count "$log" "inspection: " "$seen" 120
    last=$(grep -E "inspection: " "$log" | tail -n1)
    if echo "$last" | grep -Eq "$want" && { [ -z "$not" ] || ! echo "$last" | grep -Eq "$not"; }; then
      return 0
    fi
    echo "core $i: $(echo "$last" | sed 's/.*inspection: //') — not the one wanted, next"
  done
  return 1
}
shot() { import -window root "$shots/$1.png"; echo "screenshot: $shots/$1.png"; }
key() { xdotool key --delay 60 "$@"; sleep 0.3; }
typ() { xdotool type --delay 40 "$1"; sleep 0.2; }

demo_references

# the X server, on a display number it chooses
start_xvfb
# ready_window LOG: the window is mapped and its main loop runs (the audit page's first
# search has answered): only then do key events reach it (a slow start, under the
# sanitizers, would otherwise lose the first keys)
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
export XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data HOME=$work
echo "X display $DISPLAY"

P1=$(port); P2=$(port); P3=$(port); P4=$(port)
PUB=tcp://127.0.0.1:$P1 REP=tcp://127.0.0.1:$P2
PUB2=tcp://127.0.0.1:$P3 REP2=tcp://127.0.0.1:$P4

# a real subscriber on the station's line, from its first decision
"$bin/reman-listen" "$PUB" --replay "$REP" --json --count 4 --timeout 300 >"$work/listen.jsonl" \
  2>"$work/listen.err" &
lpid=$!; pids+=($lpid)

log=$work/station.log
"$bin/reman-station" --demo --station bench-e2e --store "$work/store" --publish "$PUB" \
  --replay "$REP" --references "$refs" --identify-budget 0 --follow "$PUB2,$REP2" \
  --language en >"$log" 2>&1 &
spid=$!; pids+=($spid)
wait_log "$log" "start: station=bench-e2e" 60
ready_window "$log"
shot 01-sign-in

# 1. a wrong PIN, then the right one
typ tech1; key Return; typ 9999; key Return
check "a wrong PIN is refused" wait_log "$log" "sign-in: refused for tech1" 30
shot 02-sign-in-refused
typ 1234; key Return
check "sign-in with the right PIN" wait_log "$log" "sign-in: tech1 as technician" 30
wait_log "$log" "camera: frame 1 " 30
sleep 0.5
shot 03-live
key F5
check "capture and inspection" wait_log "$log" "inspection: proposal=" 120
check "the overlay's labels drawn, every character with a glyph" \
  wait_log "$log" "overlay: [1-9][0-9]* labels, 0 characters no installed font can draw" 30
sleep 0.5
shot 04-proposal
key F4; sleep 0.5; shot 05-heat-map; key F4
route1=$(grep -oE "inspection: proposal=[a-z]+ route=[a-z]+" "$log" | head -n1 | sed 's/.*route=//')
proposal1=$(grep -oE "inspection: proposal=[a-z]+" "$log" | head -n1 | sed 's/.*=//')
echo "first core: proposal $proposal1, route $route1"
key Return   # the Confirm button has the focus after the inspection: one key
check "the confirmation is stored as seq 1" wait_log "$log" "decision: seq=1 route=$route1 .*operator=tech1 override=no" 30
check "and sent to the line" wait_log "$log" "line: sent seq=1" 30
sleep 0.3
shot 06-decided

# 2. the next cores until one whose route can be upgraded (not reuse), then an upgrade
#    override: the supervisor's wrong PIN is refused, the right one records it
check "a core whose route can be upgraded" capture_until 5 "proposal=" "route=reuse|proposal=review"
route2=$(grep -E "inspection: " "$log" | tail -n1 | grep -oE "route=[a-z]+" | sed 's/route=//')
echo "upgrading a $route2 proposal to reuse"
key F8
sleep 0.5
# the route list: open it, go to the top (reuse), choose
key space; sleep 0.3; key Home; key Return; sleep 0.3
key Tab; key Tab   # the reason code (first: finding not confirmed), then the text
typ "rechecked under the inspection lamp"
key Tab; typ sup1; key Tab; typ 0000; key Return
check "an upgrade with a wrong supervisor PIN is refused" wait_log "$log" "decision: refused: .*(PIN|supervisor)" 30
shot 07-override-refused
# the supervisor types the right PIN
typ 9876; key Return
check "the upgrade is recorded with the supervisor's PIN" wait_log "$log" "decision: seq=2 route=reuse .*override=yes" 30
check "and sent to the line" wait_log "$log" "line: sent seq=2" 30
sleep 0.3
shot 08-override-recorded

# the next cores until the review one (the grader needs a person): it cannot be confirmed;
# left undecided, it waits in the queue, and F7 brings it back for the technician to decide
check "a core the grader leaves for review" capture_until 14 "proposal=review"
review_rec=$(grep -E "inspection: " "$log" | tail -n1 | grep -oE "record=[0-9]+" | sed 's/record=//')
key F9; sleep 1
check "a review proposal cannot be confirmed" test "$(grep -c 'decision: seq=3' "$log" || true)" = 0
shot 09-review
key F12
check "left undecided, it joins the waiting queue" wait_log "$log" "supervisor: queue=[1-9]" 30
key F7
check "F7 opens the oldest waiting inspection" wait_log "$log" "open: record=[0-9]+ from the waiting queue" 30
sleep 0.5
key F8; sleep 0.5
key Tab; key Tab; typ "journal measured by hand"; key Return
check "the review is decided by the technician" wait_log "$log" "decision: seq=3 route=[a-z]+ record=[0-9]+ operator=tech1 override=yes" 30
shot 10-review-decided

# 2c. an upgrade with no supervisor at the bench: asked for (Shift+F8), it waits in the
#     supervisor's queue, nothing goes to the line; a supervisor opens it (F7) and approves
check "another core whose route can be upgraded" capture_until 6 "proposal=" "route=reuse|proposal=review"
up_rec=$(grep -E "inspection: " "$log" | tail -n1 | grep -oE "record=[0-9]+" | sed 's/record=//')
key F8
sleep 0.5
key space; sleep 0.3; key Home; key Return; sleep 0.3
key Tab; key Tab
typ "seal face lapped, within drawing"
key shift+F8
check "the upgrade is asked for, not decided" wait_log "$log" "upgrade: requested n=[0-9]+ route=reuse record=$up_rec operator=tech1" 30
sleep 0.5
shot 10b-upgrade-requested
check "nothing of it was decided" test "$(grep -c 'decision: seq=4' "$log" || true)" = 0
check "it waits in the supervisor's queue" wait_log "$log" "supervisor: queue=[1-9]" 30
check "and the station's heartbeat tells every supervisor on the line" \
  wait_log "$log" "supervisor: station=bench-e2e upgrades_waiting=1" 30
key F12
sleep 0.5
key ctrl+2; sleep 1
shot 10c-supervisor-queue
key F7
check "F7 opens the request for a supervisor" wait_log "$log" "open: upgrade request=[0-9]+ waiting for a supervisor" 30
sleep 0.5
shot 10d-approve
typ sup1; key Tab; typ 9876; key Return
check "the supervisor's approval is the decision" wait_log "$log" "decision: seq=4 route=reuse record=[0-9]+ operator=tech1 override=yes" 30
check "approval logged" grep -q "upgrade: approved request=[0-9]* by=sup1" "$log"
check "the heartbeat says none waits any more" wait_log "$log" "supervisor: station=bench-e2e upgrades_waiting=0" 30
check "and sent to the line" wait_log "$log" "line: sent seq=4" 30

check "the subscriber received the four decisions" wait "$lpid"
check "decision 1 as confirmed: route $route1, operator tech1" \
  $PY -c "import json,sys; d=[json.loads(l) for l in open('$work/listen.jsonl')]; d=[x for x in d if x.get('seq')==1]; sys.exit(0 if d and d[0]['route']=='$route1' and d[0]['operator']=='tech1' and not d[0].get('override') else 1)"
check "decision 2 an override to reuse approved by sup1" \
  $PY -c "import json,sys; d=[json.loads(l) for l in open('$work/listen.jsonl')]; d=[x for x in d if x.get('seq')==2]; o=d[0].get('override') if d else None; sys.exit(0 if d and d[0]['route']=='reuse' and o and o.get('supervisor')=='sup1' and o.get('reason_code')=='finding-not-confirmed' else 1)"

check "decision 4: tech1's upgrade, approved by sup1 from the queue, naming the request" \
  $PY -c "import json,sys; d=[json.loads(l) for l in open('$work/listen.jsonl')]; d=[x for x in d if x.get('seq')==4]; o=d[0].get('override') if d else None; sys.exit(0 if d and d[0]['route']=='reuse' and d[0]['operator']=='tech1' and o and o.get('supervisor')=='sup1' and o.get('request',{}).get('n',0)>0 and o.get('text')=='seal face lapped, within drawing' else 1)"

# 3. a second station publishes; the supervisor view follows it
"$bin/reman-inspect" --references "$refs" --identify-budget 0 --store "$work/store2" \
  --station bench-two --publish "$PUB2" --replay "$REP2" --linger 4 \
  "$src/assets/cores/disc-clean.jpg" "$src/assets/cores/housing-clean.jpg" \
  "$src/assets/cores/shaft-clean.jpg" >"$work/cell2.jsonl" 2>"$work/cell2.err" || true
n2=$(grep -c '"seq"' "$work/cell2.jsonl" || true)
echo "second station: $n2 decisions"
key ctrl+2
sleep 1
check "the supervisor view counted the second station's decisions" \
  wait_log "$log" "supervisor: station=bench-two seq=$n2 " 30
check "and this station's" wait_log "$log" "supervisor: station=bench-e2e seq=4 " 30
sleep 0.5
shot 11-supervisor

# 4. the audit browser
key ctrl+3
check "the audit browser lists the store" wait_log "$log" "audit: results=[1-9]" 30
sleep 0.5
shot 12-audit
# a serial typed (or scanned) into the search opens its one decision
serial1=$($PY -c "import json; d=[json.loads(l) for l in open('$work/listen.jsonl')]; print([x for x in d if x.get('seq')==1][0]['serial'])")
typ "$serial1"; key Return
check "the audit browser opens decision 1 of $serial1 with its images" \
  wait_log "$log" "audit: opened seq=1 serial=$serial1 images=[1-9]" 30
sleep 1
shot 13-audit-decision
key ctrl+1

# quit cleanly: the store is whole and verifies
key ctrl+q
check "clean shutdown" wait_log "$log" "stop: clean shutdown" 30
wait "$spid" 2>/dev/null || true
check "reman-audit verify on the station's store" "$bin/reman-audit" verify --store "$work/store"

# 5. the Chinese interface
logzh=$work/station-zh.log
# (with the high-contrast theme, and a hot folder as the camera: images arrive as files)
mkdir -p "$work/hot"
"$bin/reman-station" --demo --station bench-zh --store "$work/store-zh" --publish "" \
  --references "$refs" --identify-budget 0 --language zh_CN --high-contrast \
  --source "folder:$work/hot" >"$logzh" 2>&1 &
zpid=$!; pids+=($zpid)
check "the Chinese catalogue is in force" wait_log "$logzh" 'start: .*sample="登录"' 60
ready_window "$logzh"
shot 14-zh-sign-in
typ tech1; key Return; typ 1234; key Return
wait_log "$logzh" "sign-in: tech1" 30
check "an empty hot folder: the window waits for images" wait_log "$logzh" "camera: 正在等待图像" 30
cp "$src/assets/cores/disc-defects.jpg" "$work/hot/.part.tmp" && mv "$work/hot/.part.tmp" "$work/hot/core-1.jpg"
check "a file in the hot folder becomes the live image" wait_log "$logzh" "camera: frame 1 .*core-1.jpg" 30
sleep 0.5
key F5
check "inspection in Chinese" wait_log "$logzh" "inspection: proposal=" 120
# the labels' Chinese words need a CJK font (fonts-wqy-microhei): a missing one is said
check "the Chinese labels on the overlay: every character with a glyph" \
  wait_log "$logzh" "overlay: [1-9][0-9]* labels, 0 characters no installed font can draw" 30
check "... and none without" bash -c "! grep -q 'characters no installed font can draw' <(grep -v ' 0 characters' '$logzh')"
sleep 0.5
shot 15-zh-proposal
# a second view of the same core (its other face arrives in the hot folder): F5 adds it,
# the part's proposal is the worst of the two, F11 shows each view, F9 decides the part
# (the same core, RC-000201, rendered in another pose with other marks: seed 201 + 10^6)
"$bin/reman-gencore" --out "$work/gen" --shape disc --seed 1000201 --name disc-face2 --quiet
cp "$work/gen/disc-face2.jpg" "$work/hot/.part.tmp" && mv "$work/hot/.part.tmp" "$work/hot/core-2.jpg"
check "the next file is the live image" wait_log "$logzh" "camera: frame 2 .*core-2.jpg" 30
sleep 0.5
key F5
check "a second view is added to the part" wait_log "$logzh" "inspection: proposal=[a-z]+ route=[a-z]+ record=[0-9]+ .*views=2" 120
sleep 0.5
shot 15b-zh-two-views
key F11; sleep 0.5
shot 15c-zh-view-1
key F5; sleep 0.5
check "the same frame is not taken as another view" test "$(grep -c 'capture: .*(view 3)' "$logzh" || true)" = 0
# another core's image is refused as a view of this part (its code names another serial)
cp "$src/assets/cores/disc-clean.jpg" "$work/hot/.part.tmp" && mv "$work/hot/.part.tmp" "$work/hot/core-3.jpg"
check "another core arrives" wait_log "$logzh" "camera: frame 3 .*core-3.jpg" 30
sleep 0.5
key F5
check "a view of another core is not added" wait_log "$logzh" "inspection: view 3 not added .*serial" 120
sleep 0.3
shot 15d-zh-wrong-view
zroute=$(grep -oE "inspection: proposal=[a-z]+ route=[a-z]+ record=[0-9]+ .*views=2" "$logzh" | tail -n1 | sed -E 's/.*route=([a-z]+).*/\1/')
zprop=$(grep -oE "inspection: proposal=[a-z]+ .*views=2" "$logzh" | tail -n1 | sed -E 's/inspection: proposal=([a-z]+).*/\1/')
if [ "$zprop" = review ]; then
  key F8; sleep 0.5; key Tab; key Tab; typ "two faces checked"; key Return
else
  key F9
fi
check "the two-view part is decided as seq 1" wait_log "$logzh" "decision: seq=1 route=[a-z]+ record=[0-9]+ operator=tech1" 30
key F1; sleep 0.7; shot 16-zh-keys; key Escape
key ctrl+q
wait_log "$logzh" "stop: clean shutdown" 30 || true
check "the decision cites the part, which cites both views; reasons and evidence of both" \
  $PY - "$work/store-zh/store.db" "$zroute" <<'EOF2'
import json, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
d = json.loads(db.execute("SELECT body FROM records WHERE kind='decision' ORDER BY n DESC LIMIT 1").fetchone()[0])
p = json.loads(db.execute("SELECT body FROM records WHERE n=?", (d["inspection"]["n"],)).fetchone()[0])
views = [json.loads(db.execute("SELECT body FROM records WHERE n=?", (v["n"],)).fetchone()[0]) for v in p["views"]]
order = ["reuse", "remanufacture", "refurbish", "repair", "scrap"]
worst = max((v["route"] for v in views), key=order.index)
ok = (len(views) == 2 and p["route"] == worst == sys.argv[2]
      and {e.get("view") for e in d["evidence"]} == {0, 1}
      and len(d["evidence"]) == sum(len(v["evidence"]) for v in views)
      and len(p["reasons"]) == sum(len(v["reasons"]) for v in views))
print("part route", p["route"], "views", [v["route"] for v in views], "evidence", len(d["evidence"]))
sys.exit(0 if ok else 1)
EOF2
check "reman-audit verify on the two-view store" "$bin/reman-audit" verify --store "$work/store-zh"

# under the sanitizers (the ASan pass of scripts/test.sh): any memory error or undefined
# behaviour fails; of the leaks reported at exit, those allocated from our own code fail
# (GTK, GLib and fontconfig keep some allocations for the life of the process by design)
for f in "$log" "$logzh"; do
  if grep -Eq "ERROR: AddressSanitizer|runtime error:" "$f"; then
    echo "FAILED: sanitizer error in $(basename "$f"):"; grep -E -A30 "ERROR: AddressSanitizer|runtime error:" "$f" | head -n 60
    fails=$((fails + 1))
  fi
  if grep -q "ERROR: LeakSanitizer" "$f"; then
    ours=$(awk '/^(Direct|Indirect) leak of/{blk=$0; next} blk!=""{blk=blk"\n"$0} /^$/{if (blk ~ /\/(hmi|app)\/src\//) print blk; blk=""}' "$f")
    if [ -n "$ours" ]; then
      echo "FAILED: leaks from our code in $(basename "$f"):"; printf '%b\n' "$ours" | head -n 60
      fails=$((fails + 1))
    else
      echo "notice: $(grep -c '^Direct leak' "$f") leak report(s) at exit in $(basename "$f"), none allocated from hmi/ or app/"
    fi
  fi
done

# every message logged at warning level or worse is a failure, except the known X/a11y noise
if grep -E "(CRITICAL|WARNING)" "$log" "$logzh" | grep -vE "Gdk-WARNING.*(XSetInputFocus|set_input_focus)"; then
  echo "FAILED: warnings or criticals in the station's log"; fails=$((fails + 1))
fi
echo "screenshots in $shots"
if [ $fails -ne 0 ]; then
  echo "--- station log"; cat "$log"
  echo "$fails check(s) failed"; exit 1
fi
echo "all station checks passed"
