#!/usr/bin/env bash
# Verification speed and memory, measured against a reference in the same run:
#  (a) `kyso verify` time for ~100 KB, 1 MB and 50 MB signed PDFs next to the
#      time `openssl dgst -sha256` takes to hash the same bytes (ratio);
#  (b) peak RSS of `kyso verify` on a 200 MB signed PDF.
# Usage: bash benches/verify_vs_sha256.sh   (needs python3 with pyHanko: see RECIPES / .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/python.sh
DATA=target/bench-data
"$PY" testdata/gen/make_big.py "$DATA" 0.1 1 50 200 >/dev/null
cargo build --release -q
cargo bench -q --bench verify -- "$DATA/signed-0.1mb.pdf" "$DATA/signed-1mb.pdf" "$DATA/signed-50mb.pdf"
"$PY" - "$DATA" <<'PYEOF'
import os, statistics, subprocess, sys, time
data = sys.argv[1]
kyso = ["target/release/kyso", "verify", "--trust", "certs/test/root.pem", "--at", "2026-11-01T00:00:00Z", "--revocation", "optional", "--format", "json"]

def timed(cmd, runs):
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ts.append(time.perf_counter() - t)
        if r.returncode != 0:
            sys.exit(f"command failed ({r.returncode}): {' '.join(cmd)}")
    return statistics.median(ts), min(ts)

print()
print(f"{'file':<22}{'size':>12}{'kyso verify':>16}{'openssl sha256':>18}{'ratio':>8}")
for name in ["signed-0.1mb.pdf", "signed-1mb.pdf", "signed-50mb.pdf"]:
    p = os.path.join(data, name)
    runs = 9 if "50" in name else 25
    k, kb = timed(kyso + [p], runs)
    s, sb = timed(["openssl", "dgst", "-sha256", p], runs)
    print(f"{name:<22}{os.path.getsize(p):>12}{k*1e3:>13.1f} ms{s*1e3:>15.1f} ms{k/s:>8.2f}")

p = os.path.join(data, "signed-200mb.pdf")
r = subprocess.run(["/usr/bin/time", "-f", "%M"] + kyso + [p], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
assert r.returncode == 0, "200 MB file did not verify"
rss_kib = int(r.stderr.strip().splitlines()[-1])
print(f"\npeak RSS of kyso verify on {os.path.getsize(p)} bytes: {rss_kib/1024:.1f} MiB")
PYEOF
