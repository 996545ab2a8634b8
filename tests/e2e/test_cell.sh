#!/usr/bin/env bash
# test_cell.sh - the automated cell end to end, with the real programs: reman-inspect as a
# headless cell (store + PUB + replay on loopback) grading the bundled demo cores,
# reman-listen receiving, reman-audit verifying, showing history and exporting; a late
# joiner served by replay; the cell killed with SIGKILL mid-run and started again; every
# received decision checked against the JSON Schema in docs/schemas.
set -euo pipefail
src=${RS_SOURCE_DIR:?}
bin=${RS_BINARY_DIR:?}/bin
work=$(mktemp -d /tmp/rs-e2e-cell-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
source "$src/tests/e2e/e2e_lib.sh" # check, stop_pids, demo_references, start_xvfb
# Debian's python3 (with python3-jsonschema, -zmq, -nacl from install-deps.sh --test)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
port() { rs_free_port; }

# the demo families' references, learnt once per build directory (one test at a time)
demo_references

P1=$(port); P2=$(port)
PUB=tcp://127.0.0.1:$P1 REP=tcp://127.0.0.1:$P2
store=$work/store
# the cell's command line (an array, so that `"${cell[@]}" ... &` gives the program's own
# pid to kill, not a subshell's)
cell=("$bin/reman-inspect" --references "$refs" --identify-budget 0 --store "$store" --station e2e-1
      --publish "$PUB" --replay "$REP")

# 1. a subscriber first, then the cell grades the seven demo cores (one, the shaft whose
#    journal is worn into the rule's guard band, is "review": left for a technician, so six
#    decisions)
"$bin/reman-listen" "$PUB" --replay "$REP" --json --count 6 --timeout 60 >"$work/listen1.jsonl" \
  2>"$work/listen1.err" &
lpid=$!; pids+=($lpid)
pysub=""
if $PY -c 'import zmq, nacl.signing' 2>/dev/null; then
  # a subscriber written in Python from docs/protocol.md alone
  $PY "$src/tests/e2e/subscriber.py" "$PUB" "$REP" 6 30 >"$work/py.jsonl" 2>"$work/py.err" &
  pysub=$!; pids+=($pysub)
else
  echo "notice: python3-zmq / python3-nacl absent: the Python subscriber is skipped"
fi
sleep 0.3
set +e
"${cell[@]}" --linger 1 "$src/assets/cores" >"$work/cell1.jsonl" 2>"$work/cell1.err"
rc=$?
set -e
check "cell exit status 0 (got $rc)" test "$rc" -eq 0
wait "$lpid" || true
check "listener got 6 decisions" test "$(wc -l <"$work/listen1.jsonl")" -eq 6
check "seq 1..6 in order" test "$($PY -c '
import json,sys
print(",".join(str(json.loads(l)["seq"]) for l in open(sys.argv[1])))' "$work/listen1.jsonl")" = "1,2,3,4,5,6"
check "decided routes equal the cell's lines" $PY - "$work/cell1.jsonl" "$work/listen1.jsonl" <<'EOF'
import json, sys
cell = [json.loads(l) for l in open(sys.argv[1])]
got = {json.loads(l)["seq"]: json.loads(l) for l in open(sys.argv[2])}
decided = [c for c in cell if c.get("decision")]
assert len(decided) == 6, len(decided)
for c in decided:
    m = got[c["decision"]["seq"]]
    assert m["route"] == c["route"] == c["decision"]["route"], (m["route"], c["route"])
    assert m["serial"] == c["code"]["serial"]
    assert any(e["kind"] == "original" and e["sha256"] == c["sha256"] for e in m["evidence"])
review = [c for c in cell if c.get("proposal") == "review"]
assert [c["file"].split("/")[-1] for c in review] == ["shaft-worn.jpg"], review
assert all(c["decision"] is None and "awaiting" in c for c in review)
EOF
check "audit verify passes" "$bin/reman-audit" verify --store "$store"
if [ -n "$pysub" ]; then
  check "the Python subscriber (from docs/protocol.md) got 6 verified decisions in order" wait "$pysub"
  check "... and printed them" test "$(grep -c '"verified": true' "$work/py.jsonl")" -eq 6
fi

# 2. JSON Schema of every received decision (docs/schemas)
if $PY -c 'import jsonschema' 2>/dev/null; then
  check "decisions valid against docs/schemas/decision.schema.json" $PY - "$src/docs/schemas" "$work/listen1.jsonl" <<'EOF'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1] + "/decision.schema.json"))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for l in open(sys.argv[2]):
    v.validate(json.loads(l))
EOF
else
  echo "notice: python3-jsonschema absent: schema check skipped"
fi

# 3. a late joiner gets the history by replay while the cell lingers (a new session)
"${cell[@]}" --linger 6 "$src/assets/cores/disc-clean.jpg" >"$work/cell2.jsonl" 2>"$work/cell2.err" &
cpid=$!; pids+=($cpid)
for _ in $(seq 100); do [ -s "$work/cell2.jsonl" ] && break; sleep 0.1; done
"$bin/reman-listen" "$PUB" --replay "$REP" --json --count 7 --timeout 20 >"$work/listen2.jsonl" 2>/dev/null || true
check "late joiner got seq 1..7 by replay" test "$($PY -c '
import json,sys
print(",".join(str(json.loads(l)["seq"]) for l in open(sys.argv[1])))' "$work/listen2.jsonl")" = "1,2,3,4,5,6,7"
wait "$cpid" || true

