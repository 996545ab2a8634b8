#!/usr/bin/env bash
# test_eval.sh - reman-eval as a user runs it: the generated set against the generator's
# exact truth (no folder needed; the targets of docs/eval.md), a missing data set skipped
# with a message and exit 0, usage errors with exit 2, and --list printing a split.
set -euo pipefail
src=${RS_SOURCE_DIR:?}
bin=${RS_BINARY_DIR:?}/bin
work=$(mktemp -d /tmp/rs-e2e-eval-XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$src/tests/e2e/e2e_lib.sh"
fails=0
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# the generated set: one JSON object with the figures, judged against the issue's targets
"$bin/reman-eval" --sets generated --generated 9 --json >"$work/gen.json"
cat "$work/gen.json"
check "generated: one JSON line" test "$(wc -l <"$work/gen.json")" -eq 1
check "generated: targets (crack recall >= 0.98, no false crack on clean cores, rust area within 15 %, every pit >= 0.3 mm found)" \
  $PY - "$work/gen.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
ok = (d["set"] == "generated" and d["n_defective"] == 9 and d["n_clean"] == 5 and d["cracks"] > 0
      and d["crack_recall"] >= 0.98 and d["false_cracks_on_clean_cores"] == 0
      and d["rust_area_err_max_pct"] <= 15 and d["pit_recall_ge_0_3mm"] == 1.0
      and d["false_findings_on_clean_cores"] == 0 and d["ms_per_core"] > 0)
sys.exit(0 if ok else 1)
PYEOF

# a data folder without the set: skipped, said, exit 0
mkdir -p "$work/empty"
set +e
"$bin/reman-eval" --datasets "$work/empty" --sets magnetic_tile --json >"$work/skip.out" 2>"$work/skip.err"
rc=$?
set -e
check "absent set: exit 0" test "$rc" -eq 0
check "absent set: says it skipped" grep -q "skipping magnetic_tile" "$work/skip.err"

# usage errors: exit 2 with the reason
set +e
"$bin/reman-eval" --sets magnetic_tile >/dev/null 2>"$work/u1.err"; rc1=$?
"$bin/reman-eval" --datasets "$work/empty" --polar-window 1 >/dev/null 2>"$work/u2.err"; rc2=$?
"$bin/reman-eval" --datasets "$work/empty" --frobnicate >/dev/null 2>"$work/u3.err"; rc3=$?
set -e
check "no folder for a real set: exit 2" test "$rc1" -eq 2
check "no folder: says what to give" grep -q "give --datasets DIR" "$work/u1.err"
check "bad value: exit 2, named" bash -c "test $rc2 -eq 2 && grep -q \"bad value '1' for --polar-window\" '$work/u2.err'"
check "unknown option: exit 2" bash -c "test $rc3 -eq 2 && grep -q -- '--frobnicate' '$work/u3.err'"

# --list: a tiny set of its own (a manifest of two goods and a defective), split by the hash
mkdir -p "$work/data/tiny"
"$bin/reman-gencore" --out "$work/data/tiny" --seed 1 --count 3 --clean --quiet
{
  echo "image,mask,class,defective"
  n=0
  for f in "$work/data/tiny"/*.jpg; do
    n=$((n + 1))
    echo "$(basename "$f"),,$([ $n -eq 3 ] && echo crack || echo good),$([ $n -eq 3 ] && echo 1 || echo 0)"
  done
} >"$work/data/tiny/manifest.csv"
for side in train validation test; do
  "$bin/reman-eval" --datasets "$work/data" --sets tiny --list $side >>"$work/list.txt"
done
cat "$work/list.txt"
check "--list: every image on exactly one side" test "$(sort -u "$work/list.txt" | wc -l)" -eq 3
check "--list: the defective one is defective" grep -q "^defective,.*$(ls "$work/data/tiny"/*.jpg | sed -n 3p | xargs basename)" "$work/list.txt"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "e2e.eval: all checks passed"
