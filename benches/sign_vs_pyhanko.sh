#!/usr/bin/env bash
# Signing speed, kyso vs pyHanko, in-process, same run, same key (PKCS#12 of
# certs/test/signer-rsa): PAdES B-B of a 1 MB PDF; then B-LT with certomancer's
# live TSA, OCSP and CRLs on 127.0.0.1:9817 (testdata/live; the network
# exchanges with that Python server dominate both).
# Usage: bash benches/sign_vs_pyhanko.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/python.sh
RUNS=${1:-30}
work=$(mktemp -d /tmp/kyso-signbench.XXXXXX)
trap 'kill $cm 2>/dev/null || true; rm -rf "$work"' EXIT
cm=
cargo build --release -q
cargo bench -q --bench sign --no-run 2>/dev/null
# The inputs: an unsigned 1 MB PDF; PKCS#12 files of the test and live signers.
"$PY" - "$work" <<'PY'
import sys
sys.path.insert(0, "testdata/gen")
from make_fixtures import minimal_pdf
open(sys.argv[1] + "/in-1mb.pdf", "wb").write(minimal_pdf("Ket qua giai quyet", pages=1, pad_bytes=1 << 20))
PY
mkp12() { openssl pkcs12 -export -inkey "$1" -in "$2" -certfile "$3" -passout pass:bench -out "$4" 2>/dev/null; }
mkp12 certs/test/signer-rsa.key.pem certs/test/signer-rsa.pem certs/test/issuing-ca.pem "$work/test.p12"
cat testdata/live/certs/interm.pem testdata/live/certs/root.pem > "$work/live-chain.pem"
mkp12 testdata/live/keys/signer-good.key.pem testdata/live/certs/signer-good.pem "$work/live-chain.pem" "$work/live.p12"

echo "== PAdES B-B, $(stat -c %s "$work/in-1mb.pdf") bytes, RSA-2048 PKCS#12"
k=$(cargo bench -q --bench sign -- "$work/in-1mb.pdf" "$work/test.p12" bench "$RUNS")
p=$("$PY" benches/pyhanko_sign.py "$work/in-1mb.pdf" "$work/test.p12" bench "$RUNS" 2>/dev/null)
echo "$k"; echo "$p"
km=$(echo "$k" | sed -E 's/.*median +([0-9.]+).*/\1/'); pm=$(echo "$p" | sed -E 's/.*median +([0-9.]+).*/\1/')
python3 -c "print(f'B-B: kyso {float($km):.2f} ms vs pyHanko {float($pm):.1f} ms per signature: kyso is {float($pm)/float($km):.1f}x faster (target >= 20x)')"

CMB=.venv/bin/certomancer; [ -x "$CMB" ] || CMB=certomancer
"$CMB" --config testdata/live/certomancer.yml animate --port 9817 --no-web-ui >/dev/null 2>&1 &
cm=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:9817/kyso-live/crls/root/latest.crl >/dev/null && break; sleep 0.2; done
TSA=http://127.0.0.1:9817/kyso-live/tsa/tsa
R2=$(( RUNS / 3 > 3 ? RUNS / 3 : 3 ))
echo "== PAdES B-LT (TSA + OCSP + CRL from certomancer on 127.0.0.1)"
k=$(cargo bench -q --bench sign -- "$work/in-1mb.pdf" "$work/live.p12" bench "$R2" B-LT "$TSA")
p=$("$PY" benches/pyhanko_sign.py "$work/in-1mb.pdf" "$work/live.p12" bench "$R2" B-LT "$TSA" testdata/live/certs/root.pem 2>/dev/null)
echo "$k"; echo "$p"
km=$(echo "$k" | sed -E 's/.*median +([0-9.]+).*/\1/'); pm=$(echo "$p" | sed -E 's/.*median +([0-9.]+).*/\1/')
python3 -c "print(f'B-LT: kyso {float($km):.1f} ms vs pyHanko {float($pm):.1f} ms per signature: {float($pm)/float($km):.1f}x')"
