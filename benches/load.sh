#!/usr/bin/env bash
# Load on `kyso serve`: POST /v1/verify with a 100 KB signed PDF at 64
# connections for 30 s (wrk), against in-process verification of the same
# file on all cores measured in the same run; then 10 000 malformed or hostile
# uploads (garbage, truncated, bit-flipped, oversized, broken multipart,
# slow-loris bodies) — no 5xx allowed, and the server must still be healthy.
#   bash benches/load.sh [SECONDS] [HOSTILE_COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-30}
HOSTILE=${2:-10000}
PDF=testdata/pdf/signed-100kb.pdf
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
[ -x /usr/bin/time ] || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q time; }
cargo build --release --quiet
cargo bench --bench verify --no-run --quiet 2>/dev/null

work=$(mktemp -d /tmp/kyso-load.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KEY=load-test-portal-key
sha=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
cat > "$work/kyso.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$work/data"
fixed_time = "2026-11-01T00:00:00Z"
[limits]
max_body_bytes = 1048576
request_timeout_secs = 5
[trust.test]
anchors = ["certs/test/root.pem"]
[revocation]
required = false
[policy.default]
trust = ["test"]
[[keys]]
id = "portal-load"
role = "portal"
sha256 = "$sha"
TOML
KYSO_LOG=warn target/release/kyso serve --config "$work/kyso.toml" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

echo "== in-process reference: verify_bytes on $(nproc) threads, same file, same options"
inproc=$(cargo bench --bench verify --quiet -- --revocation optional --throughput "$SECS" "$PDF" | tee /dev/stderr | sed -n 's/^in-process throughput \([0-9.]*\) docs.*/\1/p')

cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.headers["Content-Type"] = "application/pdf"
local f = io.open("$PDF", "rb"); wrk.body = f:read("*all"); f:close()
LUA
echo "== wrk: POST /v1/verify, 64 connections, ${SECS} s"
cpu0=$(awk '{print $14+$15}' /proc/$server/stat)
/usr/bin/time -f "%U %S" -o "$work/wrk.cpu" wrk -t1 -c64 -d"${SECS}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/v1/verify" | tee "$work/wrk.txt"
cpu1=$(awk '{print $14+$15}' /proc/$server/stat)
wrkcpu=$(awk '{print $1+$2}' "$work/wrk.cpu")
reqs=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
p50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt"); non2xx=${non2xx:-0}
sockerr=$(awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}' "$work/wrk.txt"); sockerr=${sockerr:-0}
python3 - "$rps" "$inproc" "$p50" "$p99" "$non2xx" "$sockerr" "$cpu0" "$cpu1" "$reqs" "$wrkcpu" "$SECS" "$(nproc)" <<'PY'
import sys
rps, inproc, p50, p99, non2xx, sock, c0, c1, reqs, wrkcpu, secs, cores = sys.argv[1:]
rps, inproc = float(rps), float(inproc)
server_ms = (int(c1) - int(c0)) * 10.0 / int(reqs)      # clock ticks of 10 ms
inproc_ms = int(cores) * 1000.0 / inproc
print(f"LOAD: {rps:.1f} req/s over HTTP, in-process {inproc:.1f} docs/s, "
      f"ratio {100*rps/inproc:.1f} % (target >= 85 %); p50 {p50}, p99 {p99}; "
      f"errors: non-2xx {non2xx}, socket {sock}")
print(f"CPU: server {server_ms:.3f} ms per request vs in-process {inproc_ms:.3f} ms per document "
      f"({100*inproc_ms/server_ms:.1f} %); the load generator (wrk) used {float(wrkcpu)/float(secs):.2f} "
      f"of the {cores} cores the in-process run had to itself")
PY

echo "== $HOSTILE hostile uploads"
python3 benches/hostile.py "http://127.0.0.1:$port" "$KEY" "$HOSTILE"
