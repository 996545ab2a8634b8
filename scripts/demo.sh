#!/usr/bin/env bash
# The main job on its embedded default: installs what is needed, builds, and runs the
# headless inspection over the bundled demo cores (assets/cores), one JSON line per part.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
exec ./build/bin/reman-inspect "$@" assets/cores
