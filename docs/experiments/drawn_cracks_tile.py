#!/usr/bin/python3
"""Research tool, not part of the product, its build or its tests (docs/eval.md, round 21).
Cracks drawn on real good magnetic tiles: a tuning side with one crack per good tile,
where the split's dev side holds the photographs of one cracked tile only.

usage: SEED=8 drawn_cracks_tile.py OUT TRAIN_LIST TEST_GOODS_LIST
  TRAIN_LIST: the images that train (reman-eval --on dev's training goods, one path a
  line); TEST_GOODS_LIST: the goods to test (the dev side's goods). OUT gets train/ and
  test/ laid out like ../shared/datasets (magnetic_tile/manifest.csv), every image
  re-encoded alike (JPEG quality 95), each test good also with a crack drawn on it (and
  its mask), and OUT/cracks.csv (length, width, depth of each crack). Then:
    reman-eval --train OUT/train --test OUT/test --sets magnetic_tile --json
  The crack: a random walk of 2 px steps (direction drifting by 0.18 rad a step) from a
  point inside the middle 80 % of the tile, 15-60 % of its short side times 1-2.2 long,
  1-4 px wide, darkening the tile by a factor 1 - depth (0.15-0.85) that varies along it
  and fades at its ends. Needs numpy and ImageMagick's convert (/usr/bin/python3).
  The images never leave OUT: the data set's terms allow evaluation only.
"""
import numpy as np, subprocess, sys, os, math
rng=np.random.default_rng(int(os.environ.get('SEED','7')))
out=sys.argv[1]; train_list=sys.argv[2]; test_goods=sys.argv[3]
Q='95'
def rd(p):
    b=subprocess.run(['convert',p,'-colorspace','gray','pgm:-'],capture_output=True,check=True).stdout
    # P5\nW H\n255\n
    parts=b.split(b'\n',3); w,h=map(int,parts[1].split()); return np.frombuffer(parts[3],np.uint8).reshape(h,w).copy()
def wr(a,p,png=False):
    h,w=a.shape; hdr=f'P5\n{w} {h}\n255\n'.encode()
    args=['convert','pgm:-']+([] if png else ['-quality',Q])+[p]
    subprocess.run(args,input=hdr+a.astype(np.uint8).tobytes(),check=True)
def crack(img):
    h,w=img.shape; f=img.astype(np.float32)
    # the tile face: leave 8 % of each side
    L=rng.uniform(0.15,0.6)*min(h,w)*rng.uniform(1,2.2)
    x=rng.uniform(0.1*w,0.9*w); y=rng.uniform(0.1*h,0.9*h)
    th=rng.uniform(0,math.pi); width=rng.uniform(1.0,4.0); depth=rng.uniform(0.15,0.85)
    pts=[(x,y)]; s=0
    while s<L:
        th+=rng.normal(0,0.18); step=2.0
        x+=step*math.cos(th); y+=step*math.sin(th); s+=step
        if not(3<x<w-4 and 3<y<h-4): break
        pts.append((x,y))
    if len(pts)<8: return None,None,None
    P=np.array(pts)
    yy,xx=np.mgrid[0:h,0:w]
    x0,y0=P.min(0)-6; x1,y1=P.max(0)+6
    x0=int(max(0,x0)); y0=int(max(0,y0)); x1=int(min(w,x1)); y1=int(min(h,y1))
    sub_x=xx[y0:y1,x0:x1].astype(np.float32); sub_y=yy[y0:y1,x0:x1].astype(np.float32)
    d=np.full(sub_x.shape,1e9,np.float32); tpar=np.zeros(sub_x.shape,np.float32)
    for i,(a,b) in enumerate(zip(P[:-1],P[1:])):
        dx,dy=b-a; ll=dx*dx+dy*dy
        t=np.clip(((sub_x-a[0])*dx+(sub_y-a[1])*dy)/ll,0,1)
        dd=np.hypot(sub_x-a[0]-t*dx,sub_y-a[1]-t*dy)
        m=dd<d; d[m]=dd[m]; tpar[m]=(i+t[m])/(len(P)-1)
    # depth varies along the crack and fades at its ends
    prof=depth*(0.6+0.4*np.sin(tpar*math.pi*rng.uniform(1,3)+rng.uniform(0,6)))*np.minimum(1,np.minimum(tpar,1-tpar)*8)
    cov=np.clip(width/2+0.5-d,0,1)
    sub=f[y0:y1,x0:x1]; f[y0:y1,x0:x1]=sub*(1-prof*cov)
    mask=np.zeros((h,w),np.uint8); mask[y0:y1,x0:x1][cov>0.3]=255
    return np.clip(f+0.5,0,255).astype(np.uint8),mask,(s,width,depth)
os.makedirs(f'{out}/train/magnetic_tile/img',exist_ok=True); os.makedirs(f'{out}/test/magnetic_tile/img',exist_ok=True)
with open(f'{out}/train/magnetic_tile/manifest.csv','w') as m:
    m.write('image,mask,class,defective\n')
    for i,p in enumerate(open(train_list).read().split()):
        a=rd(p); wr(a,f'{out}/train/magnetic_tile/img/g{i}.jpg'); m.write(f'img/g{i}.jpg,,good,0\n')
info=open(f'{out}/cracks.csv','w'); info.write('image,length_px,width,depth,src\n')
with open(f'{out}/test/magnetic_tile/manifest.csv','w') as m:
    m.write('image,mask,class,defective\n')
    for i,p in enumerate(open(test_goods).read().split()):
        a=rd(p); wr(a,f'{out}/test/magnetic_tile/img/g{i}.jpg'); m.write(f'img/g{i}.jpg,,good,0\n')
        for k in range(10):
            c,mask,L=crack(a)
            if c is not None: break
        if c is None: continue
        wr(c,f'{out}/test/magnetic_tile/img/c{i}.jpg'); wr(mask,f'{out}/test/magnetic_tile/img/c{i}.png',png=True)
        m.write(f'img/c{i}.jpg,img/c{i}.png,crack,1\n'); info.write(f'img/c{i}.jpg,{L[0]:.0f},{L[1]:.2f},{L[2]:.2f},{p}\n')
