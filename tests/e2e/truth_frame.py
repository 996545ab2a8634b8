"""truth_frame.py - the generator's truth carried into the reference frame the findings are in.

reman-inspect reports findings on the view aligned to the family's master; the generator's
truth (reman-gencore's JSON) is in the photograph's own frame. The master's JSON and the
core's give both exact poses (centre, angle): to_reference(master, core) returns a function
that maps a photograph point to the reference frame.
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
