#!/usr/bin/env python3
"""Make the fixtures of kyso's live test PKI (testdata/live/certomancer.yml).
Run from the repository root with certomancer and pyHanko installed:

    python3 testdata/gen/make_live.py

It writes the certificates to testdata/live/certs/, starts certomancer's
`animate` on 127.0.0.1:9817 for the time it needs, and signs with pyHanko:

- testdata/live/{good,revoked,down,slow}.pdf: PAdES B-B by the four signers,
  for the online tests (tests/online.rs);
- testdata/live/b-t.pdf, b-lt.pdf, b-lta.pdf: PAdES B-T / B-LT / B-LTA by the
  good signer with the live TSA, validation data fetched by pyHanko from the
  live OCSP responder and CRL repository (checked offline by EXPECTED.tsv);
- testdata/live/b-lt-short-tsa.pdf: B-LT whose signature timestamp comes from
  a TSA certificate that expires on 2026-12-15; b-lta-chain.pdf: the same
  followed by a document timestamp of the long-lived TSA, so that validation
  after 2026-12-15 needs the archive-timestamp chain.
"""
import contextlib
import io
import os
import subprocess
import sys
import time
import urllib.request

from certomancer.registry import CertomancerConfig
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from asn1crypto import pem
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import minimal_pdf  # noqa: E402

LIVE = "testdata/live"
PORT = 9817
BASE = f"http://127.0.0.1:{PORT}/kyso-live"


def arch_of():
    cfg = CertomancerConfig.from_file(f"{LIVE}/certomancer.yml", key_search_dir=LIVE)
    return cfg.get_pki_arch("kyso-live")


@contextlib.contextmanager
def serve():
    """certomancer's `animate` on 127.0.0.1:PORT for the time of the block."""
    proc = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "certomancer"), "--config", f"{LIVE}/certomancer.yml",
         "animate", "--port", str(PORT), "--no-web-ui"])
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{BASE}/crls/root/latest.crl", timeout=1)
                break
            except Exception:
                time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    arch = arch_of()
    os.makedirs(f"{LIVE}/certs", exist_ok=True)
    for label in ("root", "interm", "ocsp", "tsa", "tsa-short", "signer-good", "signer-revoked", "signer-down", "signer-slow"):
        with open(f"{LIVE}/certs/{label}.pem", "wb") as f:
            f.write(pem.armor("CERTIFICATE", arch.get_cert(label).dump()))
    with serve():
        base = minimal_pdf("Ho so truc tuyen - live PKI")
        interm = arch.get_cert("interm")

        def signer(label):
            return signers.SimpleSigner(
                signing_cert=arch.get_cert(label), signing_key=arch.key_set.get_private_key(label),
                cert_registry=SimpleCertificateStore.from_certs([interm]))

        def sign(data, label, tsa=None, lt=False, lta=False):
            w = IncrementalPdfFileWriter(io.BytesIO(data))
            vc = ValidationContext(trust_roots=[arch.get_cert("root")], other_certs=[interm],
                                   allow_fetching=True) if (lt or lta) else None
            meta = signers.PdfSignatureMetadata(
                field_name="Sig1", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
                embed_validation_info=lt or lta, use_pades_lta=lta, validation_context=vc)
            return signers.sign_pdf(w, meta, signer=signer(label), timestamper=tsa).getvalue()

        for label, name in (("signer-good", "good"), ("signer-revoked", "revoked"), ("signer-down", "down"),
                            ("signer-slow", "slow")):
            open(f"{LIVE}/{name}.pdf", "wb").write(sign(base, label))
        tsa = timestamps.HTTPTimeStamper(f"{BASE}/tsa/tsa")
        open(f"{LIVE}/b-t.pdf", "wb").write(sign(base, "signer-good", tsa=tsa))
        open(f"{LIVE}/b-lt.pdf", "wb").write(sign(base, "signer-good", tsa=tsa, lt=True))
        open(f"{LIVE}/b-lta.pdf", "wb").write(sign(base, "signer-good", tsa=tsa, lta=True))
        # Archive-timestamp chain: signature timestamp by the short-lived TSA,
        # then a document timestamp by the long-lived one with its validation data.
        short = timestamps.HTTPTimeStamper(f"{BASE}/tsa/tsa-short")
        lt_short = sign(base, "signer-good", tsa=short, lt=True)
        open(f"{LIVE}/b-lt-short-tsa.pdf", "wb").write(lt_short)
        vc = ValidationContext(trust_roots=[arch.get_cert("root")], other_certs=[interm], allow_fetching=True)
        chained = signers.PdfTimeStamper(tsa).timestamp_pdf(
            IncrementalPdfFileWriter(io.BytesIO(lt_short)), "sha256", validation_context=vc)
        open(f"{LIVE}/b-lta-chain.pdf", "wb").write(chained.getvalue())


if __name__ == "__main__":
    main()
