#!/usr/bin/env bash
# The public page's verify path against /v1/verify, same server, same file,
# same run: wrk POSTs the file as the page's multipart form to / and as a
# raw body to /v1/verify (an API key), each for SECONDS at 16 connections.
# Prints both throughputs and the page's cost relative to the API
# (target: the page within 10 % of /v1/verify; issue 14).
#   bash benches/page.sh [SECONDS] [FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-15}
PDF=${2:-testdata/pdf/signed-100kb.pdf}
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
cargo build --release --quiet

work=$(mktemp -d /tmp/kyso-page.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KEY=page-bench-portal-key
sha=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
cat > "$work/kyso.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$work/data"
fixed_time = "2026-11-01T00:00:00Z"
[limits]
max_body_bytes = 4194304
[public_page]
per_minute = 100000000
[trust.test]
anchors = ["certs/test/root.pem"]
[revocation]
required = false
[policy.default]
trust = ["test"]
[[keys]]
id = "portal-bench"
role = "portal"
sha256 = "$sha"
TOML
KYSO_LOG=warn target/release/kyso serve --config "$work/kyso.toml" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

cat > "$work/api.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.headers["Content-Type"] = "application/pdf"
local f = io.open("$PDF", "rb"); wrk.body = f:read("*all"); f:close()
LUA
cat > "$work/page.lua" <<LUA
wrk.method = "POST"
local b = "kysobenchboundary"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. b
local f = io.open("$PDF", "rb"); local data = f:read("*all"); f:close()
wrk.body = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"don.pdf\"\r\n"
  .. "Content-Type: application/pdf\r\n\r\n" .. data .. "\r\n--" .. b .. "--\r\n"
LUA
# Both answer 200 with a verdict (checked once before measuring).
curl -sf -H "Authorization: Bearer $KEY" --data-binary @"$PDF" "http://127.0.0.1:$port/v1/verify" | grep -q TOTAL_PASSED
curl -sf -F "files=@$PDF;filename=don.pdf" "http://127.0.0.1:$port/" | grep -q 'class="sig ok"'

run() {
    wrk -t1 -c16 -d"${SECS}s" -s "$work/$1.lua" "http://127.0.0.1:$port$2" | tee "$work/$1.txt" >/dev/null
    local non2xx
    non2xx=$(awk '/Non-2xx/ {print $5}' "$work/$1.txt")
    [ -z "$non2xx" ] || { echo "$1: $non2xx non-2xx answers"; exit 1; }
    awk '/^Requests\/sec/ {print $2}' "$work/$1.txt"
}
echo "== warm-up"; run api /v1/verify >/dev/null
api=$(run api /v1/verify)
page=$(run page /)
api2=$(run api /v1/verify)
python3 - "$api" "$page" "$api2" "$PDF" "$SECS" <<'PY'
import sys
api, page, api2 = map(float, sys.argv[1:4])
ref = (api + api2) / 2
print(f"PAGE: {sys.argv[4]}, {sys.argv[5]} s each, 16 connections")
print(f"  POST /v1/verify (raw body, API key): {api:.1f} and {api2:.1f} req/s (mean {ref:.1f})")
print(f"  POST / (the page's multipart form):  {page:.1f} req/s")
print(f"  page / API = {100 * page / ref:.1f} % (target: >= 90 %, the page within 10 % of /v1/verify)")
PY
