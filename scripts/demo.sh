#!/usr/bin/env bash
# The main job on its embedded default: installs what is needed, builds, learns the demo
# families' references from good cores the project generates itself (reman-train), then
# inspects the bundled demo cores (assets/cores): each core's DataMatrix is read, its
# family chosen by part number, the part aligned, inspected and graded; one JSON line per
# part on stdout, overlays in build/demo/overlays.
set -euo pipefail
cd "$(dirname "$0")/.."
# set-up messages go to stderr, so stdout carries only the JSON lines
bash scripts/install-deps.sh >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >&2
refs=build/demo/references
if [ ! -f "$refs/demo-disc.ref" ] || [ ! -f "$refs/demo-housing.ref" ] || [ ! -f "$refs/demo-shaft.ref" ]; then
  echo "demo: learning the demo families' references (once)..." >&2
  bash scripts/train-demo-references.sh build "$refs" >&2
fi
mkdir -p build/demo/overlays
status=0
./build/bin/reman-inspect --references "$refs" --overlay build/demo/overlays "$@" assets/cores || status=$?
echo "demo: overlays in build/demo/overlays" >&2
exit $status
