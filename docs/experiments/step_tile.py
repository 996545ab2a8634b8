#!/usr/bin/python3
"""Research prototype, not part of the product (docs/eval.md, round 23, not kept): a long
step edge of any direction (the boundary of an unevenly ground patch, a break's edge),
scored with no training (each image's own top-5 mean).

For each of NT directions: the blurred tile at half resolution (SC), the difference of
the grey D px either side of a line through each pixel, over the local mean, averaged
along LEN px of the line; each direction's map a z-score by its own median and MAD inside
a border of BF of each side; the largest |z| of the directions.

usage: [LEN=31 NT=12 D=3 SC=2 BF=0.06] step_tile.py DEV OUT
  DEV: reman-eval --on dev --scores DEV (magnetic_tile); OUT: image,class,score per line.
  Needs numpy, scipy and PIL (Debian's python3-scipy, python3-pil); /usr/bin/python3.
"""
import numpy as np, sys, csv, math, os
from PIL import Image
from scipy import ndimage as ndi
from scipy.signal import fftconvolve
L=int(os.environ.get('LEN','31')); NT=int(os.environ.get('NT','12')); D=float(os.environ.get('D','3'))
SC=int(os.environ.get('SC','2')); BF=float(os.environ.get('BF','0.06')); TOP=int(os.environ.get('TOP','5'))
SIDE=os.environ.get('SIDE','both')
def rd(p):
    a=np.asarray(Image.open(p).convert('L'),dtype=np.float32)
    if SC>1:
        h,w=a.shape; h-=h%SC; w-=w%SC
        a=a[:h,:w].reshape(h//SC,SC,w//SC,SC).mean((1,3))
    return a
def linek(th):
    k=np.zeros((L,L),np.float32); c=L//2
    for s in np.linspace(-c,c,4*L):
        x=c+s*math.cos(th); y=c+s*math.sin(th)
        x0=int(math.floor(x)); y0=int(math.floor(y)); fx=x-x0; fy=y-y0
        for dx,dy,wt in ((0,0,(1-fx)*(1-fy)),(1,0,fx*(1-fy)),(0,1,(1-fx)*fy),(1,1,fx*fy)):
            if 0<=x0+dx<L and 0<=y0+dy<L: k[y0+dy,x0+dx]+=wt
    return k/k.sum()
kern=[linek(math.pi*t/NT) for t in range(NT)]
def score(p):
    a=rd(p); B=ndi.gaussian_filter(a,1.0); mu=ndi.uniform_filter(B,31)+4
    h,w=B.shape; bx=max(4,int(BF*w)); by=max(4,int(BF*h))
    best=None
    for t,k in enumerate(kern):
        th=math.pi*t/NT; nx=-math.sin(th); ny=math.cos(th)   # normal to the line
        Sp=ndi.shift(B,(-D*ny,-D*nx),order=1,mode='nearest'); Sm=ndi.shift(B,(D*ny,D*nx),order=1,mode='nearest')
        R=(Sp-Sm)/mu
        M=fftconvolve(R,k,mode='same')
        core=M[by:h-by,bx:w-bx]
        med=np.median(core); mad=np.median(np.abs(core-med))+1e-6
        z=np.abs(core-med)/mad if SIDE=='both' else (core-med)/mad
        best=z if best is None else np.maximum(best,z)
    return float(np.sort(best.ravel())[-TOP:].mean())
def auroc(pos,neg):
    pos=np.asarray(pos);neg=np.asarray(neg); allv=np.concatenate([pos,neg]); r=allv.argsort().argsort()+1
    return (r[:len(pos)].sum()-len(pos)*(len(pos)+1)/2)/(len(pos)*len(neg))
rows=[r for r in csv.reader(open(sys.argv[1]))]
base=os.environ.get('DATASETS','../shared/datasets')+'/magnetic_tile/'
sc={}
for r in rows: sc[r[1]]=(r[2],score(base+r[1]))
g=[v for c,v in sc.values() if c=='good']; g98=np.quantile(g,0.98)
out=open(sys.argv[2],'w')
for k,(c,v) in sc.items(): out.write('%s,%s,%.4f\n'%(k,c,v))
allp=[v for c,v in sc.values() if c!='good']
print(f'L{L} D{D} SC{SC} BF{BF} all AUROC %.3f rec2 %.2f'%(auroc(allp,g),np.mean(np.array(allp)>g98)))
for cl in ['blowhole','break','crack','fray','uneven']:
    v=[x for c,x in sc.values() if c==cl]
    print('  %s n %d AUROC %.3f rec2 %.2f'%(cl,len(v),auroc(v,g),np.mean(np.array(v)>g98)))
