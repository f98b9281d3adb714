#!/usr/bin/env python3
"""Exhaustion attempts against a running `kyso serve` (run by benches/exhaustion.sh).

    exhaustion.py PORT PORTAL_KEY SERVER_PID DATA_DIR HOLD_SECONDS COUNT
"""
import os
import resource
import socket
import sys
import threading
import time
import urllib.request

port, key, pid, data, hold, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), int(sys.argv[6])
port = int(port)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD = open(os.path.join(ROOT, "testdata/pdf/rsa-pkcs1.pdf"), "rb").read()
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
failed = []


def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def storage():
    return sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data) if f.startswith("kyso.sqlite3"))


def metrics():
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()


def attacker(stop, kind):
    """Keep 1 000 connections of one kind open from 127.0.0.2."""
    socks = []
    while not stop.is_set():
        socks = [s for s in socks if alive(s)]
        while len(socks) < 1000 and not stop.is_set():
            try:
                s = socket.socket()
                s.bind(("127.0.0.2", 0))
                s.settimeout(2)
                s.connect(("127.0.0.1", port))
                if kind == "h2":
                    s.sendall(b"PRI * HTTP/2.0\r\n")
                s.setblocking(False)
                socks.append(s)
            except OSError:
                break
        time.sleep(0.5)
    for s in socks:
        s.close()


def alive(s):
    try:
        if s.recv(1) == b"":
            s.close()
            return False
        return True
    except BlockingIOError:
        return True
    except OSError:
        s.close()
        return False


def client(stop, results):
    while not stop.is_set():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
            r = urllib.request.Request(f"http://127.0.0.1:{port}/v1/verify", data=GOOD,
                                       headers={"Authorization": f"Bearer {key}"})
            body = urllib.request.urlopen(r, timeout=10).read()
            results.append(b'"TOTAL_PASSED"' in body)
        except Exception:
            results.append(False)
        time.sleep(0.05)


# 1. Idle connections and partial HTTP/2 prefaces.
stop = threading.Event()
results = []
threads = [threading.Thread(target=attacker, args=(stop, k)) for k in ("idle", "h2")]
threads.append(threading.Thread(target=client, args=(stop, results)))
for t in threads:
    t.start()
time.sleep(hold)
stop.set()
for t in threads:
    t.join()
ok = sum(results)
rate = 100.0 * ok / max(1, len(results))
print(f"IDLE: 1000 idle + 1000 partial HTTP/2 prefaces held {hold:.0f} s from 127.0.0.2; "
      f"well-behaved client {ok}/{len(results)} successful ({rate:.2f} %, target >= 99 %)")
if rate < 99.0:
    failed.append("idle")


def flood(make, n, threads=16):
    per = n // threads

    def worker():
        for i in range(per):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(make(i))
                s.recv(64)
                s.close()
            except OSError:
                pass
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


# 2. Unauthenticated requests with 60 KB paths.
before = storage()
long = "a" * 60000
flood(lambda i: f"GET /v1/dossiers/{long}{i} HTTP/1.1\r\nHost: k\r\nConnection: close\r\n\r\n".encode(), count)
time.sleep(1)
grew = storage() - before
print(f"AUDIT: {count} unauthenticated requests with 60 KB paths; audit storage grew {grew} bytes (target < 1048576)")
if grew >= 1 << 20:
    failed.append("audit")

# 3. Odd methods.
m0, r0 = len(metrics()), rss_kib()
flood(lambda i: f"{'M' * 5000}{i} /healthz HTTP/1.1\r\nHost: k\r\nConnection: close\r\n\r\n".encode(), count)
time.sleep(1)
m1, r1 = len(metrics()), rss_kib()
print(f"METRICS: {count} odd methods; /metrics {m0} -> {m1} bytes (+{m1 - m0}), "
      f"RSS {r0} -> {r1} KiB (+{r1 - r0}) (targets < 1 MB each)")
if m1 - m0 >= 1 << 20 or (r1 - r0) * 1024 >= 1 << 20:
    failed.append("metrics")
print("EXHAUSTION: " + ("PASS" if not failed else "FAIL " + ", ".join(failed)))
sys.exit(1 if failed else 0)
