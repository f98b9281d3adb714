#!/usr/bin/env python3
"""Crash safety of `kyso serve` on its embedded storage.

20 rounds: start the server, submit dossiers concurrently from a second
process, `kill -9` the server at a random moment, repeat. Then
`kyso archive check` must pass, every dossier acknowledged with 2xx must be
there complete (every version it acknowledged, every file's bytes with their
hash), no dossier may be partial, and the audit chain must be intact.

Usage: crash_safety.py KYSO_BINARY [--rounds N]   (run by benches/crash_safety.sh)
"""

import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTAL = "crash-test-portal-key"
AUDITOR = "crash-test-auditor-key"
FILES = [
    "testdata/pdf/rsa-pkcs1.pdf",
    "testdata/pdf/unsigned.pdf",
    "testdata/pdf/two-signatures.pdf",
    "testdata/pdf/adbe-pkcs7-detached.pdf",
    "testdata/pdf/big-1mb.pdf",
]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def multipart(meta, files):
    boundary = "kysoboundary%016x" % random.getrandbits(64)
    out = []
    out.append(("--%s\r\nContent-Disposition: form-data; name=\"dossier\"\r\n"
                "Content-Type: application/json\r\n\r\n" % boundary).encode())
    out.append(json.dumps(meta).encode() + b"\r\n")
    for name, data in files:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                    "Content-Type: application/pdf\r\n\r\n" % (boundary, name)).encode())
        out.append(data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def request(url, key, body=None, ctype=None, method=None, timeout=60):
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("Authorization", "Bearer " + key)
    if ctype:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


# ---------------------------------------------------------------- submitter
def submit_main(base, ackfile, tag, threads):
    """A second process: submit dossiers until the server dies."""
    blobs = {f: open(os.path.join(ROOT, f), "rb").read() for f in FILES}
    ack = open(ackfile, "a")
    lock = threading.Lock()
    stop = threading.Event()

    def send(code, body, ctype, files):
        """Submit once; record a 2xx acknowledgement durably. False when the server is gone."""
        try:
            st, resp = request(base + "/v1/dossiers", PORTAL, body, ctype)
        except Exception:
            return False
        if 200 <= st < 300:
            d = json.loads(resp)
            rec = {"ack": code, "version": d["version"], "replay": d["replay"],
                   "files": [sha(b) for _, b in files]}
            with lock:
                print(json.dumps(rec), file=ack, flush=True)
                os.fsync(ack.fileno())
        return True

    def worker(w):
        n = 0
        while not stop.is_set():
            n += 1
            code = "HS-%s-%d-%d" % (tag, w, n)
            versions = random.choice([1, 1, 2, 3])
            for v in range(versions):
                picked = random.sample(FILES, random.randint(1, 3))
                files = [(os.path.basename(f), blobs[f]) for f in picked]
                meta = {"code": code, "procedure": "1.000001",
                        "applicant": {"kind": "CCCD", "value": "001203004567"},
                        "files": [{"role": "giay_to_kem_theo"} for _ in files]}
                body, ctype = multipart(meta, files)
                with lock:
                    print(json.dumps({"attempt": code}), file=ack, flush=True)
                # A replay now and then: idempotent, same version.
                sends = 2 if random.random() < 0.2 else 1
                for _ in range(sends):
                    if not send(code, body, ctype, files):
                        stop.set()
                        return

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


# ---------------------------------------------------------------- driver
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_healthy(base, proc, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit("server exited at start (code %s)" % proc.returncode)
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.1)
    raise SystemExit("server did not become healthy")


def main():
    kyso = os.path.abspath(sys.argv[1])
    rounds = 20
    if "--rounds" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1])
    work = tempfile.mkdtemp(prefix="kyso-crash-")
    data = os.path.join(work, "data")
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    cfg = os.path.join(work, "kyso.toml")
    with open(cfg, "w") as f:
        f.write('listen = "127.0.0.1:%d"\ndata_dir = "%s"\nfixed_time = "2026-11-01T00:00:00Z"\n' % (port, data))
        f.write('[trust.test]\nanchors = ["%s/certs/test/root.pem"]\n' % ROOT)
        f.write('[revocation]\ncrls = ["%s/testdata/revocation/root.crl", "%s/testdata/revocation/issuing-ca.crl"]\n' % (ROOT, ROOT))
        f.write('[policy.default]\ntrust = ["test"]\n')
        for role, key in (("portal", PORTAL), ("auditor", AUDITOR)):
            f.write('[[keys]]\nid = "%s-crash"\nrole = "%s"\nsha256 = "%s"\n' % (role, role, sha(key.encode())))
    ackfile = os.path.join(work, "acks.jsonl")
    log = open(os.path.join(work, "server.log"), "w")
    print("work directory: %s" % work)
    kills = 0
    for r in range(rounds):
        server = subprocess.Popen([kyso, "serve", "--config", cfg], stdout=log, stderr=log, cwd=ROOT)
        wait_healthy(base, server)
        sub = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--submit", base, ackfile, "r%d" % r, "6"])
        time.sleep(random.uniform(0.3, 3.0))
        server.send_signal(signal.SIGKILL)
        server.wait()
        kills += 1
        try:
            sub.wait(timeout=120)
        except subprocess.TimeoutExpired:
            sub.kill()
            sub.wait()
    # The archive after 20 kills.
    chk = subprocess.run([kyso, "archive", "check", "--config", cfg, "--json"], capture_output=True, text=True, cwd=ROOT)
    check = json.loads(chk.stdout) if chk.stdout.strip().startswith("{") else None
    print("kyso archive check: exit %d" % chk.returncode)
    if check:
        print("  blobs %d (unreferenced %d), references %d, audit entries %d, chain intact %s, problems %d"
              % (check["blobs"], check["unreferenced"], check["references"], check["chain"]["entries"],
                 check["chain"]["intact"], len(check["problems"]) + len(check["chain"]["problems"])))
    # Every acknowledged dossier version is there, complete.
    server = subprocess.Popen([kyso, "serve", "--config", cfg], stdout=log, stderr=log, cwd=ROOT)
    wait_healthy(base, server)
    attempts, acks = set(), {}
    n_acks = n_replays = 0
    for line in open(ackfile):
        rec = json.loads(line)
        if "attempt" in rec:
            attempts.add(rec["attempt"])
        else:
            n_acks += 1
            n_replays += rec["replay"]
            acks.setdefault(rec["ack"], {})[rec["version"]] = rec["files"]
    missing, partial, complete, stored_unacked = [], [], 0, 0
    blob_ok = {}
    for code in sorted(attempts):
        try:
            st, body = request(base + "/v1/dossiers/" + code, AUDITOR)
            d = json.loads(body)
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise
            if code in acks:
                missing.append(code)
            continue
        versions = {v["version"]: v for v in d["versions"]}
        bad = False
        for v in d["versions"]:
            if not v["files"] or v["decision"] is None:
                bad = True
            for f in v["files"]:
                s = f["document_sha256"]
                if s not in blob_ok:
                    try:
                        _, b = request(base + "/v1/documents/" + s, AUDITOR)
                        blob_ok[s] = sha(b) == s
                    except Exception:
                        blob_ok[s] = False
                if not blob_ok[s]:
                    bad = True
        for ver, files in acks.get(code, {}).items():
            got = versions.get(ver)
            if got is None or [f["document_sha256"] for f in got["files"]] != files:
                missing.append("%s v%d" % (code, ver))
        if bad:
            partial.append(code)
        else:
            complete += 1
        if code not in acks:
            stored_unacked += 1
    _, body = request(base + "/v1/audit/verify", AUDITOR)
    chain = json.loads(body)
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    print("rounds %d, kill -9 %d" % (rounds, kills))
    print("dossiers attempted %d, acknowledged %d (2xx responses %d, of which replays %d)"
          % (len(attempts), len(acks), n_acks, n_replays))
    print("acknowledged but missing or different: %d %s" % (len(missing), missing[:5]))
    print("stored complete %d, partial %d %s, stored without acknowledgement (killed in flight) %d"
          % (complete, len(partial), partial[:5], stored_unacked))
    print("audit chain: intact %s, %d entries" % (chain["intact"], chain["entries"]))
    ok = chk.returncode == 0 and not missing and not partial and chain["intact"]
    print("CRASH SAFETY: %s" % ("PASS" if ok else "FAIL"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--submit":
        submit_main(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
