#!/usr/bin/python3
"""Research prototype, not part of the product, its build or its tests (docs/eval.md,
round 16). One Gaussian (PaDiM / "Gaussian AD" style) over pretrained CNN features of the
good magnetic tiles: MobileNetV1 as trained for face detection, whose weights the npm
package @vladmandic/face-api (MIT) ships in model/ssd_mobilenetv1_model.bin (uint8 with a
scale and a minimum per tensor). Scored on reman-eval's dev side (split 2).

Needs Debian's python3-torch, python3-numpy and python3-pil (run with /usr/bin/python3),
and the package unpacked: mkdir W && cd W && npm pack @vladmandic/face-api && tar xzf *.tgz
usage: MODEL_DIR=W/package/model DATASETS=../shared/datasets DEV=dev.csv TEST=test.list \
       LAYERS=3,5 SCALE=1 TOPK=1 pretrained_tile.py
  DEV: reman-eval --datasets D --on dev --sets magnetic_tile --scores DEV; TEST: reman-eval
  --datasets D --sets magnetic_tile --list test (both only name the images held out;
  training goods = MT_Free less both).
"""
import csv, json, os, sys, time, math
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
torch.set_num_threads(int(os.environ.get('TH','2')))
MD = os.environ.get('MODEL_DIR', 'package/model') + '/'
man = json.load(open(MD + 'ssd_mobilenetv1_model-weights_manifest.json'))[0]
raw = np.fromfile(MD + man['paths'][0], dtype=np.uint8)
W = {}; off = 0
for w in man['weights']:
    n = int(np.prod(w['shape'])) if w['shape'] else 1
    q = w.get('quantization')
    if q:
        v = raw[off:off + n].astype(np.float32) * q['scale'] + q['min']; off += n
    else:
        v = raw[off:off + 4 * n].view(np.float32); off += 4 * n
    W[w['name']] = v.reshape(w['shape'])
assert off == raw.size, (off, raw.size)

def tfpad(x, k, s):
    h, w = x.shape[2:]
    def p(n):
        o = (n + s - 1) // s; t = max((o - 1) * s + k - n, 0); return t // 2, t - t // 2
    (t, b), (l, r) = p(h), p(w)
    return F.pad(x, (l, r, t, b))

def conv(x, wt, s):  # wt HWIO
    k = wt.shape[0]
    return F.conv2d(tfpad(x, k, s), torch.from_numpy(np.ascontiguousarray(wt.transpose(3, 2, 0, 1))), stride=s)

def dw(x, wt, s):  # wt H W C 1
    C = wt.shape[2]
    return F.conv2d(tfpad(x, 3, s), torch.from_numpy(np.ascontiguousarray(wt.transpose(2, 3, 0, 1))), stride=s, groups=C)

def net(x, upto):
    outs = {}
    x = conv(x, W['MobilenetV1/Conv2d_0_pointwise/weights'], 2) + torch.from_numpy(W['MobilenetV1/Conv2d_0_pointwise/convolution_bn_offset'])[None, :, None, None]
    x = x.clamp(0, 6); outs[0] = x
    for i in range(1, upto + 1):
        p = f'MobilenetV1/Conv2d_{i}_depthwise/'
        s = 2 if i in (2, 4, 6, 12) else 1
        x = dw(x, W[p + 'depthwise_weights'], s)
        g, b, m, v = (torch.from_numpy(W[p + 'BatchNorm/' + k])[None, :, None, None] for k in ('gamma', 'beta', 'moving_mean', 'moving_variance'))
        x = ((x - m) / torch.sqrt(v + 0.0010000000474974513) * g + b).clamp(0, 6)
        p = f'MobilenetV1/Conv2d_{i}_pointwise/'
        x = (conv(x, W[p + 'weights'], 1) + torch.from_numpy(W[p + 'convolution_bn_offset'])[None, :, None, None]).clamp(0, 6)
        outs[i] = x
    return outs

ROOT = os.environ.get('DATASETS', '../shared/datasets') + '/magnetic_tile/'
LAYERS = [int(v) for v in os.environ.get('LAYERS', '3,5').split(',')]
SCALE = float(os.environ.get('SCALE', '1'))
NORM = int(os.environ.get('NORM', '1'))
BORDER = int(os.environ.get('BORDER', '2'))
TOPK = int(os.environ.get('TOPK', '1'))
DIM = int(os.environ.get('DIM', '0'))

