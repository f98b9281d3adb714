#!/usr/bin/env bash
# Three `kyso serve` nodes on one PostgreSQL (local) and one SeaweedFS S3,
# behind HAProxy (issue 17): a 60 s mixed load (dossier submissions,
# verifications, deferred signing prepared on one node and completed through
# the balancer, a rate-limited key) with one node killed with `kill -9` at a
# random moment and restarted; then every acknowledged dossier, the audit
# chain, the deferred sessions and the shared rate limit are checked; and
# verification throughput through HAProxy with 1 node against 3 nodes.
#   bash benches/cluster.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v haproxy >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy; }
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
[ -x .venv/bin/weed ] || { echo "SeaweedFS missing: run the install part of .ci/run first" >&2; exit 1; }
cargo build --release --quiet
exec .venv/bin/python benches/cluster.py target/release/kyso "$@"
