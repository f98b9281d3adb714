#!/usr/bin/env bash
# Long-term validation speed: kyso's in-process verify of a PAdES B-LTA PDF
# (B-LT with the signer's OCSP response and the CA's CRL in the /DSS, plus a
# document timestamp) next to pyHanko's in-process AdES validation of the
# same file, same trust root (testdata/live/certs/root.pem), same validation
# time, revocation required, no network — measured in the same run. Prints
# both verdicts, both times and the ratio.
# Usage: bash benches/ltv_vs_pyhanko.sh   (needs python3 with pyHanko: see RECIPES / .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/python.sh
FILE=testdata/live/b-lta.pdf
ROOT=testdata/live/certs/root.pem
RUNS=${RUNS:-50}
cargo build --release -q
# Five minutes after the signature timestamp: inside the validity of the
# embedded OCSP responses (pyHanko needs them fresh), whenever the fixture was made.
AT=$(target/release/kyso verify "$FILE" --trust "$ROOT" --format json | python3 -c '
import datetime as d, json, sys
t = json.load(sys.stdin)["signatures"][0]["timestamps"][0]["gen_time"]
print((d.datetime.fromisoformat(t.replace("Z", "+00:00")) + d.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"))')
echo "validation time: $AT"

k=$(cargo bench -q --bench verify -- --trust "$ROOT" --at "$AT" --revocation required --runs $((RUNS * 20)) "$FILE")
echo "$k"
p=$("$PY" benches/pyhanko_ltv.py "$FILE" "$ROOT" "$AT" "$RUNS" 2>/dev/null)
echo "$p"
km=$(echo "$k" | sed -E 's/.*median +([0-9.]+) ms.*/\1/')
pm=$(echo "$p" | sed -nE 's/^pyhanko_ms median ([0-9.]+).*/\1/p')
python3 -c "print(f'kyso {float($km):.3f} ms vs pyHanko {float($pm):.1f} ms per validation: kyso is {float($pm)/float($km):.0f}x faster')"
