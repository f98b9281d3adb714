#!/usr/bin/env bash
# An NSS certificate database for LibreOffice (tests/support/lo_uno.py):
# the live test PKI's root trusted, and — for signing — the good signer's
# key with its chain (testdata/live). Usage: lo_nss.sh DIR
set -euo pipefail
dir=$1
live=$(cd "$(dirname "$0")/../../testdata/live" && pwd)
rm -rf "$dir" && mkdir -p "$dir"
certutil -N -d "sql:$dir" --empty-password
openssl pkcs12 -export -passout pass:1234 -name "Nguyen Van Tot" \
    -inkey "$live/keys/signer-good.key.pem" -in "$live/certs/signer-good.pem" \
    -certfile <(cat "$live/certs/interm.pem" "$live/certs/root.pem") -out "$dir/signer.p12"
pk12util -i "$dir/signer.p12" -d "sql:$dir" -W 1234 -K '' >/dev/null
certutil -A -d "sql:$dir" -n "kyso live root" -t "CT,C,C" -i "$live/certs/root.pem"
