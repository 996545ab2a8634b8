#!/usr/bin/env bash
# test_unseen_cores.sh - cores the references never saw, through reman-inspect as the station
# sends them: aligned to the master, every detector, graded. Sound cores of each shape in
# their own poses and lights must be proposed for reuse (a station that scraps sound cores
# loses their value); chipped cores must have each chip reported where the truth puts it;
# shafts with worn journals must read their true diameter within the family's guard band
# and be routed by it. The generator's truth is exact; none of these seeds is one the demo
# references were trained on (scripts/train-demo-references.sh: 5000.., master 9000).
set -euo pipefail
src=${RS_SOURCE_DIR:?}
bin=${RS_BINARY_DIR:?}/bin
work=$(mktemp -d /tmp/rs-e2e-unseen-XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$src/tests/e2e/e2e_lib.sh"
fails=0
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
demo_references

for shape in disc housing shaft; do
  "$bin/reman-gencore" --quiet --shape "$shape" --seed 760000 --count 10 --clean \
    --out "$work/clean-$shape"
  "$bin/reman-gencore" --quiet --shape "$shape" --seed 770000 --count 6 --defects chip \
    --out "$work/chip-$shape"
  "$bin/reman-gencore" --quiet --shape "$shape" --seed 771000 --count 5 --defects crack \
    --per-type 2 --out "$work/crack-$shape"
  # the master's pose, to carry the truth into the reference frame the findings are in
  "$bin/reman-gencore" --quiet --shape "$shape" --seed 9000 --canonical --reference \
    --out "$work" --name "master-$shape"
done
for wear in 0.3 0.8; do
  "$bin/reman-gencore" --quiet --shape shaft --seed 780000 --count 5 --clean \
    --journal-wear "$wear" --out "$work/worn-$wear"
done
# a sound shaft that was scrapped for a 28 mm "crack" along its journal's step (2026-12-06):
# the view darker than the mean all round the step's shadow line
"$bin/reman-gencore" --quiet --shape shaft --seed 870168 --clean --out "$work/known-shaft"
# two sound discs that were scrapped for a 53-81 mm "crack" along the friction ring's inner
# edge (2026-12-07): the groove there lay 1.3-2 px off the mean's (an alignment residual),
# and its dark side read as a line beyond the one pixel the crack test allowed the reference;
# the alignment's last step (the outline's edge points) now takes that residual out
for seed in 990023 1400168; do
  "$bin/reman-gencore" --quiet --shape disc --seed "$seed" --clean --out "$work/known-disc"
done
# sound housings that read a 27-39 mm "crack" along the ID pad's edge (2026-12-07: a line
# of shade 14-19 under the mean where the goods' spread is 8-9; their anomaly sends them to
# review or remanufacture, which is not what this checks), and one scrapped for an 8.6 mm
# one on the inlet ring's shaded edge; and one scrapped for a 3.5 mm by 2.0 mm "crack", a
# spot where the outlet's shadow band meets the volute's rim (a crack is now at least twice
# as long as its width at half depth)
for seed in 1200100 1500048 1600016 2400038; do
  "$bin/reman-gencore" --quiet --shape housing --seed "$seed" --clean --out "$work/known-housing"
done
# two cracked shafts whose crack crosses the keyway's rim: before the keyway was a blind hole
# (demo-shaft revision 5, its floor in the part's mask) the crack's cut of the rim read as
# 9.3 mm2 of missing material besides the crack
for seed in 2420026 2420033; do
  "$bin/reman-gencore" --quiet --shape shaft --seed "$seed" --defects crack --per-type 2 \
    --out "$work/known-keyway"
done
for d in "$work"/clean-* "$work"/chip-* "$work"/crack-* "$work"/worn-* "$work"/known-*; do
  "$bin/reman-inspect" --references "$refs" "$d"/*.jpg >"$d.jsonl" 2>"$d.err" || true
done

# (the one miss allowed: a housing whose inlet ring's shaded edge reads as a 2-5 mm crack,
# about 1 in 100 sound housings since the crack test allows the reference a pixel of
# alignment, 4 in 100 before; seed 760003 was one until a crack had to be darker than 3.5
# times the goods' spread along it, 2026-12-07, and reads reuse now; docs/eval.md)
check "sound cores: at least 9 of 10 of each shape proposed for reuse" \
  $PY - "$work" <<'EOF'
import json, sys
ok = True
for shape in ("disc", "housing", "shaft"):
    lines = [json.loads(l) for l in open(f"{sys.argv[1]}/clean-{shape}.jsonl")]
    props = [l.get("proposal") for l in lines]
    found = sorted({f["type"] for l in lines for f in l.get("findings", []) if f["type"] != "dimension"})
    print(f"  {shape}: {len(lines)} inspected, {props.count('reuse')} reuse, "
          f"others {[p for p in props if p != 'reuse']}, finding types {found}")
    ok &= len(lines) == 10 and props.count("reuse") >= 9
sys.exit(0 if ok else 1)
EOF

# the alignment's residual (the median offset of the view's outline edges from the
# master's, rv_align_residual): before 2026-12-07 discs kept up to 2-4 px of pose error
# from bevels the lamp lights on one side (990023 read 1.09 px, its set 0.27-0.41); the
# outline's edge points now correct it
check "sound cores and discs 990023, 1400168: aligned to within 0.5 px of their outline" \
  $PY - "$work" <<'EOF'
import json, sys
ok = True
for name in ("clean-disc", "clean-housing", "clean-shaft", "known-disc"):
    lines = [json.loads(l) for l in open(f"{sys.argv[1]}/{name}.jsonl")]
    res = [l.get("alignment", {}).get("residual_px") for l in lines]
    pts = [l.get("alignment", {}).get("edge_points") for l in lines]
    print(f"  {name}: residual_px {[round(r, 2) if r is not None else None for r in res]}, "
          f"edge points {min(p or 0 for p in pts)}..{max(p or 0 for p in pts)}")
    ok &= len(lines) >= 2 and all(r is not None and 0 <= r <= 0.5 for r in res)
    ok &= all(p is not None and p >= 200 for p in pts)
sys.exit(0 if ok else 1)
EOF

check "sound shaft 870168: no crack where the view is darker than the mean all round" \
  $PY - "$work" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(f"{sys.argv[1]}/known-shaft.jsonl")]
cracks = [f for l in lines for f in l.get("findings", []) if f["type"] == "crack"]
print("  ", [l.get("proposal") for l in lines], [round(f["length_mm"], 1) for f in cracks])
sys.exit(0 if len(lines) == 1 and not cracks and lines[0].get("proposal") == "reuse" else 1)
EOF

check "sound discs 990023, 1400168: no crack along the friction ring's inner edge" \
  $PY - "$work" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(f"{sys.argv[1]}/known-disc.jsonl")]
cracks = [f for l in lines for f in l.get("findings", []) if f["type"] == "crack"]
print("  ", [l.get("proposal") for l in lines], [round(f["length_mm"], 1) for f in cracks])
sys.exit(0 if len(lines) == 2 and not cracks and
         all(l.get("proposal") == "reuse" for l in lines) else 1)
EOF

check "sound housings 1200100, 1500048, 1600016, 2400038: no crack along a line of shade" \
  $PY - "$work" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(f"{sys.argv[1]}/known-housing.jsonl")]
cracks = [(f["zone"], round(f["length_mm"], 1)) for l in lines for f in l.get("findings", [])
          if f["type"] == "crack"]
print("  ", [l.get("proposal") for l in lines], cracks)
sys.exit(0 if len(lines) == 4 and all(l.get("proposal") for l in lines) and not cracks else 1)
EOF

check "cracked shafts 2420026, 2420033: the crack across the keyway's rim, and no missing material" \
  $PY - "$work" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(f"{sys.argv[1]}/known-keyway.jsonl")]
found = [[(f["type"], f["zone"]) for f in l.get("findings", []) if f["type"] != "dimension"]
         for l in lines]
print("  ", [l.get("proposal") for l in lines], found)
sys.exit(0 if len(lines) == 2 and all(("crack", "hub-seat") in f for f in found) and
         not any(t == "missing" for f in found for t, _ in f) else 1)
EOF

check "chipped cores: every chip reported as missing material where the truth puts it" \
  $PY - "$work" "$src/tests/e2e" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[2])
from truth_frame import load, to_reference
ok = True
for shape in ("disc", "housing", "shaft"):
    m = load(f"{sys.argv[1]}/master-{shape}.json")
    n = hit = 0
    for l in open(f"{sys.argv[1]}/chip-{shape}.jsonl"):
        j = json.loads(l)
        t = load(j["file"][:-4] + ".json")
        ref = to_reference(m, t)
        miss = [f["bbox"] for f in j.get("findings", []) if f["type"] == "missing"]
        for d in t["defects"]:
            if d["kind"] != "chip":
                continue
            px, py = ref(d["centre"])
            n += 1
            # the chip's centre lies a little outside the outline (it bites from outside)
            hit += any(b[0] - 25 <= px <= b[0] + b[2] + 25 and b[1] - 25 <= py <= b[1] + b[3] + 25
                       for b in miss)
    print(f"  {shape}: {hit} of {n} chips reported")
    ok &= n >= 6 and hit >= n - 1
sys.exit(0 if ok else 1)
EOF

# a chipped core proposed for reuse is an escape. Before 2026-12-06 chips on the demo
# shaft's dark lower flank escaped (12 of 80 unseen chipped shafts): one good part's mask
# cut short by a dark turning streak cut the nominal outline there, and the chip was
# measured to it; each mask is now mended along the median outline (rv_align_part_mend)
check "chipped cores: none proposed for reuse" \
  $PY - "$work" <<'EOF'
import json, sys
ok = True
for shape in ("disc", "housing", "shaft"):
    props = [json.loads(l).get("proposal") for l in open(f"{sys.argv[1]}/chip-{shape}.jsonl")]
    print(f"  {shape}: {len(props)} inspected, proposals {sorted(set(map(str, props)))}")
    ok &= len(props) >= 6 and "reuse" not in props
sys.exit(0 if ok else 1)
EOF

# chips' areas through the station: a gap is measured out to the learnt median outline
# (reference version 5), not to the nominal material kept short of it where the goods'
# outlines disagree (which found 55-70 % of a chip's area). The shaft's chips on its dark
# lower flank read lower (0.68-0.97 of their area on these six; 0.93-0.95, the median, on
# 120 unseen ones), and before the part masks were mended along the median outline
# (2026-12-06) these six read 0-0.72, median 0.23
check "chipped cores: the median chip's area read within 15 % of the truth (discs, housings), at least 0.75 of it (shafts)" \
  $PY - "$work" <<'EOF'
import json, statistics, sys
ok = True
for shape in ("disc", "housing", "shaft"):
    r = []
    for l in open(f"{sys.argv[1]}/chip-{shape}.jsonl"):
        j = json.loads(l)
        t = json.load(open(j["file"][:-4] + ".json"))
        true = sum(d["area_mm2"] for d in t["defects"] if d["kind"] == "chip")
        read = sum(f["area_mm2"] for f in j.get("findings", []) if f["type"] == "missing")
        r.append(read / true)
    med = statistics.median(r)
    print(f"  {shape}: read / true area per core {', '.join(f'{x:.2f}' for x in sorted(r))}")
    ok &= len(r) >= 6 and (abs(med - 1) <= 0.15 if shape != "shaft" else med >= 0.75)
sys.exit(0 if ok else 1)
EOF

# cracks through the station (learnt references, alignment, zones): each found, and none
# measured much longer than it is. Before 2026-12-05 the walk past a crack's end judged
# darkness against its own first steps and followed the part's own tool marks: 4 of these
# 30 cracks read 0.6-0.8 times longer than they are (and fail this check). Since 2026-12-06
# the walk leaves its zone (a crack is measured whole wherever it runs on the part): 9 of
# 10 per shape within 10 % here, and on three unseen sets of 240 cracks 0.90 of them.
check "cracked cores: at least 9 of 10 cracks per shape found, none read over 15 % long, 8 of 10 within 10 %" \
  $PY - "$work" "$src/tests/e2e" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[2])
from truth_frame import load, true_cracks
ok = True
for shape in ("disc", "housing", "shaft"):
    m = load(f"{sys.argv[1]}/master-{shape}.json")
    n = hit = within = over = 0
    # the findings whose box (8 px grown) holds half the crack's points or more
    lines = [json.loads(l) for l in open(f"{sys.argv[1]}/crack-{shape}.jsonl")]
    for j, d, lens in true_cracks(lines, m):
        n += 1
        if not lens:
            continue
        hit += 1
        e = max(lens) / d["length_mm"] - 1
        within += abs(e) <= 0.10
        over += e > 0.15
    print(f"  {shape}: {hit} of {n} cracks found, {within} within 10 %, {over} over 15 % long")
    ok &= n == 10 and hit >= 9 and within >= 8 and over == 0
sys.exit(0 if ok else 1)
EOF

# each crack's polyline ("points", aligned-view px) where the crack is: the median distance of
# its points to the nearest true crack (carried into the reference frame) within 3 px, a
# crack's width (of 498 cracks reported on 240 unseen cracked cores, 497 lay within 2.0 px and
# one was a false crack off every true one; a walk past a
# crack's end can run some px on, so not the mean); a joined crack's zones hold its zone
check "cracked cores: every crack's polyline lies on a true crack (median distance within 3 px)" \
  $PY - "$work" "$src/tests/e2e" <<'EOF'
import json, math, statistics, sys
sys.path.insert(0, sys.argv[2])
from truth_frame import load, to_reference
def seg(p, a, b):
    ex, ey, wx, wy = b[0] - a[0], b[1] - a[1], p[0] - a[0], p[1] - a[1]
    l2 = ex * ex + ey * ey
    t = max(0, min(1, (wx * ex + wy * ey) / l2)) if l2 else 0
    return math.hypot(wx - t * ex, wy - t * ey)
ok, worst, n = True, 0, 0
for shape in ("disc", "housing", "shaft"):
    m = load(f"{sys.argv[1]}/master-{shape}.json")
    for l in open(f"{sys.argv[1]}/crack-{shape}.jsonl"):
        j = json.loads(l)
        t = load(j["file"][:-4] + ".json")
        ref = to_reference(m, t)
        truth = [[ref(p) for p in d["points"]] for d in t["defects"] if d["kind"] == "crack"]
        for f in j.get("findings", []):
            if f["type"] != "crack":
                continue
            n += 1
            pts = f.get("points", [])
            dist = statistics.median(min(min(seg(p, a, b) for a, b in zip(T, T[1:])) for T in truth)
                                     for p in pts) if pts else math.inf
            worst = max(worst, dist)
            zs = f.get("zones")
            if dist > 3 or (zs is not None and (f["zone"] not in zs or len(zs) < 2)):
                print(f"  {j['file'].split('/')[-1]}: {f['zone']} {zs} {len(pts)} points, median distance {dist:.2f} px  <--")
                ok = False
print(f"  {n} cracks reported, largest median distance of a polyline to its crack {worst:.2f} px")
sys.exit(0 if ok and n >= 27 else 1)
EOF

check "worn journals: read within the 0.15 mm guard band, 0.3 mm worn left to a person, 0.8 mm worn not reused or remanufactured" \
  $PY - "$work" <<'EOF'
import json, sys
ok = True
for wear, want in (("0.3", {"review"}), ("0.8", {"repair", "scrap"})):
    for l in open(f"{sys.argv[1]}/worn-{wear}.jsonl"):
        j = json.loads(l)
        t = json.load(open(j["file"][:-4] + ".json"))
        true = t["part"]["journal_diameter_mm"]
        read = [f["value_mm"] for f in j.get("findings", []) if f["type"] == "dimension"]
        good = len(read) == 1 and abs(read[0] - true) <= 0.15 and j.get("proposal") in want
        print(f"  {j['file'].split('/')[-1]}: journal {true:.2f} mm read "
              f"{read[0] if read else None}, proposal {j.get('proposal')}{'' if good else '  <--'}")
        ok &= good
sys.exit(0 if ok else 1)
EOF

# what the goods can hold the false alarms to: 12 (the demo's count until 2026-12-05) cannot
# hold 2 %, and reman-train says so; the demo references' 100 can
"$bin/reman-gencore" --quiet --shape housing --seed 9000 --canonical --reference \
  --out "$work" --name train-master
"$bin/reman-gencore" --quiet --shape housing --seed 5000 --count 12 --clean --out "$work/train12"
"$bin/reman-train" --quiet "$src/models/families/demo-housing.json" --master "$work/train-master.jpg" \
  --out "$work/h12.ref" "$work/train12" >"$work/train12.json" 2>"$work/train12.err" || true
check "reman-train on 12 goods: fa_expected 1/13 in its line, a warning naming 49 goods" \
  $PY - "$work" <<'EOF'
import json, sys
j = json.load(open(f"{sys.argv[1]}/train12.json"))
err = open(f"{sys.argv[1]}/train12.err").read()
print("  ", j.get("n_train"), j.get("fa_expected"), err.strip())
sys.exit(0 if j.get("n_train") == 12 and abs(j.get("fa_expected", 0) - 1 / 13) < 1e-4
         and "12 good images cannot hold the false alarms to 2 %" in err
         and "49 or more good images are needed" in err else 1)
EOF
# the goods' alignment residual in reman-train's line, beside the family's review limit;
# a limit the goods themselves reach draws a warning (the cast impeller's goods read
# 0.7-1.7 px against the default 0.5: docs/inspection.md, "The residual")
sed 's|"height": 960}|"height": 960, "align": {"max_residual_px": 0.05}}|' \
  "$src/models/families/demo-housing.json" >"$work/tight-housing.json"
"$bin/reman-train" --quiet "$work/tight-housing.json" --master "$work/train-master.jpg" \
  --out "$work/h12t.ref" "$work/train12" >"$work/train12t.json" 2>"$work/train12t.err" || true
check "reman-train reports the goods' residual; a limit they reach is warned of, the default is not" \
  $PY - "$work" <<'EOF'
import json, sys
w = sys.argv[1]
a, b = json.load(open(f"{w}/train12.json")), json.load(open(f"{w}/train12t.json"))
ea, eb = open(f"{w}/train12.err").read(), open(f"{w}/train12t.err").read()
ra, rb = a.get("residual_px", {}), b.get("residual_px", {})
print("  ", ra, rb, eb.strip().splitlines()[-1:] if eb.strip() else "")
ok = 0 < ra.get("median", -1) <= ra.get("max", -1) <= 0.5 and ra.get("limit") == 0.5
ok &= "alignment residual" not in ea
ok &= rb.get("max") == ra.get("max") and rb.get("limit") == 0.05
ok &= "over the family's views[0].align.max_residual_px 0.05" in eb
sys.exit(0 if ok else 1)
EOF
check "the demo references hold 2 %: each learnt from 49 good cores or more" \
  $PY - "$refs" <<'EOF'
import struct, sys
ok = True
for shape in ("disc", "housing", "shaft"):
    b = open(f"{sys.argv[1]}/demo-{shape}.ref", "rb").read(28)
    n = struct.unpack("<I", b[20:24])[0]
    print(f"  demo-{shape}: learnt from {n} good cores")
    ok &= n >= 49
sys.exit(0 if ok else 1)
EOF

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
