#!/usr/bin/python3
"""Research prototype, not part of the product (docs/eval.md, round 21): the line feature
that became rv_surface's RV_SF_LINEMAX, scored with no training at all (each image's own
top-5 mean of the feature, 6 % of each side left out).

usage: [LEN=31 NT=12 K=7] line_tile.py syn|real|test
  syn: SYN/test/magnetic_tile (drawn_cracks_tile.py's OUT); real: the goods and cracks of
  DEV (reman-eval --on dev --scores DEV); test: the images of TEST (reman-eval --list
  test), classes from DATASETS/magnetic_tile/manifest.csv. Needs numpy and scipy
  (Debian's python3-scipy) and ImageMagick; run with /usr/bin/python3.
"""
import numpy as np, subprocess, sys, csv, math, os
SYN=os.environ.get('SYN','/tmp/syn'); DEV=os.environ.get('DEV','dev.csv')
TEST=os.environ.get('TEST','test.list'); DATASETS=os.environ.get('DATASETS','../shared/datasets')
from scipy import ndimage as ndi
L=int(os.environ.get('LEN','31')); NT=int(os.environ.get('NT','12')); K=int(os.environ.get('K','7'))
def rd(p):
    b=subprocess.run(['convert',p,'-colorspace','gray','pgm:-'],capture_output=True,check=True).stdout
    parts=b.split(b'\n',3); w,h=map(int,parts[1].split()); return np.frombuffer(parts[3],np.uint8).reshape(h,w).astype(np.float32)
kern=[]
for t in range(NT):
    th=math.pi*t/NT; k=np.zeros((L,L),np.float32); c=L//2
    for s in np.linspace(-c,c,4*L):
        x=c+s*math.cos(th); y=c+s*math.sin(th)
        x0=int(math.floor(x)); y0=int(math.floor(y)); fx=x-x0; fy=y-y0
        for dx,dy,wt in ((0,0,(1-fx)*(1-fy)),(1,0,fx*(1-fy)),(0,1,(1-fx)*fy),(1,1,fx*fy)):
            if 0<=x0+dx<L and 0<=y0+dy<L: k[y0+dy,x0+dx]+=wt
    kern.append(k/k.sum())
def score(p):
    a=rd(p); B=ndi.gaussian_filter(a,1.0)
    bh=ndi.grey_closing(B,size=(K,K))-B
    R=bh/(ndi.uniform_filter(B,31)+4)
    h,w=R.shape; bx=max(4,int(0.06*w)); by=max(4,int(0.06*h))
    best=None
    for t,k in enumerate(kern):
        M=ndi.convolve(R,k,mode='nearest')
        core=M[by:h-by,bx:w-bx]
        med=np.median(core); mad=np.median(np.abs(core-med))+1e-6
        z=(core-med)/mad
        best=z if best is None else np.maximum(best,z)
    return float(np.sort(best.ravel())[-5:].mean())
def auroc(pos,neg):
    pos=np.asarray(pos);neg=np.asarray(neg); allv=np.concatenate([pos,neg]); r=allv.argsort().argsort()+1
    return (r[:len(pos)].sum()-len(pos)*(len(pos)+1)/2)/(len(pos)*len(neg))
which=sys.argv[1]
if which=='syn':
    D=SYN+'/test/magnetic_tile/'
    rows=list(csv.DictReader(open(D+'manifest.csv')))
    g=[score(D+r['image']) for r in rows if r['class']=='good']
    c=[score(D+r['image']) for r in rows if r['class']=='crack']
elif which=='test':
    man={ 'magnetic_tile/'+r['image']: ('good' if r['defective']=='0' else r['class']) for r in csv.DictReader(open(DATASETS+'/magnetic_tile/manifest.csv'))}
    paths=[l.split(',',1)[1].strip() for l in open(TEST) if ',' in l]
    cls=[man['magnetic_tile/'+p.split('/magnetic_tile/')[1]] for p in paths]
    sc=[score(p) for p in paths]
    g=[s_ for s_,c_ in zip(sc,cls) if c_=='good']; g98=np.quantile(g,0.98)
    d=[s_ for s_,c_ in zip(sc,cls) if c_!='good']
    print('test L%d NT%d K%d all: AUROC %.3f rec2 %.2f goods %d defectives %d' % (L,NT,K,auroc(d,g),np.mean(np.array(d)>g98),len(g),len(d)))
    for k in sorted(set(cls)-{'good'}):
        v=[s_ for s_,c_ in zip(sc,cls) if c_==k]
        print('  %s n %d AUROC %.3f rec2 %.2f' % (k,len(v),auroc(v,g),np.mean(np.array(v)>g98)))
    sys.exit(0)
else:
    rows=[r for r in csv.reader(open(DEV))]
    base=DATASETS+'/magnetic_tile/'
    g=[score(base+r[1]) for r in rows if r[2]=='good']
    c=[score(base+r[1]) for r in rows if r[2]=='crack']
g98=np.quantile(g,0.98)
print(which, f'L{L} NT{NT} K{K}', 'AUROC', round(auroc(c,g),3), 'rec2', round(float(np.mean(np.array(c)>g98)),2))