# 4. kill -9 of the real cell mid-run, three times, with a listener throughout
"$bin/reman-listen" "$PUB" --replay "$REP" --json --timeout 25 >"$work/listen3.jsonl" 2>/dev/null &
lpid=$!; pids+=($lpid)
hits=0
for delay in 0.4 0.9 1.5; do
  "${cell[@]}" "$src/assets/cores" >/dev/null 2>&1 &
  cpid=$!
  sleep "$delay"
  if kill -9 "$cpid" 2>/dev/null; then hits=$((hits + 1)); fi
  wait "$cpid" 2>/dev/null || true
done
check "at least one SIGKILL hit a running cell ($hits of 3)" test "$hits" -ge 1
set +e
"${cell[@]}" --linger 3 "$src/assets/cores/housing-clean.jpg" >"$work/cell4.jsonl" 2>"$work/cell4.err"
rc=$?
set -e
check "the cell restarted after the kills ends cleanly (exit $rc: $(tail -n 2 "$work/cell4.err" | tr '\n' ' '))" test "$rc" -eq 0
kill "$lpid" 2>/dev/null || true
wait "$lpid" 2>/dev/null || true
"$bin/reman-audit" export --store "$store" --format json --out "$work/all.json"
check "after kill -9: the listener holds every stored decision once, in order" \
  $PY - "$work/all.json" "$work/listen3.jsonl" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
rows = doc["decisions"] if isinstance(doc, dict) else doc
stored = sorted(r["seq"] for r in rows)
assert stored == list(range(1, len(stored) + 1)), "store seqs not contiguous"
got = [json.loads(l)["seq"] for l in open(sys.argv[2])]
assert got == stored, (got[:10], stored[:10], len(got), len(stored))
EOF
check "audit verify passes after the kills" "$bin/reman-audit" verify --store "$store"

# 5. history and export
"$bin/reman-audit" history --store "$store" --json RC-000101 >"$work/history.jsonl"
check "history of RC-000101 shows its inspections" test "$(grep -c inspection "$work/history.jsonl")" -ge 2
"$bin/reman-audit" export --store "$store" --format html --out "$work/report.html"
check "HTML report has image thumbnails" grep -q 'data:image/jpeg;base64,' "$work/report.html"
"$bin/reman-audit" export --store "$store" --format csv --out "$work/report.csv"
check "CSV has a header and one row per decision" \
  test "$(($(wc -l <"$work/report.csv") - 1))" -eq "$($PY -c '
import json,sys
d=json.load(open(sys.argv[1])); print(len(d["decisions"] if isinstance(d,dict) else d))' "$work/all.json")"

# 6. the golden-sample check at the start of a shift: record a known part, check it again
#    (within tolerance), then check it through a camera whose scale changed by 2.5 %
#    (the same core rendered at 1312x984 instead of 1280x960): drift, recorded, exit 4
gold=(--references "$refs" --identify-budget 0 --store "$store" --station e2e-1)
set +e
"$bin/reman-inspect" "${gold[@]}" --golden-record "$src/assets/cores/housing-clean.jpg" >"$work/g1.jsonl" 2>/dev/null
rc1=$?
"$bin/reman-inspect" "${gold[@]}" --golden-check "$src/assets/cores/housing-clean.jpg" >"$work/g2.jsonl" 2>/dev/null
rc2=$?
"$bin/reman-gencore" --quiet --out "$work/gold" --seed 102 --shape housing --clean --size 1312x984 --name moved
"$bin/reman-inspect" "${gold[@]}" --golden-check "$work/gold/moved.jpg" >"$work/g3.jsonl" 2>/dev/null
rc3=$?
set -e
check "golden sample recorded (exit $rc1)" grep -q '"recorded":"RC-000102"' "$work/g1.jsonl"
check "golden check of the same part: within tolerance (exit $rc2)" \
  sh -c "[ $rc2 -eq 0 ] && grep -q '\"within\":true' '$work/g2.jsonl'"
check "golden check through a rescaled camera: drift named, exit 4 (exit $rc3)" \
  sh -c "[ $rc3 -eq 4 ] && grep -q 'alignment scale' '$work/g3.jsonl'"
check "golden checks are in the ledger and it verifies" "$bin/reman-audit" verify --store "$store"

# 7. one changed byte in an evidence file: verify names it
ev=$(find "$store/evidence" -type f | head -n 1)
printf '\x00' | dd of="$ev" bs=1 seek=100 conv=notrunc status=none
set +e
"$bin/reman-audit" verify --store "$store" >"$work/verify.out" 2>&1
rc=$?
set -e
check "verify fails after a changed evidence byte (exit $rc)" test "$rc" -ne 0
check "verify names the file" grep -q "$(basename "$ev")" "$work/verify.out"

if [ "$fails" -ne 0 ]; then echo "test_cell: $fails failed"; exit 1; fi
echo "test_cell: all passed"
