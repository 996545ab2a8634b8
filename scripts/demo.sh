#!/usr/bin/env bash
# The main job on its embedded default: installs what is needed, builds, learns the demo
# families' references from good cores the project generates itself (reman-train), then
# runs the station as an automated cell on the bundled demo cores (assets/cores): each
# core's DataMatrix is read, its family chosen by part number, the part aligned, inspected
# and graded; the proposal is confirmed by the operator "cell", stored with its evidence in
# a local SQLite store (build/demo/store, hash-chained and signed) and published on the
# loopback ZeroMQ endpoint, where reman-listen receives it. One JSON line per part on
# stdout; the listener's table, the audit check and set-up messages on stderr.
# Overlays in build/demo/overlays. Extra arguments go to reman-inspect (or reman-station).
# With a display (DISPLAY or WAYLAND_DISPLAY set) it starts the GTK station instead.
set -euo pipefail
cd "$(dirname "$0")/.."
# set-up messages go to stderr, so stdout carries only the JSON lines
bash scripts/install-deps.sh >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >&2
refs=build/demo/references
# learnt once, and again when a family file or the trainer is newer than what was learnt
# (a reference is bound to its family file's revision: an old one would be refused)
stale=""
for shape in disc housing shaft; do
  if [ ! -f "$refs/demo-$shape.ref" ] ||
     [ -n "$(find models/families/demo-$shape.json build/bin/reman-train scripts/train-demo-references.sh \
               -newer "$refs/demo-$shape.ref" 2>/dev/null)" ]; then
    stale=1
  fi
done
if [ -n "$stale" ]; then
  echo "demo: learning the demo families' references..." >&2
  bash scripts/train-demo-references.sh build "$refs" >&2
fi
PUB=${REMAN_PUB:-tcp://127.0.0.1:5556}
# On a desktop: the GTK station on the same demo (the cores as a simulated camera, a local
# store, the loopback line). Sign in as tech1 / 1234; F5 captures, F9 confirms, F12 next.
# RS_HEADLESS=1 (or no display) runs the headless cell below instead.
if [ -z "${RS_HEADLESS:-}" ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/bin/reman-station ]; then
  echo "demo: starting the station window (sign in as tech1, PIN 1234); RS_HEADLESS=1 for the headless cell" >&2
  exec ./build/bin/reman-station --demo --references "$refs" \
    --publish "$PUB" --replay "${REMAN_REPLAY:-tcp://127.0.0.1:5557}" "$@"
fi
REPLAY=${REMAN_REPLAY:-tcp://127.0.0.1:5557}
store=build/demo/store
mkdir -p build/demo/overlays
# a line subscriber: decisions published from now on (the store's earlier ones by replay
# would be --since 0), its table on stderr
since=0
if [ -f "$store/store.db" ]; then
  since=$(./build/bin/reman-audit export --store "$store" --format csv 2>/dev/null | tail -n +2 | wc -l)
fi
./build/bin/reman-listen "$PUB" --replay "$REPLAY" --since "$since" --timeout 3 >&2 &
listener=$!
sleep 0.3
status=0
./build/bin/reman-inspect --references "$refs" --overlay build/demo/overlays \
  --store "$store" --station demo-1 --publish "$PUB" --replay "$REPLAY" --linger 1 \
  "$@" assets/cores || status=$?
wait "$listener" || true
./build/bin/reman-audit verify --store "$store" >&2 || status=1
echo "demo: store in $store (reman-audit history --store $store RC-000101), overlays in build/demo/overlays" >&2
exit $status
