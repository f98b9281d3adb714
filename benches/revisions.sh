#!/usr/bin/env bash
# Serial signatures: PDFs signed 1, 10, 30 and 100 times (one incremental update
# each), verified in-process (every signature, with the analysis of what each
# later revision changed). Prints the time per revision: flat means linear.
# Usage: bash benches/revisions.sh   (needs python3 with pyHanko: see RECIPES / .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/python.sh
DATA=target/bench-data
"$PY" testdata/gen/make_serial.py "$DATA" 1 10 30 100 >/dev/null
out=$(cargo bench -q --bench verify -- --revocation optional --runs 30 \
    "$DATA/signed-1x.pdf" "$DATA/signed-10x.pdf" "$DATA/signed-30x.pdf" "$DATA/signed-100x.pdf")
echo "$out"
echo "$out" | sed -E 's/.*median +([0-9.]+) ms.*signed-([0-9]+)x.pdf.*/\2 \1/' |
    awk '{printf "%2d revisions: %8.3f ms total, %6.3f ms per revision\n", $1, $2, $2 / $1}'
