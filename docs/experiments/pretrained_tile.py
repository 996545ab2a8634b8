#!/usr/bin/python3
"""Research prototype, not part of the product, its build or its tests (docs/eval.md,
rounds 16 and 17). One Gaussian (PaDiM / "Gaussian AD" style) over pretrained CNN
features of the good magnetic tiles, scored on reman-eval's dev side (split 2), or once on
its test side.

BACKBONE=faceapi (round 16): MobileNetV1 as trained for face detection, whose weights the
npm package @vladmandic/face-api (MIT) ships in model/ssd_mobilenetv1_model.bin (uint8
with a scale and a minimum per tensor):
  mkdir W && cd W && npm pack @vladmandic/face-api && tar xzf *.tgz; MODEL_DIR=W/package/model
BACKBONE=inception (round 17): the Keras InceptionV3 that the npm package nsfwjs (MIT)
ships in dist/models/inception_v3 (a layers model; its conv2d_1..51, up to mixed5, were
frozen at their ImageNet values when it was fine-tuned, so those are ImageNet features).
The shards are UMD files holding base64; write model.json and weights.bin from them:
  npm pack nsfwjs && tar xzf nsfwjs-*.tgz && cd package/dist/models/inception_v3 && \
  node -e 'const fs=require("fs");fs.writeFileSync("/W/model.json",JSON.stringify(
    require("./model.min.js")));fs.writeFileSync("/W/weights.bin",Buffer.concat([1,2,3,4,
    5,6].map(i=>Buffer.from(require("./group1-shard"+i+"of6.min.js"),"base64"))))'
  MODEL_DIR=/W; LAYERS are Keras layer names (mixed0 .. mixed5).

Needs Debian's python3-torch, python3-numpy and python3-pil (run with /usr/bin/python3).
usage: MODEL_DIR=... DATASETS=../shared/datasets DEV=dev.csv TEST=test.list \
       [BACKBONE=inception LAYERS=mixed1,mixed3 SCALE=1 TOPK=1 KFOLD=5] pretrained_tile.py
  DEV: reman-eval --datasets D --on dev --sets magnetic_tile --scores DEV (its columns
  after the score are round 13's channel surprises); TEST: reman-eval --datasets D --sets
  magnetic_tile --list test. Training goods = MT_Free less both. KFOLD=5 also scores each
  training good by a Gaussian fitted without it, turns every score into a surprise as
  rv_surface does, and reports round 13 with it added as a seventh channel (floor 1).
  The test side, once: DEV=test.csv (reman-eval ... --scores, test side) and
  TRAIN=train.list (reman-eval ... --list train): trains on the training side's goods.
"""
import csv, json, os, sys, time, math
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
torch.set_num_threads(int(os.environ.get('TH','2')))
MD = os.environ.get('MODEL_DIR', 'package/model') + '/'
BACKBONE = os.environ.get('BACKBONE', 'faceapi')

def dequant(manifest, raw):
    W = {}; off = 0
    for w in manifest:
        n = int(np.prod(w['shape'])) if w['shape'] else 1
        q = w.get('quantization')
        if q:
            v = raw[off:off + n].astype(np.float32) * q['scale'] + q['min']; off += n
        else:
            v = raw[off:off + 4 * n].view(np.float32); off += 4 * n
        W[w['name']] = v.reshape(w['shape'])
    assert off == raw.size, (off, raw.size)
    return W

def tfpad(x, kh, s, kw=None):
    kw = kh if kw is None else kw
    h, w = x.shape[2:]
    def p(n, k):
        o = (n + s - 1) // s; t = max((o - 1) * s + k - n, 0); return t // 2, t - t // 2
    (t, b), (l, r) = p(h, kh), p(w, kw)
    return F.pad(x, (l, r, t, b))

if BACKBONE == 'faceapi':
    man = json.load(open(MD + 'ssd_mobilenetv1_model-weights_manifest.json'))[0]
    W = dequant(man['weights'], np.fromfile(MD + man['paths'][0], dtype=np.uint8))
