#!/bin/sh
# make-demo-cores.sh - regenerate the demo cores shipped in assets/cores/.
#
# Each core is NAME.jpg (the photograph), NAME.pgm (the label mask, one byte per pixel)
# and NAME.json (ground truth, schema reman.gencore/1), written by reman-gencore. The
# generator is deterministic, so running this again reproduces the committed files
# byte for byte (given the same libjpeg-turbo).
#
# Usage: scripts/make-demo-cores.sh [OUTDIR]
#   REMAN_GENCORE=path/to/reman-gencore overrides the program (default: the first of
#   build/bin/reman-gencore and build-*/bin/reman-gencore that exists).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/assets/cores"}
bin=${REMAN_GENCORE:-}
if [ -z "$bin" ]; then
    for candidate in "$root"/build/bin/reman-gencore "$root"/build-*/bin/reman-gencore; do
        if [ -x "$candidate" ]; then
            bin=$candidate
            break
        fi
    done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "make-demo-cores: reman-gencore not found; build it first" \
         "(cmake --build build --target reman-gencore) or set REMAN_GENCORE" >&2
    exit 1
fi

# 1280x960 keeps the repository small while showing every defect clearly.
size=1280x960
mkdir -p "$out"
gen() {
    "$bin" --size "$size" --out "$out" "$@"
}

# One clean core per shape: what a part in good condition looks like.
gen --seed 101 --shape disc --clean --name disc-clean
gen --seed 102 --shape housing --clean --name housing-clean
gen --seed 103 --shape shaft --clean --name shaft-clean
# Cores with defects, each listed with its true measurements in the JSON.
gen --seed 201 --shape disc --defects all --name disc-defects
gen --seed 202 --shape housing --defects all --name housing-defects
gen --seed 203 --shape shaft --defects crack,rust,chip,wear --name shaft-defects
# A sound shaft whose bearing journal is worn 0.25 mm under its 52 mm: the caliper reads
# it inside the journal rule's guard band, so the grader leaves it to a person (review).
gen --seed 104 --shape shaft --clean --journal-wear 0.25 --name shaft-worn
