#!/usr/bin/python3
"""Research prototype, not part of the product, its build or its tests (docs/eval.md,
round 15). A small fully convolutional network trained on good magnetic tiles only, to
tell them from synthetic defects pasted into them (DRAEM / CutPaste style: dark pits,
random-walk cracks, texture from another good tile transposed, smeared, coarsened or
relit inside a smooth blob or beyond a wavy band boundary, dark missing material at a
side), scored on reman-eval's dev side (split 2). 40 of the training goods are held out
from the network and give its surprise scale (rv_surface's s_surprise, re-done here).

Needs Debian's python3-torch, python3-numpy and python3-pil (run with /usr/bin/python3).

usage: selfsup_tile.py DATASETS DEV_SCORES_CSV TEST_SCORES_CSV OUT_CSV [iters] [seed] [eval_csv]
  environment: SCALE (1/S resolution, 2), CROP (training crop side, 96), TOPK (25)
The dev and test CSVs are reman-eval --scores files (--on dev, and the plain test run):
their rows name the dev side (evaluated here) and the test side (left out of training,
never scored unless eval_csv is the test CSV). Training goods = MT_Free minus both.
OUT_CSV: set, image, class, score, surprise, surprise (the last twice, so that the
offline channel sums of docs/eval.md can take it as a channel).
"""
import csv, math, os, random, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

torch.set_num_threads(2)
ds, devcsv, testcsv, out = sys.argv[1:5]
iters = int(sys.argv[5]) if len(sys.argv) > 5 else 1500
seed = int(sys.argv[6]) if len(sys.argv) > 6 else 1
evalcsv = sys.argv[7] if len(sys.argv) > 7 else devcsv
random.seed(seed); np.random.seed(seed); torch.manual_seed(seed)
root = os.path.join(ds, "magnetic_tile")
rows = lambda f: [r for r in csv.reader(open(f)) if r and r[0] == "magnetic_tile"]
dev, test = rows(devcsv), rows(testcsv)
held = {r[1] for r in dev} | {r[1] for r in test}
free = sorted("MT_Free/Imgs/" + f for f in os.listdir(os.path.join(root, "MT_Free/Imgs"))
              if f.endswith(".jpg"))
train = [p for p in free if p not in held]
random.Random(7).shuffle(train)
calib, train = train[:40], train[40:]  # held out from the network: its surprise scale
ev = rows(evalcsv)
print(f"train goods {len(train)}, evaluated {len(ev)}", file=sys.stderr)

S = int(os.environ.get("SCALE", "2"))  # work at 1/S resolution (block means)


