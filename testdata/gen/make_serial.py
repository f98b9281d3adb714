#!/usr/bin/env python3
"""Make PDFs signed N times in serial incremental updates, for the revision
benchmark (not committed):

    python3 testdata/gen/make_serial.py OUT_DIR N [N ...]

Each file is a one-page PDF signed by pyHanko with the test PKI N times, each
signature in its own incremental update (new field SigK), alternating an RSA
and an ECDSA signer.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import minimal_pdf, sign_pdf  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for arg in sys.argv[2:]:
        n = int(arg)
        path = os.path.join(out, f"signed-{n}x.pdf")
        if os.path.exists(path):
            continue
        data = minimal_pdf("Ho so ky nhieu lan")
        for k in range(n):
            data = sign_pdf(data, "signer-rsa" if k % 2 == 0 else "signer-ec", field=f"Sig{k + 1}")
        with open(path, "wb") as f:
            f.write(data)
        print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