def feats(p):
    im = Image.open(ROOT + p).convert('L')
    if SCALE != 1:
        im = im.resize((max(16, round(im.size[0] * SCALE)), max(16, round(im.size[1] * SCALE))), Image.BILINEAR)
    a = np.asarray(im, dtype=np.float32)
    if NORM: a = a * (128.0 / (np.median(a) + 1.0))
    x = torch.from_numpy(a / 127.5 - 1.0)[None, None].repeat(1, 3, 1, 1)
    with torch.no_grad():
        o = net(x, max(LAYERS))
        base = o[LAYERS[0]]
        fs = [base] + [F.interpolate(o[l], size=base.shape[2:], mode='bilinear', align_corners=False) for l in LAYERS[1:]]
        f = torch.cat(fs, 1)
        f = F.avg_pool2d(f, 3, 1, 1, count_include_pad=False)
    return f[0].numpy()

rows = [r for r in csv.reader(open(os.environ.get('DEV', 'dev.csv')))]
test = {l.strip().split(',', 1)[1].split('/magnetic_tile/', 1)[1] for l in open(os.environ.get('TEST', 'test.list'))}
held = {r[1] for r in rows} | test
free = sorted('MT_Free/Imgs/' + f for f in os.listdir(ROOT + 'MT_Free/Imgs') if f.endswith('.jpg'))
train = [p for p in free if p not in held]
print('train', len(train), 'dev', len(rows), file=sys.stderr)
t0 = time.time()
rng = np.random.default_rng(1)
samp = []
for p in train:
    f = feats(p); C, h, w = f.shape
    f = f[:, BORDER:h - BORDER, BORDER:w - BORDER].reshape(C, -1).T
    samp.append(f[rng.choice(len(f), min(len(f), 1500), replace=False)])
X = np.concatenate(samp).astype(np.float64)
sel = np.arange(X.shape[1])
if DIM: sel = np.sort(rng.choice(X.shape[1], DIM, replace=False))
X = X[:, sel]
mu = X.mean(0); cov = np.cov(X, rowvar=False); cov += 0.01 * np.eye(len(sel)) * np.trace(cov) / len(sel)
P = np.linalg.inv(cov)
print('fit', X.shape, f'{time.time()-t0:.0f}s', file=sys.stderr)

def score(p):
    f = feats(p)[sel]; C, h, w = f.shape
    d = f.reshape(C, -1).T - mu
    m = np.sqrt(np.maximum(np.sum((d @ P) * d, 1), 0)).reshape(h, w)
    m = m[BORDER:h - BORDER, BORDER:w - BORDER]
    v = np.sort(m.ravel())[-TOPK:].mean()
    return float(v)

S = []; Y = []; CL = []
for r in rows:
    S.append(score(r[1])); Y.append(r[2] != 'good'); CL.append(r[2])
S = np.array(S); Y = np.array(Y); CL = np.array(CL)
def auroc(s, y):
    pos, neg = s[y], s[~y]
    return (np.sum(pos[:, None] > neg[None]) + 0.5 * np.sum(pos[:, None] == neg[None])) / (len(pos) * len(neg))
neg = np.sort(S[~Y]); thr = neg[int(math.ceil(0.98 * len(neg))) - 1]
print(f'LAYERS={LAYERS} SCALE={SCALE} NORM={NORM} TOPK={TOPK} DIM={DIM}: AUROC {auroc(S, Y):.3f} recall@2% {np.mean(S[Y] > thr):.2f}',
      ' '.join(f'{c}:{auroc(S[(CL==c)|~Y], Y[(CL==c)|~Y]):.2f}/{np.mean(S[CL==c] > thr):.2f}' for c in sorted(set(CL) - {"good"})), f'{time.time()-t0:.0f}s')
out = os.environ.get('OUT')
if out:
    with open(out, 'w') as fo:
        for r, s in zip(rows, S): fo.write(f'{r[0]},{r[1]},{r[2]},{s}\n')
