#!/usr/bin/env python3
"""Hostile uploads against a running `kyso serve` (run by benches/load.sh).

    hostile.py BASE_URL PORTAL_KEY COUNT

Sends COUNT requests over raw sockets from 32 threads, cycling through:
garbage bodies, truncated and bit-flipped signed PDFs, oversized bodies
(Content-Length above the limit), broken multipart, broken dossiers, bad
query values, bodies shorter than their Content-Length, and slow-loris
bodies and headers (a few bytes, then silence). Counts the answers by
status; any 5xx fails. Afterwards the server must answer /healthz and still
verify a good file as TOTAL_PASSED.
"""

import collections
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD = open(os.path.join(ROOT, "testdata/pdf/signed-100kb.pdf"), "rb").read()


def http(host, port, raw, read_timeout=30.0, pause_after=None):
    """Send raw bytes; return the status code, or a label when there is none."""
    s = socket.create_connection((host, port), timeout=10)
    s.settimeout(read_timeout)
    try:
        if pause_after is not None:
            s.sendall(raw[:pause_after])
        else:
            s.sendall(raw)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        if not data:
            return "closed"
        parts = data.split(b" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else "garbled"
    except socket.timeout:
        return "no answer"
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    finally:
        s.close()


def req(method, path, key, body=b"", ctype="application/pdf", length=None, extra=""):
    n = len(body) if length is None else length
    head = (f"{method} {path} HTTP/1.1\r\nHost: kyso\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {n}\r\nConnection: close\r\n{extra}\r\n")
    return head.encode() + body


def case(i, key):
    """(kind, raw bytes, options) for request number i."""
    r = random.Random(i)
    kind = i % 10
    if kind == 0:
        return "garbage", req("POST", "/v1/verify", key, os.urandom(r.randint(0, 65536))), {}
    if kind == 1:
        return "truncated pdf", req("POST", "/v1/verify", key, GOOD[: r.randint(0, len(GOOD) - 1)]), {}
    if kind == 2:
        b = bytearray(GOOD)
        for _ in range(r.randint(1, 50)):
            b[r.randrange(len(b))] = r.randrange(256)
        return "bit-flipped pdf", req("POST", "/v1/verify", key, bytes(b)), {}
    if kind == 3:
        # Announces 50 MB against a 1 MiB limit; sends 64 KB.
        return "oversized", req("POST", "/v1/verify", key, os.urandom(65536), length=50_000_000), {"pause_after": None}
    if kind == 4:
        body = b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n" + os.urandom(r.randint(0, 4096))
        return "broken multipart", req("POST", "/v1/verify", key, body, ctype="multipart/form-data; boundary=x"), {}
    if kind == 5:
        meta = r.choice([b"{", b"null", json.dumps({"code": "A" * 500}).encode(),
                         json.dumps({"code": "HS-1", "procedure": "p", "applicant": {"kind": "CCCD", "value": "1"}, "files": []}).encode()])
        body = (b"--x\r\nContent-Disposition: form-data; name=\"dossier\"\r\n\r\n" + meta +
                b"\r\n--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n" +
                GOOD[: r.randint(0, 2000)] + b"\r\n--x--\r\n")
        return "broken dossier", req("POST", "/v1/dossiers", key, body, ctype="multipart/form-data; boundary=x"), {}
    if kind == 6:
        path = r.choice(["/v1/verify?at=%00%ff", "/v1/verify?store=maybe", "/v1/verify?at=9999-99-99T99:99:99Z",
                         "/v1/documents/..%2f..%2fetc%2fpasswd", "/v1/dossiers/%00", "/v1/audit?from=-1&limit=99999999"])
        method = "GET" if "documents" in path or "dossiers" in path or "audit" in path else "POST"
        return "bad query", req(method, path, key, GOOD[:1000]), {}
    if kind == 7:
        # Body shorter than announced, then the client goes quiet until the deadline.
        return "short body", req("POST", "/v1/verify", key, GOOD[:1000], length=len(GOOD)), {"slow": True}
    if kind == 8:
        return "wrong key", req("POST", "/v1/verify", "kyso_portal_" + "A" * r.randint(0, 300), GOOD[:100]), {}
    # 9: slow-loris headers, every 25th of them; the rest plain garbage headers.
    if i % 250 == 9:
        return "slow-loris headers", b"POST /v1/verify HTTP/1.1\r\nHost: kyso\r\nX-Slow: ", {"slow": True}
    return "garbage headers", os.urandom(r.randint(1, 2048)) + b"\r\n\r\n", {}


def main():
    base, key, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    host, port = base.split("//")[1].split(":")
    port = int(port)
    counts = collections.Counter()
    by_kind = collections.defaultdict(collections.Counter)
    lock = threading.Lock()
    next_i = [0]
    start = time.time()

    def worker():
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= count:
                return
            kind, raw, opt = case(i, key)
            try:
                st = http(host, port, raw, read_timeout=20.0 if opt.get("slow") else 10.0)
            except OSError as e:
                st = "connect error: %s" % e.__class__.__name__
            with lock:
                counts[st] += 1
                by_kind[kind][st] += 1

    ts = [threading.Thread(target=worker) for _ in range(32)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.time() - start
    five = sum(n for st, n in counts.items() if isinstance(st, int) and st >= 500)
    print("hostile uploads: %d in %.1f s" % (count, took))
    for kind in sorted(by_kind):
        print("  %-20s %s" % (kind, dict(sorted(by_kind[kind].items(), key=str))))
    # Still healthy, still right.
    with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
        healthy = r.status == 200
    rq = urllib.request.Request(base + "/v1/verify", data=GOOD, method="POST")
    rq.add_header("Authorization", "Bearer " + key)
    rq.add_header("Content-Type", "application/pdf")
    with urllib.request.urlopen(rq, timeout=30) as r:
        ind = json.loads(r.read())["report"]["summary"]["indication"]
    print("HOSTILE: 5xx %d, no answer %d; afterwards healthy %s, good file %s"
          % (five, counts["no answer"], healthy, ind))
    ok = five == 0 and healthy and ind == "TOTAL_PASSED"
    print("HOSTILE: %s" % ("PASS" if ok else "FAIL"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
