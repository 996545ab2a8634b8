"""truth_frame.py - the generator's truth carried into the reference frame the findings are in.

reman-inspect reports findings on the view aligned to the family's master; the generator's
truth (reman-gencore's JSON) is in the photograph's own frame. The master's JSON and the
core's give both exact poses (centre, angle): to_reference(master, core) returns a function
that maps a photograph point to the reference frame. crack_lengths() finds the reported
cracks that cover a true one; true_cracks() walks a set's true cracks with them.
"""
import json
import math


def _pose(t):
    return t["part"]["centre"], math.radians(t["part"]["angle_deg"])


def load(path):
    with open(path) as f:
        return json.load(f)


def to_reference(master, core):
    (mx, my), ma = _pose(master)
    (cx, cy), ca = _pose(core)
    c, s = math.cos(ma - ca), math.sin(ma - ca)

    def f(p):
        x, y = p[0] - cx, p[1] - cy
        return mx + c * x - s * y, my + s * x + c * y

    return f


def crack_lengths(findings, defect, ref):
    """The lengths of the reported cracks (findings of a reman-inspect line) whose box,
    grown by 8 px, holds half the true crack's points or more (defect: the generator's,
    ref: to_reference's mapping into the findings' frame)."""
    pts = [ref(p) for p in defect["points"]]
    return [f["length_mm"] for f in findings if f["type"] == "crack" and
            sum(f["bbox"][0] - 8 <= x <= f["bbox"][0] + f["bbox"][2] + 8 and
                f["bbox"][1] - 8 <= y <= f["bbox"][1] + f["bbox"][3] + 8
                for x, y in pts) >= max(1, len(pts) // 2)]


def true_cracks(lines, master):
    """For each true crack of the cores inspected in lines (reman-inspect's JSON lines, each
    core's truth beside its image), (line, defect, lengths of the cracks reported on it)."""
    for j in lines:
        t = load(j["file"][:-4] + ".json")
        ref = to_reference(master, t)
        for d in t["defects"]:
            if d["kind"] == "crack":
                yield j, d, crack_lengths(j.get("findings", []), d, ref)