def load(p):
    a = np.asarray(Image.open(os.path.join(root, p)).convert("L"), dtype=np.float32)
    h, w = a.shape[0] // S * S, a.shape[1] // S * S
    a = a[:h, :w].reshape(h // S, S, w // S, S).mean(axis=(1, 3))
    return a / (np.median(a) + 1.0)  # Weber: brightness relative to the tile's median


goods = [load(p) for p in train]
C = int(os.environ.get("CROP", "96"))  # training crop side (working px)


def crop(a):
    h, w = a.shape
    if h < C or w < C:
        a = np.pad(a, ((0, max(0, C - h)), (0, max(0, C - w))), mode="reflect")
        h, w = a.shape
    y, x = random.randrange(h - C + 1), random.randrange(w - C + 1)
    return a[y:y + C, x:x + C].copy()


def blur(a, s):
    t = torch.from_numpy(a)[None, None]
    r = max(1, int(3 * s))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=torch.float32) ** 2) / (2 * s * s))
    k = k / k.sum()
    t = F.conv2d(F.pad(t, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    t = F.conv2d(F.pad(t, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))
    return t[0, 0].numpy()


def smooth_mask(area):
    """A random blob-like region (thresholded smooth noise) of about area of the crop."""
    g = random.choice([4, 5, 6])
    n = np.random.rand(g, g).astype(np.float32)
    n = np.asarray(Image.fromarray(n).resize((C, C), Image.BICUBIC))
    n = blur(n, 2.0)
    t = np.quantile(n, 1 - area)
    return (n > t).astype(np.float32)


def anomaly(a):
    """a with one synthetic defect, and its mask."""
    kind = random.random()
    m = np.zeros((C, C), np.float32)
    yy, xx = np.mgrid[0:C, 0:C].astype(np.float32)
    if kind < 0.25:  # dark pit / blowhole
        r = random.uniform(1.5, 7); cy, cx = random.uniform(r, C - r), random.uniform(r, C - r)
        e = random.uniform(0.6, 1.6)
        d = np.sqrt(((yy - cy) * e) ** 2 + ((xx - cx) / e) ** 2)
        m = np.clip(r + 0.5 - d, 0, 1)
        a = a * (1 - m * random.uniform(0.2, 0.6))
    elif kind < 0.45:  # crack: a dark random-walk line
        L = random.randint(12, 60); y, x = random.uniform(0, C), random.uniform(0, C)
        ang = random.uniform(0, math.pi); wdt = random.uniform(0.6, 1.5)
        for _ in range(L):
            ang += random.gauss(0, 0.3); y += math.sin(ang); x += math.cos(ang)
            d = np.sqrt((yy - y) ** 2 + (xx - x) ** 2)
            m = np.maximum(m, np.clip(wdt + 0.5 - d, 0, 1))
        a = a * (1 - m * random.uniform(0.15, 0.5))
    elif kind < 0.85:  # texture change: another good region, altered, in a smooth region
        if random.random() < 0.5:
            m = smooth_mask(random.uniform(0.1, 0.5))
        else:  # a band beyond a wavy boundary across the streaks (another grinding pass)
            k = np.exp(-np.arange(-15, 16) ** 2 / 50.0); k /= k.sum()
            wav = np.convolve(np.pad(np.random.rand(C), 15, mode="reflect"), k, "valid")
            edge = random.uniform(0.2, 0.8) * C + (wav - wav.mean()) * C * 0.6 \
                + (xx[0] - C / 2) * random.uniform(-0.3, 0.3)
            m = (yy < edge[None, :].repeat(C, 0)).astype(np.float32)
            if random.random() < 0.5:
                m = 1 - m
        src = crop(random.choice(goods))
        t = random.random()
        if t < 0.25:
            src = src.T.copy()  # streaks across
        elif t < 0.5:
            src = blur(src, random.uniform(0.8, 2.0))  # polished / smeared
        elif t < 0.75:
            mu = blur(src, 4.0); src = mu + (src - mu) * random.uniform(1.8, 3.0)  # coarser
        else:
            src = src[::-1, :].copy() * random.uniform(0.75, 1.25)  # another pass, other light
        src = src * random.choice([random.uniform(0.8, 0.93), random.uniform(1.07, 1.25), 1.0])
        ms = blur(m, 1.0)
        a = a * (1 - ms) + src * ms
        m = (ms > 0.5).astype(np.float32)
    else:  # missing material at a side: dark, beyond a jagged edge
        side = random.randrange(4); depth = random.uniform(3, 14)
        k = np.exp(-np.arange(-9, 10) ** 2 / 18.0); k /= k.sum()
        prof = np.convolve(np.pad(np.random.rand(C), 9, mode="reflect"), k, "valid") * depth * 2
        coord = [yy, C - 1 - yy, xx, C - 1 - xx][side]
        along = [xx, xx, yy, yy][side].astype(int)
        m = (coord < prof[along]).astype(np.float32)
        lo, hi = random.randrange(C // 2), random.randrange(C // 2, C)
        sel = (along >= lo) & (along <= hi)
        m = m * sel
        a = a * (1 - m) + m * random.uniform(0.05, 0.4)
    return a.astype(np.float32), m


class Net(nn.Module):
    def __init__(s):
        super().__init__()
        c = lambda i, o, st=1, d=1: nn.Conv2d(i, o, 3, st, d, dilation=d)
        s.f = nn.Sequential(c(1, 24), nn.ReLU(), c(24, 32, 2), nn.ReLU(), c(32, 48), nn.ReLU(),
                            c(48, 48, 2), nn.ReLU(), c(48, 48, 1, 2), nn.ReLU(),
                            c(48, 48, 1, 4), nn.ReLU(), c(48, 48, 1, 8), nn.ReLU())
        s.h = nn.Conv2d(48, 1, 1)

    def forward(s, x):
        h, w = x.shape[-2:]
        y = s.h(s.f(x - 1.0))
        return F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)


net = Net()
opt = torch.optim.Adam(net.parameters(), 2e-3)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, iters)
B = 24
t0 = time.time()
for it in range(iters):
    xs, ms = [], []
    for b in range(B):
        a = crop(random.choice(goods))
        if random.random() < 0.5:
            a = a[:, ::-1].copy()
        if b % 2:
            a, m = anomaly(a)
        else:
            m = np.zeros_like(a)
        xs.append(a); ms.append(m)
    x = torch.from_numpy(np.stack(xs))[:, None]
    m = torch.from_numpy(np.stack(ms))[:, None]
    logit = net(x)
    p = torch.sigmoid(logit)
    bce = F.binary_cross_entropy_with_logits(logit, m, pos_weight=torch.tensor(4.0))
    dice = 1 - (2 * (p * m).sum() + 1) / (p.sum() + m.sum() + 1)
    loss = bce + dice
    opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    if it % 100 == 0:
        print(f"it {it} loss {loss.item():.3f} ({time.time() - t0:.0f} s)", file=sys.stderr)

net.eval()
def score_of(a):
    p = torch.sigmoid(net(torch.from_numpy(a)[None, None]))[0, 0].numpy()
    p = p[BORDER:-BORDER, BORDER:-BORDER]
    return float(np.sort(p.ravel())[-TOPK:].mean())
BORDER, TOPK = 6, int(os.environ.get("TOPK", "25"))
with torch.no_grad():
    held_s = sorted(score_of(load(p)) for p in calib)
def surprise(x, g=held_s):  # as rv_surface's s_surprise (exponential tail over the top tenth)
    n = len(g); m = max(3, n // 10); t = g[n - m]; beta = sum(v - t for v in g[n - m:]) / m
    if x > t and beta > 0:
        return -math.log((m + 1) / (n + 1)) + (x - t) / beta
    c = sum(v >= x for v in g)
    return -math.log((c + 1) / (n + 1))
with torch.no_grad(), open(out, "w") as fo:
    for r in ev:
        s = score_of(load(r[1])); u = surprise(s)
        fo.write(f"magnetic_tile,{r[1]},{r[2]},{s},{u},{u}\n")
print(f"done in {time.time() - t0:.0f} s", file=sys.stderr)
torch.save(net.state_dict(), out + ".pt")
