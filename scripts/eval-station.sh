#!/usr/bin/env bash
# eval-station.sh [DATASETS] [SIDE] - the cast impeller through the station's own programs:
# reman-train learns the family's reference (and its rings) from the training side's good
# images (the first is the master), reman-inspect grades one side's images (default: test)
# as the station would, without reading a code (--no-identify). Prints the proposals for the
# good and the defective images and the AUROC of the anomaly score (docs/eval.md).
# The images are read where they are and never copied; skipped when the set is absent.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${RS_BIN:-$here/build/bin}
data=${1:-$here/../shared/datasets}
side=${2:-test}
set=casting_impeller_seg
if [ ! -f "$data/$set/manifest.csv" ]; then
    echo "eval-station: no $data/$set/manifest.csv: skipped" >&2
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/reman-eval" --datasets "$data" --sets "$set" --list train | awk -F, '$1 == "good" { print $2 }' >"$work/train"
"$bin/reman-eval" --datasets "$data" --sets "$set" --list "$side" >"$work/side"
mapfile -t train <"$work/train"
"$bin/reman-train" "$here/models/families/cast-impeller.json" --master "${train[0]}" \
    --out "$work/cast-impeller.ref" --quiet "${train[@]:1}"
for kind in good defective; do
    mapfile -t imgs < <(awk -F, -v k="$kind" '$1 == k { print $2 }' "$work/side")
    "$bin/reman-inspect" --family cast-impeller --no-identify --references "$work" "${imgs[@]}" \
        2>/dev/null >"$work/$kind.jsonl" || true
    printf '%s, %s (%d): ' "$side" "$kind" "${#imgs[@]}"
    grep -o '"proposal":"[a-z]*"' "$work/$kind.jsonl" | cut -d'"' -f4 | sort | uniq -c |
        awk '{ printf "%s %s  ", $1, $2 } END { print "" }'
    grep -o '"anomaly":{[^}]*' "$work/$kind.jsonl" | grep -o '"score":[-0-9.eE+]*' |
        cut -d: -f2 >"$work/$kind.scores"
done
# AUROC of the anomaly score (Mann-Whitney, ties count half)
awk 'NR == FNR { g[n++] = $1; next } { for (i = 0; i < n; i++) s += ($1 > g[i]) + 0.5 * ($1 == g[i]); m++ }
     END { if (n && m) printf "anomaly score AUROC %.3f (%d good, %d defective)\n", s / (n * m), n, m }' \
    "$work/good.scores" "$work/defective.scores"
