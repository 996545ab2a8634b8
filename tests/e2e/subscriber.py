#!/usr/bin/env python3
"""A line subscriber in another language, written from docs/protocol.md alone (pyzmq,
PyNaCl): follows one station, fills gaps from its replay service, drops duplicates,
verifies every decision's chain link and signature with the key from the station's birth.

usage: subscriber.py PUB_ENDPOINT REPLAY_ENDPOINT COUNT TIMEOUT_S
Prints one JSON line per decision handed on: {"seq", "route", "replayed", "verified"}.
Exit 0 when COUNT decisions were handed on, each verified, in seq order; 1 otherwise."""
import hashlib
import json
import sys
import time

import zmq
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey


def verify(msg: bytes, key_hex: str) -> bool:
    cut = msg.rindex(b',"chain":')
    signed = msg[:cut] + b"}"
    whole = json.loads(msg)
    chain = whole.pop("chain")
    if json.loads(signed) != whole:
        return False
    digest = hashlib.sha256(bytes.fromhex(chain["prev"]) + signed).digest()
    if digest.hex() != chain["hash"]:
        return False
    try:
        VerifyKey(bytes.fromhex(key_hex)).verify(digest, bytes.fromhex(chain["sig"]))
    except BadSignatureError:
        return False
    return True


def main() -> int:
    pub, replay, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"reman.")
    sub.connect(pub)
    delivered, key, station, ok, handed = 0, None, None, True, 0
    held = {}

    def hand_on(seq, msg, replayed):
        nonlocal delivered, ok, handed
        d = json.loads(msg)
        good = key is not None and verify(msg, key)
        ok = ok and good and seq == delivered + 1
        delivered = seq
        handed += 1
        print(json.dumps({"seq": seq, "route": d["route"], "replayed": replayed, "verified": good}),
              flush=True)

    def fill():
        nonlocal delivered
        while True:
            req = ctx.socket(zmq.REQ)
            req.setsockopt(zmq.LINGER, 0)
            req.connect(replay)
            req.send(json.dumps({"op": "replay", "station": station, "since": delivered}).encode())
            if not req.poll(2000):
                req.close()
                return
            frames = req.recv_multipart()
            req.close()
            end = json.loads(frames[-1])
            if end.get("op") != "end":
                return
            for f in frames[:-1]:
                d = json.loads(f)
                if d["seq"] == delivered + 1:
                    hand_on(d["seq"], f, True)
            if not end["more"]:
                break
        for seq in sorted(held):
            if seq == delivered + 1:
                hand_on(seq, held[seq], False)
        held.clear()

    last = time.time()
    while handed < count and time.time() - last < timeout:
        if not sub.poll(200):
            continue
        frames = sub.recv_multipart()
        if len(frames) != 2:
            continue
        topic, body = frames[0].decode(), frames[1]
        msg = json.loads(body)
        kind = topic.split(".")[1]
        if station is None:
            station = msg["station"]
        if kind == "birth":
            key = msg["public_key"]
        if kind in ("birth", "heartbeat") and msg["seq"] > delivered and key:
            fill()
        elif kind == "decision":
            last = time.time()
            seq = msg["seq"]
            if seq <= delivered:
                continue  # a duplicate
            if seq == delivered + 1 and key:
                hand_on(seq, body, False)
            else:
                held[seq] = body
                if key:
                    fill()
    return 0 if ok and handed >= count else 1


if __name__ == "__main__":
    sys.exit(main())
