#!/usr/bin/env python3
"""Make kyso's signed fixtures with outside signers (pyHanko, OpenSSL CLI)
and derive tampered variants. Run from the repository root:

    python3 testdata/gen/make_fixtures.py

Inputs: certs/test/*.pem (from make_pki.py). Outputs: testdata/pdf, testdata/cms.
The expected verdicts live in testdata/EXPECTED.tsv (written by hand).
"""
import io
import os
import re
import subprocess
import sys

from asn1crypto import cms as acms
from asn1crypto import pem
from asn1crypto import x509 as ax509
import datetime as dt

from asn1crypto import keys as akeys
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

PKI = "certs/test"
PDF = "testdata/pdf"
CMS = "testdata/cms"


def minimal_pdf(title: str, pages: int = 1, pad_bytes: int = 0) -> bytes:
    """A small, valid PDF with text on each page (classic xref table)."""
    objs = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    font_num = 3 + 2 * pages
    for i in range(pages):
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
                    f"/Resources << /Font << /F1 {font_num} 0 R >> >> >>".encode())
        text = f"BT /F1 18 Tf 72 760 Td ({title} - page {i + 1}) Tj ET\n".encode()
        if pad_bytes:
            # Comment lines make the file larger without changing what is shown.
            line = b"% " + b"k" * 96 + b"\n"
            text += line * (pad_bytes // len(line) // pages)
        objs.append(b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return pdf_from_objects(objs)


def pdf_from_objects(objs) -> bytes:
    """A PDF whose object n is objs[n - 1], catalog 1, with a classic xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for o in offsets:
        out.write(b"%010d 00000 n \n" % o)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def signer_for(stem, chain=True, pss=False):
    ca = (f"{PKI}/issuing-ca.pem",) if chain else ()
    return signers.SimpleSigner.load(f"{PKI}/{stem}.key.pem", f"{PKI}/{stem}.pem", ca_chain_files=ca,
                                     prefer_pss=pss)


def load_pem(path):
    _, _, der = pem.unarmor(open(path, "rb").read())
    return der


def tsa_for(stem, when=dt.datetime(2026, 6, 1, 8, 0, 0, tzinfo=dt.timezone.utc)):
    """An in-process RFC 3161 TSA (pyHanko's test time stamper) with a fixed time."""
    cert = ax509.Certificate.load(load_pem(f"{PKI}/{stem}.pem"))
    key = akeys.PrivateKeyInfo.load(load_pem(f"{PKI}/{stem}.key.pem"))
    store = SimpleCertificateStore.from_certs([ax509.Certificate.load(load_pem(f"{PKI}/issuing-ca.pem"))])
    return DummyTimeStamper(tsa_cert=cert, tsa_key=key, certs_to_embed=store, fixed_dt=when)


REV = "testdata/revocation"


def validation_context():
    """The test PKI with its CRLs, no network: what pyHanko embeds for B-LT/B-LTA."""
    cert = lambda stem: ax509.Certificate.load(load_pem(f"{PKI}/{stem}.pem"))
    crls = [open(f"{REV}/{n}.crl", "rb").read() for n in ("root", "issuing-ca")]
    return ValidationContext(trust_roots=[cert("root")], other_certs=[cert("issuing-ca")], crls=crls,
                             allow_fetching=False)


def sign_pdf(data: bytes, stem, field="Sig1", md="sha256", pss=False, chain=True, pades=True, tsa=None,
             lt=False, lta=False) -> bytes:
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(
        field_name=field, md_algorithm=md,
        subfilter=fields.SigSeedSubFilter.PADES if pades else fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED,
        reason="Kiểm thử kyso", location="Hà Nội",
        embed_validation_info=lt or lta, use_pades_lta=lta,
        validation_context=validation_context() if (lt or lta) else None)
    out = signers.sign_pdf(w, meta, signer=signer_for(stem, chain=chain, pss=pss), timestamper=tsa)
    return out.getvalue()


def doc_timestamp(data: bytes, tsa) -> bytes:
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    out = signers.PdfTimeStamper(tsa).timestamp_pdf(w, md_algorithm="sha256")
    return out.getvalue()


def contents_span(pdf: bytes, which=-1):
    """(start, end) of the hex /Contents of the `which`-th signature (by ByteRange)."""
    brs = [tuple(int(x) for x in m.groups()) for m in
           re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)]
    a, b, c, d = brs[which]
    return b, c


def cms_in(pdf: bytes, which=-1):
    b, c = contents_span(pdf, which)
    raw = bytes.fromhex(pdf[b + 1:c - 1].decode())
    ci = acms.ContentInfo.load(raw, strict=False)
    return ci, b, c


def put_cms(pdf: bytes, ci, b, c) -> bytes:
    der = ci.dump(force=True).hex().encode()
    room = c - b - 2
    assert len(der) <= room, "re-encoded CMS does not fit"
    return pdf[:b + 1] + der + b"0" * (room - len(der)) + pdf[c - 1:]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def openssl_cms(args, out):
    subprocess.run(["openssl", "cms", "-sign", "-binary", *args, "-out", out], check=True)


def main():
    base = minimal_pdf("Giay phep thu nghiem kyso")
    write(f"{PDF}/unsigned.pdf", base)
    good = sign_pdf(base, "signer-rsa")
    write(f"{PDF}/rsa-pkcs1.pdf", good)
    write(f"{PDF}/rsa-pss.pdf", sign_pdf(base, "signer-pss", pss=True))
    write(f"{PDF}/ecdsa-p256.pdf", sign_pdf(base, "signer-ec"))
    write(f"{PDF}/ecdsa-p256-sha384.pdf", sign_pdf(base, "signer-ec", md="sha384"))
    write(f"{PDF}/docsign-eku.pdf", sign_pdf(base, "signer-docsign"))
    write(f"{PDF}/adbe-pkcs7-detached.pdf", sign_pdf(base, "signer-rsa", pades=False))
    write(f"{PDF}/expired-signer.pdf", sign_pdf(base, "signer-expired"))
    write(f"{PDF}/not-yet-valid-signer.pdf", sign_pdf(base, "signer-future"))
    write(f"{PDF}/wrong-key-usage.pdf", sign_pdf(base, "signer-wrong-ku"))
    write(f"{PDF}/server-auth-eku.pdf", sign_pdf(base, "signer-tsa-eku"))
    write(f"{PDF}/rsa1024.pdf", sign_pdf(base, "signer-rsa1024"))
    write(f"{PDF}/sha1.pdf", sign_pdf(base, "signer-rsa", md="sha1"))
    write(f"{PDF}/missing-intermediate.pdf", sign_pdf(base, "signer-rsa", chain=False))
    twice = sign_pdf(good, "signer-ec", field="Sig2")
    write(f"{PDF}/two-signatures.pdf", twice)
    write(f"{PDF}/doc-timestamp.pdf", doc_timestamp(base, tsa_for("tsa")))
    write(f"{PDF}/doc-timestamp-tsa-without-eku.pdf", doc_timestamp(base, tsa_for("tsa-no-eku")))
    signed_t = sign_pdf(base, "signer-rsa", tsa=tsa_for("tsa"))
    write(f"{PDF}/signature-timestamp.pdf", signed_t)
    write(f"{PDF}/signed-then-doc-timestamp.pdf", doc_timestamp(signed_t, tsa_for("tsa")))
    # Proof of existence: an expired signer whose signature was timestamped while valid.
    t2020 = dt.datetime(2020, 6, 1, 8, 0, 0, tzinfo=dt.timezone.utc)
    exp_ts = sign_pdf(base, "signer-expired", tsa=tsa_for("tsa", t2020))
    write(f"{PDF}/expired-signer-timestamped.pdf", exp_ts)
    write(f"{PDF}/expired-signer-untrusted-tsa.pdf", sign_pdf(base, "signer-expired", tsa=tsa_for("tsa-other", t2020)))
    write(f"{PDF}/timestamp-before-cert-valid.pdf", sign_pdf(base, "signer-future", tsa=tsa_for("tsa")))
    # A signature timestamp taken from another signature: its imprint does not match.
    other = sign_pdf(minimal_pdf("Another document"), "signer-expired", tsa=tsa_for("tsa", t2020))
    ci_o, _, _ = cms_in(other)
    ci, b, c = cms_in(exp_ts)
    si = ci["content"]["signer_infos"][0]
    si["unsigned_attrs"] = ci_o["content"]["signer_infos"][0]["unsigned_attrs"]
    write(f"{PDF}/expired-signer-timestamp-wrong-imprint.pdf", put_cms(exp_ts, ci, b, c))
    # Revocation: revoked before / after the proven signing time, and without a timestamp.
    write(f"{PDF}/revoked-before-timestamp.pdf", sign_pdf(base, "signer-revoked-early", tsa=tsa_for("tsa")))
    write(f"{PDF}/revoked-after-timestamp.pdf", sign_pdf(base, "signer-revoked-late", tsa=tsa_for("tsa")))
    write(f"{PDF}/revoked-no-timestamp.pdf", sign_pdf(base, "signer-revoked-late"))
    # PAdES baseline levels with validation data embedded by pyHanko (CRLs of the test PKI).
    t_lt = dt.datetime(2026, 11, 20, 8, 0, 0, tzinfo=dt.timezone.utc)
    write(f"{PDF}/pades-b-t.pdf", sign_pdf(base, "signer-rsa", tsa=tsa_for("tsa", t_lt)))
    write(f"{PDF}/pades-b-lt.pdf", sign_pdf(base, "signer-rsa", tsa=tsa_for("tsa", t_lt), lt=True))
    write(f"{PDF}/pades-b-lta.pdf", sign_pdf(base, "signer-rsa", tsa=tsa_for("tsa", t_lt), lta=True))
    write(f"{PDF}/big-1mb.pdf", sign_pdf(minimal_pdf("Tai lieu lon", pages=3, pad_bytes=1 << 20), "signer-rsa"))
    # The same unsigned document with a cross-reference stream and object
    # streams (what `kyso sign` must also update): rewritten by qpdf.
    import shutil, subprocess
    if shutil.which("qpdf"):
        subprocess.run(["qpdf", "--object-streams=generate", f"{PDF}/unsigned.pdf",
                        f"{PDF}/unsigned-xref-stream.pdf"], check=True)
    # The 100 KB document of benches/load.sh.
    write(f"{PDF}/signed-100kb.pdf", sign_pdf(minimal_pdf("Benchmark document", pages=1, pad_bytes=int(0.088 * (1 << 20))), "signer-rsa"))

    # Tampered variants of rsa-pkcs1.pdf.
    b, c = contents_span(good)
    pos = good.index(b"page 1)")  # inside the signed range (page content)
    t = bytearray(good)
    t[pos + 5] = ord("2")
    write(f"{PDF}/tampered-inside-range.pdf", bytes(t))

    ci, b, c = cms_in(good)
    sig = ci["content"]["signer_infos"][0]["signature"].native
    der_hex = good[b + 1:c - 1]
    i = der_hex.lower().index(sig.hex().encode()) + 40
    t = bytearray(good)
    t[b + 1 + i] = ord("0") if t[b + 1 + i] != ord("0") else ord("1")
    write(f"{PDF}/tampered-signature-value.pdf", bytes(t))

    t = bytearray(good)
    t[c - 10] = ord("7")  # in the zero padding of /Contents, outside the signed range
    write(f"{PDF}/tampered-contents-padding.pdf", bytes(t))

    write(f"{PDF}/appended-bytes.pdf", good + b"\n% appended after signing\n1 0 obj\n<< >>\nendobj\n")

    ci, b, c = cms_in(good)
    imp_der = load_pem(f"{PKI}/impostor.pem")
    certs = ci["content"]["certificates"]
    real_serial = ci["content"]["signer_infos"][0]["sid"].chosen["serial_number"].native
    new = []
    for cc in certs:
        if cc.chosen["tbs_certificate"]["serial_number"].native == real_serial:
            new.append(acms.CertificateChoices({"certificate": ax509.Certificate.load(imp_der)}))
        else:
            new.append(cc)
    ci["content"]["certificates"] = acms.CertificateSet(new)
    write(f"{PDF}/swapped-certificate.pdf", put_cms(good, ci, b, c))

    # CMS with the OpenSSL CLI.
    content = "Tờ khai đề nghị cấp giấy phép — nội dung thử nghiệm của kyso.\n".encode() * 20
    write(f"{CMS}/content.txt", content)
    write(f"{CMS}/content-tampered.txt", content.replace("giấy phép".encode(), "giấy phép X".encode(), 1))
    k = lambda s: ["-signer", f"{PKI}/{s}.pem", "-inkey", f"{PKI}/{s}.key.pem", "-certfile", f"{PKI}/issuing-ca.pem"]
    openssl_cms(["-in", f"{CMS}/content.txt", "-outform", "DER", "-md", "sha256", *k("signer-rsa")],
                f"{CMS}/detached-rsa.p7s")
    openssl_cms(["-in", f"{CMS}/content.txt", "-outform", "PEM", "-md", "sha256", *k("signer-pss"), "-keyopt",
                 "rsa_padding_mode:pss"], f"{CMS}/detached-pss.pem")
    openssl_cms(["-in", f"{CMS}/content.txt", "-outform", "DER", "-nodetach", "-md", "sha384", *k("signer-ec")],
                f"{CMS}/enveloping-ec.p7m")
    openssl_cms(["-in", f"{CMS}/content.txt", "-outform", "DER", "-md", "sha256", *k("signer-expired")],
                f"{CMS}/detached-expired.p7s")
    import base64
    write(f"{CMS}/detached-rsa.b64", base64.encodebytes(open(f"{CMS}/detached-rsa.p7s", "rb").read()))


if __name__ == "__main__":
    sys.exit(main())