else:
    # Keras InceptionV3 (nsfwjs's inception_v3: its conv2d_1..51, up to mixed5, were frozen
    # at their ImageNet values when it was fine-tuned). MODEL_DIR holds model.json and
    # weights.bin, written from the package's UMD files by the node line in the docstring.
    KM = json.load(open(MD + 'model.json'))
    W = dequant(KM['weightsManifest'][0]['weights'], np.fromfile(MD + 'weights.bin', dtype=np.uint8))
    KL = KM['modelTopology']['model_config']['config']['layers']

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

def keras_net(x, upto):
    """Run the Keras functional graph layer by layer up to the layers named in upto."""
    T = {}; want = set(upto); outs = {}
    for L in KL:
        c, cfg, n = L['class_name'], L['config'], L['name']
        ins = [T[i[0]] for i in L['inbound_nodes'][0]] if L['inbound_nodes'] else [x]
        a = ins[0]
        if c == 'InputLayer':
            y = x
        elif c == 'Conv2D':
            k = W[n + '/kernel']; kh, kw = k.shape[:2]; s = cfg['strides'][0]
            if cfg['padding'] == 'same':
                a = tfpad(a, kh, s, kw)
            y = F.conv2d(a, torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1))), stride=s)
            if cfg['use_bias']:
                y = y + torch.from_numpy(W[n + '/bias'])[None, :, None, None]
        elif c == 'BatchNormalization':
            m, v = (torch.from_numpy(W[n + '/' + k])[None, :, None, None] for k in ('moving_mean', 'moving_variance'))
            y = (a - m) / torch.sqrt(v + cfg['epsilon'])
            if cfg['scale']:
                y = y * torch.from_numpy(W[n + '/gamma'])[None, :, None, None]
            if cfg['center']:
                y = y + torch.from_numpy(W[n + '/beta'])[None, :, None, None]
        elif c == 'Activation':
            assert cfg['activation'] == 'relu'; y = F.relu(a)
        elif c in ('MaxPooling2D', 'AveragePooling2D'):
            k = cfg['pool_size'][0]; s = cfg['strides'][0]
            if c == 'MaxPooling2D':
                y = F.max_pool2d(tfpad(a, k, s) if cfg['padding'] == 'same' else a, k, s)
            elif cfg['padding'] == 'same':
                assert s == 1; y = F.avg_pool2d(a, k, 1, k // 2, count_include_pad=False)
            else:
                y = F.avg_pool2d(a, k, s)
        elif c == 'Concatenate':
            y = torch.cat(ins, 1)
        elif c == 'Flatten':  # Keras flattens channels-last
            y = a.permute(0, 2, 3, 1).reshape(a.shape[0], -1)
        elif c == 'Dense':  # only for the sanity check in the docstring
            y = a @ torch.from_numpy(W[n + '/kernel']) + torch.from_numpy(W[n + '/bias'])
            y = {'relu': F.relu, 'softmax': lambda t: F.softmax(t, 1), 'linear': lambda t: t}[cfg['activation']](y)
        elif c == 'Dropout':
            y = a
        else:
            break
        T[n] = y
        if n in want:
            outs[n] = y
            if len(outs) == len(want):
                break
    return outs

ROOT = os.environ.get('DATASETS', '../shared/datasets') + '/magnetic_tile/'
LAYERS = os.environ.get('LAYERS', '3,5' if BACKBONE == 'faceapi' else 'mixed1,mixed3').split(',')
if BACKBONE == 'faceapi':
    LAYERS = [int(v) for v in LAYERS]
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
        o = net(x, max(LAYERS)) if BACKBONE == 'faceapi' else keras_net(x, LAYERS)
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
if os.environ.get('TRAIN'):  # the test side: reman-eval --list train (buckets 0-4)
    train = sorted(l.strip().split(',', 1)[1].split('/magnetic_tile/', 1)[1] for l in open(os.environ['TRAIN']))
    assert not set(train) & held
print('train', len(train), 'dev', len(rows), file=sys.stderr)
t0 = time.time()
rng = np.random.default_rng(1)
maps, samp = [], []
for p in train:
    f = feats(p); C, h, w = f.shape
    f = f[:, BORDER:h - BORDER, BORDER:w - BORDER]
    maps.append(f)
    f = f.reshape(C, -1).T
    samp.append(f[rng.choice(len(f), min(len(f), 1500), replace=False)])
sel = np.arange(samp[0].shape[1])
if DIM: sel = np.sort(rng.choice(len(sel), DIM, replace=False))

def fit(idx):
    X = torch.from_numpy(np.concatenate([samp[i] for i in idx])[:, sel].astype(np.float64))
    mu = X.mean(0); X -= mu; cov = (X.T @ X / (len(X) - 1)).numpy()  # torch: both cores
    cov += 0.01 * np.eye(len(sel)) * np.trace(cov) / len(sel)
    return mu.numpy(), np.linalg.inv(cov)

def score_map(f, g):  # f: cropped C x h x w
    mu, P = g
    f = f[sel]; C, h, w = f.shape
    d = f.reshape(C, -1).T - mu
    m = np.sqrt(np.maximum(np.sum((d @ P) * d, 1), 0))
    return float(np.sort(m)[-TOPK:].mean())

# KFOLD > 1: each training good scored by a Gaussian fitted without it (k-fold), so the
# score can be turned into a surprise (-ln p against those held-out goods, with
# rv_surface's exponential tail) and added to round 13's channels (DEV's columns 4..)
KFOLD = int(os.environ.get('KFOLD', '0'))
held = []
for k in range(KFOLD if KFOLD > 1 else 0):
    g = fit([i for i in range(len(train)) if i % KFOLD != k])
    held += [score_map(maps[i], g) for i in range(len(train)) if i % KFOLD == k]
held = np.sort(np.array(held))
G = fit(range(len(train)))
print('fit', len(train), len(sel), f'{time.time()-t0:.0f}s', file=sys.stderr)

def surprise(v):  # rv_surface.c s_surprise (a new score, not one of the held-out)
    n = len(held); m = max(3, n // 10); m = min(m, n - 1)
    t = held[n - m]; beta = np.mean(held[n - m:] - t)
    if v > t and beta > 0:
        return -math.log((m + 1) / (n + 1)) + (v - t) / beta
    c = n - np.searchsorted(held, v, 'left')
    return -math.log((c + 1) / (n + 1))

def score(p):
    f = feats(p); C, h, w = f.shape
    return score_map(f[:, BORDER:h - BORDER, BORDER:w - BORDER], G)

S = []; Y = []; CL = []
for r in rows:
    S.append(score(r[1])); Y.append(r[2] != 'good'); CL.append(r[2])
S = np.array(S); Y = np.array(Y); CL = np.array(CL)
def auroc(s, y):
    pos, neg = s[y], s[~y]
    return (np.sum(pos[:, None] > neg[None]) + 0.5 * np.sum(pos[:, None] == neg[None])) / (len(pos) * len(neg))
def report(name, S):
    neg = np.sort(S[~Y]); thr = neg[int(math.ceil(0.98 * len(neg))) - 1]
    print(f'{name}: AUROC {auroc(S, Y):.3f} recall@2% {np.mean(S[Y] > thr):.2f}',
          ' '.join(f'{c}:{auroc(S[(CL==c)|~Y], Y[(CL==c)|~Y]):.2f}/{np.mean(S[CL==c] > thr):.2f}' for c in sorted(set(CL) - {"good"})), f'{time.time()-t0:.0f}s')
report(f'LAYERS={LAYERS} SCALE={SCALE} NORM={NORM} TOPK={TOPK} DIM={DIM}', S)
SU = np.array([surprise(v) for v in S]) if KFOLD > 1 else None
if KFOLD > 1:
    ch = np.array([[float(v) for v in r[4:]] for r in rows])
    base = np.maximum(ch - 1, 0).sum(1)  # round 13: the truncated sum, floor 1
    report('round 13 (from DEV)', base)
    report('its surprise alone', SU)
    report('round 13 + it (floor 1)', base + np.maximum(SU - 1, 0))
    report('round 13 + 2 x it', base + 2 * np.maximum(SU - 1, 0))
out = os.environ.get('OUT')
if out:
    with open(out, 'w') as fo:
        for i, (r, v) in enumerate(zip(rows, S)):
            fo.write(f'{r[0]},{r[1]},{r[2]},{v}' + (f',{SU[i]}' if SU is not None else '') + '\n')
