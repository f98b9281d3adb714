#!/usr/bin/env bash
# Crash safety of `kyso serve` (embedded storage): 20 rounds of concurrent
# dossier submissions from a second process with `kill -9` of the server at a
# random moment; then `kyso archive check`, every acknowledged dossier complete,
# none partial, audit chain intact. Prints the counts; exit 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 benches/crash_safety.py target/release/kyso "$@"
