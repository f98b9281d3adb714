#!/usr/bin/env python3
"""Fixtures derived from make_fixtures.py's output (run that first), from the
repository root:

    python3 testdata/gen/make_extra.py

- pdf/nested-timestamp.pdf: a B-T signature whose timestamp token
  carries, as an unsigned attribute of its own SignerInfo, a copy of itself
  (a timestamp token nested in a timestamp token);
- pdf/page-changed-after-signing.pdf: rsa-pkcs1.pdf plus an incremental
  update that replaces the page's content stream;
- pdf/timestamp-order-failure.pdf: a signature timestamp at 2026-06-01
  covered by a document timestamp claiming 2026-01-01;
- pdf/update-skips-signed-revision.pdf: rsa-pkcs1.pdf plus an update that
  repeats the signed revision's cross-reference entries but whose /Prev
  skips the signed revision's section;
- pdf/certified-p1-then-signed.pdf, pdf/certified-p2-then-signed.pdf: a
  certification signature (DocMDP /P 1 or 2) followed by an approval signature.
"""
import io
import os
import re
import sys

from asn1crypto import cms as acms
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import PDF, cms_in, minimal_pdf, put_cms, signer_for, tsa_for, write  # noqa: E402


def nested_timestamp():
    w = IncrementalPdfFileWriter(io.BytesIO(minimal_pdf("Giay phep thu nghiem kyso")))
    meta = signers.PdfSignatureMetadata(field_name="Sig1", subfilter=fields.SigSeedSubFilter.PADES)
    pdf = signers.PdfSigner(meta, signer=signer_for("signer-rsa"), timestamper=tsa_for("tsa")).sign_pdf(
        w, bytes_reserved=40000).getvalue()
    ci, b, c = cms_in(pdf)
    si = ci["content"]["signer_infos"][0]
    attrs = si["unsigned_attrs"]
    tok = attrs[0]["values"][0]
    inner = acms.ContentInfo.load(tok.dump())
    copy = acms.ContentInfo.load(tok.dump())
    inner["content"]["signer_infos"][0]["unsigned_attrs"] = acms.CMSAttributes(
        [acms.CMSAttribute({"type": "signature_time_stamp_token", "values": [copy]})])
    attrs[0]["values"] = [inner]
    return put_cms(pdf, ci, b, c)


def page_changed():
    pdf = open(f"{PDF}/rsa-pkcs1.pdf", "rb").read()
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1]
    text = b"BT /F1 18 Tf 72 760 Td (Giay phep da bi SUA sau khi ky) Tj ET\n"
    body = b"\n4 0 obj\n<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream\nendobj\n"
    off = len(pdf) + 1
    xref = len(pdf) + len(body)
    tail = (b"xref\n0 1\n0000000000 65535 f \n4 1\n%010d 00000 n \n" % off +
            b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, prev, xref))
    return pdf + body + tail


def certified(perm):
    w = IncrementalPdfFileWriter(io.BytesIO(minimal_pdf("Van ban chung nhan")))
    meta = signers.PdfSignatureMetadata(field_name="Cert", certify=True, docmdp_permissions=perm,
                                        subfilter=fields.SigSeedSubFilter.PADES)
    out = signers.sign_pdf(w, meta, signer=signer_for("signer-rsa")).getvalue()
    w = IncrementalPdfFileWriter(io.BytesIO(out))
    meta = signers.PdfSignatureMetadata(field_name="Approval", subfilter=fields.SigSeedSubFilter.PADES)
    # pyHanko refuses to sign after /P 1 unless told not to look: that is the point of the fixture.
    pdf_signer = signers.PdfSigner(meta, signer=signer_for("signer-ec"))
    pdf_signer._enforce_certification_constraints = lambda *a, **k: None
    return pdf_signer.sign_pdf(w).getvalue()


def timestamp_order():
    # Signature timestamp at 2026-06-01 (make_fixtures' default), then a
    # document timestamp claiming 2026-01-01: out of order.
    import datetime as dt
    from make_fixtures import doc_timestamp, sign_pdf
    signed = sign_pdf(minimal_pdf("Giay phep thu nghiem kyso"), "signer-rsa", tsa=tsa_for("tsa"))
    early = dt.datetime(2026, 1, 1, 8, 0, 0, tzinfo=dt.timezone.utc)
    return doc_timestamp(signed, tsa_for("tsa", early))


def skip_signed_revision():
    # A later revision that repeats the signed revision's entries but whose
    # /Prev skips its cross-reference section (points at the first revision's).
    pdf = open(f"{PDF}/rsa-pkcs1.pdf", "rb").read()
    sx = [int(x) for x in re.findall(rb"startxref\s+(\d+)", pdf)]
    first, signed = sx[0], sx[-1]
    table = pdf[signed:pdf.index(b"trailer", signed)]
    trailer = pdf[pdf.index(b"trailer", signed):pdf.index(b"startxref", signed)]
    trailer = re.sub(rb"/Prev \d+", b"/Prev %d" % first, trailer)
    return pdf + table + trailer + b"startxref\n%d\n%%%%EOF\n" % len(pdf)


def main():
    write(f"{PDF}/update-skips-signed-revision.pdf", skip_signed_revision())
    write(f"{PDF}/timestamp-order-failure.pdf", timestamp_order())
    write(f"{PDF}/nested-timestamp.pdf", nested_timestamp())
    write(f"{PDF}/page-changed-after-signing.pdf", page_changed())
    write(f"{PDF}/certified-p2-then-signed.pdf", certified(fields.MDPPerm.FILL_FORMS))
    write(f"{PDF}/certified-p1-then-signed.pdf", certified(fields.MDPPerm.NO_CHANGES))


if __name__ == "__main__":
    main()
