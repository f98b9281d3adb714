#!/usr/bin/env bash
# Anchoring rounds under load (issue 16): `kyso serve` (embedded storage)
# takes POST /v1/verify?store=true with a 100 KB signed PDF at 16
# connections for SECONDS (wrk), four times in one run — without anchoring, then
# with a round every minute stamped by the live certomancer TSA — and prints
# both throughputs, their ratio, and the rounds made (with their leaves).
#   bash benches/anchor_load.sh [SECONDS]     (default 130: two rounds per anchored run)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-130}
PDF=testdata/pdf/signed-100kb.pdf
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
cargo build --release --quiet
work=$(mktemp -d /tmp/kyso-anchor-load.XXXXXX)
.venv/bin/certomancer --config testdata/live/certomancer.yml animate --port 9817 --no-web-ui >"$work/pki.log" 2>&1 &
pki=$!
trap 'kill $pki 2>/dev/null; wait $pki 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:9817/kyso-live/crls/root/latest.crl >/dev/null && break; sleep 0.2; done
KEY=anchor-load-portal-key
sha=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.headers["Content-Type"] = "application/pdf"
local f = io.open("$PDF", "rb"); wrk.body = f:read("*all"); f:close()
LUA
run() { # name every_minutes
    local name=$1 every=$2
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat > "$work/$name.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$work/$name-data"
fixed_time = "2026-11-01T00:00:00Z"
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
[anchoring]
tsa_url = "http://127.0.0.1:9817/kyso-live/tsa/tsa"
every_minutes = $every
trust = ["testdata/live/certs/root.pem"]
intermediates = ["testdata/live/certs/interm.pem"]
TOML
    KYSO_LOG=warn,kyso::archive::anchor=info target/release/kyso serve --config "$work/$name.toml" >"$work/$name.log" 2>&1 &
    local server=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    wrk -t1 -c16 -d"${SECS}s" -s "$work/post.lua" "http://127.0.0.1:$port/v1/verify?store=true" >"$work/$name.wrk"
    kill $server; wait $server 2>/dev/null || true
    awk '/^Requests\/sec/ {print $2}' "$work/$name.wrk"
}
# Twice each, alternating (plain, anchored, plain, anchored): one pass
# alone moves by up to 15 % on this machine from run to run.
plain1=$(run plain1 0)
anchored1=$(run anchored1 1)
plain2=$(run plain2 0)
anchored2=$(run anchored2 1)
check=$(target/release/kyso archive check --config "$work/anchored2.toml" | grep '^anchoring:\|^archive')
python3 - "$plain1" "$anchored1" "$plain2" "$anchored2" "$SECS" <<'PY'
import sys
p1, a1, p2, a2 = map(float, sys.argv[1:5])
secs = sys.argv[5]
print(f"ANCHOR LOAD: {secs} s each, alternating: without anchoring {p1:.1f} and {p2:.1f} req/s, "
      f"with a round every minute {a1:.1f} and {a2:.1f} req/s; "
      f"ratio of the means {(a1 + a2) / (p1 + p2):.3f} (pairs: {a1 / p1:.3f}, {a2 / p2:.3f})")
PY
echo "$check"
echo "round phases (read rows, hash tree + TSA, store):"
grep -h -o 'anchoring round phases.*' "$work"/anchored*.log | sed -e 's/anchoring round phases //' -e 's/\x1b\[[0-9;]*m//g' || true
