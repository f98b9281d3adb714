#!/usr/bin/env python3
"""Make large single-signature PDFs for the benchmarks (not committed).

    python3 testdata/gen/make_big.py OUT_DIR SIZE_MB [SIZE_MB ...]

Each file is a valid PDF whose page content stream is padded with comment
lines up to the size asked, then signed by pyHanko with the test PKI
(certs/test/signer-rsa). Signing streams the file, so this needs no more
memory than pyHanko itself.
"""
import io
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import minimal_pdf, sign_pdf  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for arg in sys.argv[2:]:
        size = float(arg)
        path = os.path.join(out, f"signed-{arg}mb.pdf")
        if os.path.exists(path):
            continue
        base = minimal_pdf("Benchmark document", pages=1, pad_bytes=int(size * (1 << 20)))
        with open(path, "wb") as f:
            f.write(sign_pdf(base, "signer-rsa"))
        print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
