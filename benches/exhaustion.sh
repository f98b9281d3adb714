#!/usr/bin/env bash
# Exhaustion of `kyso serve` from outside, bounded in count and time, all on
# loopback (the attacker from 127.0.0.2, the well-behaved client from 127.0.0.1):
#  1. 1 000 idle connections and 1 000 partial HTTP/2 prefaces, kept up for
#     HOLD seconds (reopened when the server closes them), while a client
#     calls /healthz and verifies a signed PDF: its success rate is printed
#     (target >= 99 %);
#  2. 10 000 requests without a key and with 60 KB paths: growth of the
#     audit storage (SQLite + WAL) printed (target < 1 MB);
#  3. 10 000 requests with odd method strings: growth of /metrics and of the
#     server's RSS printed (target < 1 MB each).
#   bash benches/exhaustion.sh [HOLD_SECONDS] [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
HOLD=${1:-60}
COUNT=${2:-10000}
cargo build --release --quiet
work=$(mktemp -d /tmp/kyso-exhaust.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KEY=exhaustion-portal-key
sha=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
cat > "$work/kyso.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$work/data"
fixed_time = "2026-11-01T00:00:00Z"
[trust.test]
anchors = ["certs/test/root.pem"]
[revocation]
crls = ["testdata/revocation/root.crl", "testdata/revocation/issuing-ca.crl"]
[policy.default]
trust = ["test"]
[[keys]]
id = "portal-exhaustion"
role = "portal"
sha256 = "$sha"
TOML
# The descriptor limit that made 300 idle sockets fatal before.
( ulimit -n 1024; exec env KYSO_LOG=error target/release/kyso serve --config "$work/kyso.toml" ) > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
python3 benches/exhaustion.py "$port" "$KEY" "$server" "$work/data" "$HOLD" "$COUNT"
