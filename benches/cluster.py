#!/usr/bin/env python3
"""A kyso cluster under load, a node lost: see benches/cluster.sh.

Usage: cluster.py KYSO_BINARY [SECONDS]
"""

import base64
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = {r: "cluster-%s-key" % r for r in ("portal", "auditor", "official", "admin", "limited")}
LIMITED_PER_MINUTE = 40
PDFS = ["testdata/pdf/rsa-pkcs1.pdf", "testdata/pdf/unsigned.pdf", "testdata/pdf/two-signatures.pdf"]
VERIFY_PDF = "testdata/pdf/signed-100kb.pdf"


def sha(b):
    return hashlib.sha256(b).hexdigest()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def request(url, key, body=None, ctype=None, timeout=30):
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    req.add_header("Authorization", "Bearer " + key)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def multipart(meta, files):
    boundary = "kysoboundary%016x" % random.getrandbits(64)
    out = [("--%s\r\nContent-Disposition: form-data; name=\"dossier\"\r\n"
            "Content-Type: application/json\r\n\r\n" % boundary).encode(), json.dumps(meta).encode() + b"\r\n"]
    for name, data in files:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                    "Content-Type: application/pdf\r\n\r\n" % (boundary, name)).encode())
        out.append(data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def weed_port():
    """A free port whose +10000 (SeaweedFS's gRPC port) is free and valid too."""
    while True:
        p = random.randint(20000, 45000)
        try:
            for q in (p, p + 10000):
                s = socket.socket()
                s.bind(("127.0.0.1", q))
                s.close()
            return p
        except OSError:
            continue


def start_weed(work):
    weed = os.path.join(ROOT, ".venv/bin/weed")
    d = os.path.join(work, "weed")
    os.makedirs(d)
    s3cfg = os.path.join(d, "s3.json")
    with open(s3cfg, "w") as f:
        json.dump({"identities": [{"name": "kyso", "credentials": [{"accessKey": "kysocluster", "secretKey": "kysoclustersecret"}],
                                   "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, f)
    master, volume, filer, s3 = (weed_port() for _ in range(4))
    log = open(os.path.join(d, "weed.log"), "w")
    p = subprocess.Popen([weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=" + d,
                          "-master.port=%d" % master, "-volume.port=%d" % volume, "-filer", "-filer.port=%d" % filer,
                          "-s3", "-s3.port=%d" % s3, "-s3.port.lance=0", "-s3.port.iceberg=0", "-s3.config=" + s3cfg, "-master.volumeSizeLimitMB=64",
                          "-volume.max=50", "-metricsPort=0"], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    end = time.time() + 90
    while True:
        o = subprocess.run([weed, "shell", "-master=127.0.0.1:%d" % master], input="s3.bucket.create -name kyso\n",
                           capture_output=True, text=True)
        if "created bucket" in o.stdout + o.stderr or "already exist" in o.stdout + o.stderr:
            break
        if time.time() > end:
            raise SystemExit("SeaweedFS did not come up")
        time.sleep(0.5)
    while True:
        try:
            socket.create_connection(("127.0.0.1", s3), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    return p, s3


def write_config(work, i, port, schema, s3):
    cfg = os.path.join(work, "node%d.toml" % i)
    with open(cfg, "w") as f:
        f.write('listen = "127.0.0.1:%d"\ndata_dir = "%s/node%d"\nfixed_time = "2026-11-01T00:00:00Z"\n' % (port, work, i))
        f.write('[storage]\nkind = "postgres-s3"\n')
        f.write('[storage.postgres]\nurl = "host=127.0.0.1 port=5432 user=postgres dbname=test"\nschema = "%s"\npool_size = 4\n' % schema)
        f.write('[storage.s3]\nendpoint = "http://127.0.0.1:%d"\nbucket = "kyso"\nregion = "us-east-1"\n'
                'access_key_id = "kysocluster"\nsecret_access_key = "kysoclustersecret"\nprefix = "blobs/"\n' % s3)
        f.write('[limits]\nper_key_per_minute = 0\n')
        f.write('[trust.test]\nanchors = ["%s/certs/test/root.pem"]\n' % ROOT)
        f.write('[revocation]\ncrls = ["%s/testdata/revocation/root.crl", "%s/testdata/revocation/issuing-ca.crl"]\n' % (ROOT, ROOT))
        f.write('[policy.default]\ntrust = ["test"]\n')
        f.write('[signing.profiles.token]\nlevel = "B-B"\nchain = ["%s/certs/test/issuing-ca.pem"]\n[signing.profiles.token.key]\nkind = "remote"\ncert = "%s/certs/test/signer-rsa.pem"\n' % (ROOT, ROOT))
        for role, key in KEYS.items():
            r = "portal" if role == "limited" else role
            f.write('[[keys]]\nid = "%s-cluster"\nrole = "%s"\nsha256 = "%s"\n' % (role, r, sha(key.encode())))
    return cfg


class Node:
    def __init__(self, kyso, cfg, port, log):
        self.kyso, self.cfg, self.port, self.log = kyso, cfg, port, log
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.kyso, "serve", "--config", self.cfg], stdout=self.log, stderr=self.log, cwd=ROOT)
        end = time.time() + 60
        while time.time() < end:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % self.port, timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("node on %d did not become ready" % self.port)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def haproxy(work, port, backends, name):
    cfg = os.path.join(work, "haproxy-%s.cfg" % name)
    with open(cfg, "w") as f:
        f.write("global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n"
                "  timeout server 60s\n  retries 3\n  option redispatch\n"
                "frontend kyso\n  bind 127.0.0.1:%d\n  default_backend nodes\n"
                "backend nodes\n  balance roundrobin\n  option httpchk GET /readyz\n" % port)
        for i, b in enumerate(backends):
            f.write("  server n%d 127.0.0.1:%d check inter 500ms fall 2 rise 2\n" % (i, b))
    p = subprocess.Popen(["haproxy", "-f", cfg, "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.time() + 20
    while time.time() < end:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=2):
                return p
        except Exception:
            time.sleep(0.2)
    raise SystemExit("haproxy did not answer")


def wrk_rps(url, secs, work):
    lua = os.path.join(work, "post.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Authorization"] = "Bearer %s"\n'
                'wrk.headers["Content-Type"] = "application/pdf"\n'
                'local f = io.open("%s/%s", "rb"); wrk.body = f:read("*all"); f:close()\n' % (KEYS["portal"], ROOT, VERIFY_PDF))
    o = subprocess.run(["wrk", "-t2", "-c32", "-d%ds" % secs, "-s", lua, url + "/v1/verify"], capture_output=True, text=True)
    for line in o.stdout.splitlines():
        if line.startswith("Requests/sec"):
            return float(line.split()[1])
    raise SystemExit("wrk: " + o.stdout + o.stderr)


def main():
    kyso = os.path.abspath(sys.argv[1])
    secs = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    work = tempfile.mkdtemp(prefix="kyso-cluster-")
    schema = "kyso_cluster_%d" % os.getpid()
    weed, s3 = start_weed(work)
    log = open(os.path.join(work, "nodes.log"), "w")
    ports = [free_port() for _ in range(3)]
    nodes = [Node(kyso, write_config(work, i, p, schema, s3), p, log) for i, p in enumerate(ports)]
    procs = []
    try:
        for n in nodes:
            n.start()
        lb_port = free_port()
        procs.append(haproxy(work, lb_port, ports, "three"))
        lb = "http://127.0.0.1:%d" % lb_port
        key = serialization.load_pem_private_key(open(os.path.join(ROOT, "certs/test/signer-rsa.key.pem"), "rb").read(), None)
        pdfs = {f: open(os.path.join(ROOT, f), "rb").read() for f in PDFS}
        verify_pdf = open(os.path.join(ROOT, VERIFY_PDF), "rb").read()
        lock = threading.Lock()
        stats = {"sent": 0, "acknowledged": 0, "failed": 0, "busy": 0, "latencies": [], "acks": {},
                 "prepared": 0, "completed": 0, "lost": [], "cut": 0, "leased": 0}
        stop = threading.Event()

        def timed(fn):
            t = time.time()
            try:
                r = fn()
            except Exception:
                r = (None, b"")
            with lock:
                stats["sent"] += 1
                stats["latencies"].append(time.time() - t)
                if r[0] is not None and 200 <= r[0] < 300:
                    stats["acknowledged"] += 1
                elif r[0] == 429:
                    stats["busy"] += 1
                else:
                    stats["failed"] += 1
            return r

        def dossier(w, n):
            code = "HS-CL-%d-%d" % (w, n)
            picked = random.sample(PDFS, random.randint(1, 2))
            files = [(os.path.basename(f), pdfs[f]) for f in picked]
            meta = {"code": code, "procedure": "1.000001", "applicant": {"kind": "CCCD", "value": "001203004567"},
                    "files": [{"role": "giay_to_kem_theo"} for _ in files]}
            body, ctype = multipart(meta, files)
            st, resp = timed(lambda: request(lb + "/v1/dossiers", KEYS["portal"], body, ctype))
            if st is not None and 200 <= st < 300:
                with lock:
                    stats["acks"][code] = [sha(b) for _, b in files]

        def deferred():
            st, resp = timed(lambda: request(lb + "/v1/sign/prepare?profile=token", KEYS["official"], pdfs[PDFS[0]], "application/pdf"))
            if st != 200:
                return
            p = json.loads(resp)
            with lock:
                stats["prepared"] += 1
            tbs = base64.b64decode(p["data_to_sign"])
            sig = base64.b64encode(key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())).decode()
            body = json.dumps({"signature": sig}).encode()
            for attempt in range(4):
                st, resp = timed(lambda: request(lb + "/v1/sign/%s/complete" % p["session_id"], KEYS["official"], body, "application/json"))
                if st == 200:
                    with lock:
                        stats["completed"] += 1
                    return
                if st == 404 and attempt > 0:
                    # An earlier attempt signed, and the kill cut its answer.
                    with lock:
                        stats["cut"] += 1
                    return
                if st == 409:
                    # The killed node held the session's lease: it can be
                    # completed once the lease ends (60 s on the service's
                    # clock, which this bench keeps fixed).
                    with lock:
                        stats["leased"] += 1
                    return
                if st is not None and st not in (502, 503, 504):
                    with lock:
                        stats["lost"].append((p["session_id"], st))
                    return
                time.sleep(0.5)
            with lock:
                stats["lost"].append((p["session_id"], "no answer"))

        def worker(w):
            n = 0
            while not stop.is_set():
                n += 1
                x = random.random()
                if x < 0.35:
                    dossier(w, n)
                elif x < 0.75:
                    timed(lambda: request(lb + "/v1/verify", KEYS["portal"], verify_pdf, "application/pdf"))
                else:
                    deferred()

        print("work directory: %s" % work)
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
        t0 = time.time()
        for t in threads:
            t.start()
        kill_at = random.uniform(secs * 0.25, secs * 0.75)
        victim = random.randrange(3)
        time.sleep(kill_at)
        nodes[victim].kill9()
        print("node %d killed with kill -9 at %.1f s" % (victim, time.time() - t0))
        time.sleep(3)
        nodes[victim].start()
        print("node %d restarted at %.1f s" % (victim, time.time() - t0))
        time.sleep(max(0, secs - (time.time() - t0)))
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.time() - t0

        # Every acknowledged dossier stored complete.
        missing, partial = [], []
        for code, files in sorted(stats["acks"].items()):
            st, body = request(lb + "/v1/dossiers/" + code, KEYS["auditor"])
            if st != 200:
                missing.append(code)
                continue
            d = json.loads(body)
            v = d["versions"][0]
            if [f["document_sha256"] for f in v["files"]] != files or v["decision"] is None:
                partial.append(code)
        st, body = request(lb + "/v1/audit/verify", KEYS["auditor"])
        chain = json.loads(body)
        chk = subprocess.run([kyso, "archive", "check", "--config", nodes[0].cfg, "--json"], capture_output=True, text=True, cwd=ROOT)
        lat = sorted(stats["latencies"])
        p99 = lat[int(len(lat) * 0.99) - 1] if lat else 0
        print("%d s, 3 nodes behind HAProxy, 6 clients" % round(elapsed))
        print("requests sent %d, acknowledged %d, 429 (the official key's 4 open signing sessions) %d, failed %d"
              % (stats["sent"], stats["acknowledged"], stats["busy"], stats["failed"]))
        print("dossiers acknowledged %d; acknowledged but missing: %d %s; partial: %d %s"
              % (len(stats["acks"]), len(missing), missing[:3], len(partial), partial[:3]))
        print("audit chain: intact %s, %d entries; kyso archive check: exit %d" % (chain["intact"], chain["entries"], chk.returncode))
        print("deferred signing: prepared %d, completed %d, lost %d %s, signed but the answer cut by the kill %d, "
              "held by the killed node's lease (free again after 60 s) %d"
              % (stats["prepared"], stats["completed"], len(stats["lost"]), stats["lost"][:3], stats["cut"], stats["leased"]))
        print("p99 latency %.0f ms" % (p99 * 1000))
        ok = not missing and not partial and chain["intact"] and chk.returncode == 0 and not stats["lost"]

        # The shared limit: a key limited to N per minute, its requests
        # spread over the three nodes by HAProxy (the fixed clock keeps one
        # minute): at most N answered in all.
        for n in nodes:
            n.stop()
            text = open(n.cfg).read().replace("per_key_per_minute = 0", "per_key_per_minute = %d" % LIMITED_PER_MINUTE)
            open(n.cfg, "w").write(text)
            n.start()
        served = refused = 0
        for _ in range(3 * LIMITED_PER_MINUTE):
            st, _ = request(lb + "/v1/dossiers/HS-NONE", KEYS["limited"])
            served += st == 404
            refused += st == 429
        print("rate limit %d/min for one key across 3 nodes: %d requests, %d served, %d refused (429)"
              % (LIMITED_PER_MINUTE, 3 * LIMITED_PER_MINUTE, served, refused))
        ok = ok and served == LIMITED_PER_MINUTE
        for n in nodes:
            n.stop()
            text = open(n.cfg).read().replace("per_key_per_minute = %d" % LIMITED_PER_MINUTE, "per_key_per_minute = 0")
            open(n.cfg, "w").write(text)
            n.start()

        # Throughput: verification through HAProxy, 1 node against 3.
        one_port = free_port()
        procs.append(haproxy(work, one_port, ports[:1], "one"))
        rps1 = wrk_rps("http://127.0.0.1:%d" % one_port, 20, work)
        rps3 = wrk_rps(lb, 20, work)
        print("verification through HAProxy, 20 s each: 1 node %.1f req/s, 3 nodes %.1f req/s, ratio %.2f "
              "(2 cores: the ratio shows what coordination costs, not what more machines would give)" % (rps1, rps3, rps3 / rps1))
        print("CLUSTER: %s" % ("PASS" if ok else "FAIL"))
        return 0 if ok else 1
    finally:
        for p in procs:
            p.terminate()
        for n in nodes:
            n.stop()
        weed.kill()
        weed.wait()
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-q", "-c",
                        "DROP SCHEMA IF EXISTS %s CASCADE" % schema], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
