#!/usr/bin/env bash
# Signed-XML verification speed and memory against xmlsec1 in the same run:
# a 1 MB and a 50 MB e-invoice (testdata/gen/make_xml.py --big, signed by
# xmlsec1 with the test PKI's seller key), kyso in-process and `kyso verify`
# (CLI, release) vs `xmlsec1 --verify` on the same files with the same
# trust; ratio of medians; peak RSS of each.
# Targets (issue 13): kyso >= 3x faster than xmlsec1; RSS <= 3x size + 32 MB.
# Usage: bash benches/xml.sh   (needs xmlsec1: apt xmlsec1)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=target/bench-data/xml
[ -f "$DATA/invoice-50mb.xml" ] || python3 testdata/gen/make_xml.py --big "$DATA" 1 50
cargo build --release -q
echo "in-process (kyso::verify_path, release):"
cargo bench -q --bench verify -- --intermediates certs/test/issuing-ca.pem --revocation optional \
    --at 2026-11-01T00:00:00Z --runs 5 "$DATA/invoice-1mb.xml" "$DATA/invoice-50mb.xml"
echo
python3 - "$DATA" <<'PYEOF'
import os, statistics, subprocess, sys, time
data = sys.argv[1]
kyso = ["target/release/kyso", "verify", "--trust", "certs/test/root.pem",
        "--intermediates", "certs/test/issuing-ca.pem", "--revocation", "optional", "--format", "json"]
xmlsec = ["xmlsec1", "--verify", "--trusted-pem", "certs/test/root.pem",
          "--untrusted-pem", "certs/test/issuing-ca.pem", "--id-attr:Id", "DLHDon",
          "--id-attr:Id", "http://www.w3.org/2000/09/xmldsig#:Object"]

def run(cmd):
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r, int(r.stderr.strip().splitlines()[-1])

def timed(cmd, runs, check):
    ts, rss = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        r, m = run(cmd)
        ts.append(time.perf_counter() - t)
        rss = max(rss, m)
        check(r)
    return statistics.median(ts), rss

def kyso_ok(r):
    import json
    rep = json.loads(r.stdout)
    if not rep["summary"]["all_passed"]:
        sys.exit("kyso did not pass the file")

def xmlsec_ok(r):
    if r.returncode != 0:
        sys.exit("xmlsec1 did not verify: " + r.stderr[-300:])

print(f"{'file':<20}{'size':>12}{'kyso':>12}{'xmlsec1':>12}{'xmlsec1/kyso':>14}{'kyso RSS':>12}{'xmlsec1 RSS':>13}{'RSS target':>12}")
for name in ["invoice-1mb.xml", "invoice-50mb.xml"]:
    p = os.path.join(data, name)
    size = os.path.getsize(p)
    runs = 5 if "50" in name else 15
    k, krss = timed(kyso + [p], runs, kyso_ok)
    x, xrss = timed(xmlsec + [p], runs, xmlsec_ok)
    target = (3 * size) / 1048576 + 32
    print(f"{name:<20}{size:>12}{k*1e3:>9.1f} ms{x*1e3:>9.1f} ms{x/k:>14.2f}{krss/1024:>9.1f} MiB{xrss/1024:>10.1f} MiB{target:>9.1f} MiB")
PYEOF
