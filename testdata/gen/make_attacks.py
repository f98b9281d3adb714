#!/usr/bin/env python3
"""PDF signature attack fixtures, built from real pyHanko-signed files (run
make_fixtures.py first), from the repository root:

    python3 testdata/gen/make_attacks.py

Writes testdata/pdf/attacks/*.pdf. Classes (after Mladenov et al., "1 Trillion
Dollar Refund", CCS 2019, and Mainka et al., "Shadow Attacks", NDSS 2021 /
"Certified PDF attacks", IEEE S&P 2021):

- usf-*: Universal Signature Forgery — the signature dictionary's /Contents,
  /ByteRange or /SubFilter missing, null or malformed;
- isa-*: Incremental Saving Attack — a revision overriding the page content,
  appended objects without cross-reference data, a new catalog;
- swa-*: Signature Wrapping — the second ByteRange part moved, objects hidden
  in the /Contents padding, overlapping ranges;
- shadow-*: Shadow attacks — content prepared before signing, revealed after
  (hide: an overlay emptied; replace: the xref pointed at a prepared copy of
  the content object; hide-and-replace: a prepared page tree swapped in);
- eaa-*: Evil Annotation — a FreeText annotation over certified content (P=1, 2, 3);
- ssa-*: Sneaky Signature — a new visible signature over certified content (P=1, 2, 3);
- docmdp-*, fieldmdp-*: a form filled after a certification with /P 1, or a
  field filled that a signature's FieldMDP locks;
- honest-*: legitimate counterparts that must stay TOTAL_PASSED (including a
  form filled after a /P 2 certification).
"""
import io
import os
import re
import sys

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import PDF, minimal_pdf, pdf_from_objects, signer_for, write  # noqa: E402

OUT = f"{PDF}/attacks"


def blank(data: bytes, span, rep=b"") -> bytes:
    s, e = span
    assert len(rep) <= e - s
    return data[:s] + rep + b" " * (e - s - len(rep)) + data[e:]


def last_startxref(data: bytes) -> int:
    return int(re.findall(rb"startxref\s+(\d+)", data)[-1])


def append_update(data: bytes, objects: dict, root=None) -> bytes:
    """An incremental update with the given {num: body} and a classic xref."""
    size = int(re.findall(rb"/Size (\d+)", data)[-1])
    root = root or re.findall(rb"/Root (\d+ \d+ R)", data)[-1]
    out = bytearray(data)
    offs = {}
    for num, body in sorted(objects.items()):
        out += b"\n"
        offs[num] = len(out)
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n"
    for num in sorted(offs):
        out += b"%d 1\n%010d 00000 n \n" % (num, offs[num])
    size = max([size] + [n + 1 for n in offs])
    out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size, root, last_startxref(data), xref)
    return bytes(out)


def sign(data, stem="signer-rsa", field="Sig1", certify=None, visible=False):
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(
        field_name=field, subfilter=fields.SigSeedSubFilter.PADES,
        certify=certify is not None, docmdp_permissions=certify or fields.MDPPerm.FILL_FORMS)
    spec = fields.SigFieldSpec(field, box=(20, 700, 420, 800)) if visible else None
    return signers.PdfSigner(meta, signer=signer_for(stem), new_field_spec=spec).sign_pdf(w).getvalue()


def usf(signed: bytes):
    c = re.search(rb"/Contents\s*<[0-9a-fA-F]*>", signed).span()
    br = re.search(rb"/ByteRange\s*\[[^\]]*\]", signed).span()
    sf = re.search(rb"/SubFilter\s*/[A-Za-z.]+", signed).span()
    write(f"{OUT}/usf-no-contents.pdf", blank(signed, c))
    write(f"{OUT}/usf-null-contents.pdf", blank(signed, c, b"/Contents null"))
    write(f"{OUT}/usf-empty-contents.pdf", blank(signed, c, b"/Contents <>"))
    write(f"{OUT}/usf-no-byterange.pdf", blank(signed, br))
    write(f"{OUT}/usf-null-byterange.pdf", blank(signed, br, b"/ByteRange null"))
    write(f"{OUT}/usf-byterange-three-numbers.pdf", blank(signed, br, b"/ByteRange [0 10 20]"))
    write(f"{OUT}/usf-no-subfilter.pdf", blank(signed, sf))


def isa(signed: bytes):
    text = b"BT /F1 18 Tf 72 760 Td (Giay phep da bi SUA sau khi ky) Tj ET\n"
    write(f"{OUT}/isa-page-content-overridden.pdf",
          append_update(signed, {4: b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"}))
    # Objects appended with no cross-reference data and no startxref.
    write(f"{OUT}/isa-no-xref.pdf",
          signed + b"\n4 0 obj\n<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream\nendobj\n")
    # A new catalog in a new object, named by the update's trailer.
    write(f"{OUT}/isa-new-root.pdf",
          append_update(signed, {20: b"<< /Type /Catalog /Pages 2 0 R >>"}, root=b"20 0 R"))


def swa(signed: bytes):
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\] *", signed)
    a, b, c, d = (int(x) for x in m.groups())
    # Move the second part: copy the signed tail to the end and point there.
    tail = signed[c:c + d]
    moved = len(signed) + 1
    new_br = b"/ByteRange [%d %d %d %d]" % (a, b, moved, d)
    attacked = blank(signed, m.span(), new_br) + b"\n" + tail
    write(f"{OUT}/swa-second-part-moved.pdf", attacked)
    # Overlapping ranges.
    write(f"{OUT}/swa-overlapping-ranges.pdf", blank(signed, m.span(), b"/ByteRange [%d %d %d %d]" % (a, b + 10, c - 10, d + 10)))
    # A PDF object hidden in the zero padding of /Contents.
    cm = re.search(rb"/Contents\s*<([0-9a-fA-F]*)>", signed)
    hexs = cm.group(1)
    pad = len(hexs) - len(hexs.rstrip(b"0"))
    hidden = b"3e3e0a656e646f626a0a"  # ">>\nendobj\n" as hex digits
    assert pad > len(hidden) + 2
    s = cm.start(1) + len(hexs) - pad + 2
    write(f"{OUT}/swa-object-in-contents-padding.pdf", signed[:s] + hidden + signed[s + len(hidden):])


def shadow():
    # A document with prepared, unreferenced content (same object number 4,
    # a second time, after the xref-listed one), and a prepared page tree.
    base = minimal_pdf("Giay phep thu nghiem kyso")
    evil = b"BT /F1 18 Tf 72 760 Td (Noi dung GIA duoc chuan bi truoc) Tj ET\n"
    xref = base.rindex(b"\nxref") + 1
    prep = b"4 0 obj\n<< /Length %d >>\nstream\n" % len(evil) + evil + b"\nendstream\nendobj\n"
    prep += b"9 0 obj\n<< /Type /Pages /Kids [10 0 R] /Count 1 >>\nendobj\n"
    prep += (b"10 0 obj\n<< /Type /Page /Parent 9 0 R /MediaBox [0 0 595 842] /Contents 11 0 R "
             b"/Resources << /Font << /F1 5 0 R >> >> >>\nendobj\n")
    prep += b"11 0 obj\n<< /Length %d >>\nstream\n" % len(evil) + evil + b"\nendstream\nendobj\n"
    prepared_at = xref
    doc = base[:xref] + prep + base[xref:]
    # Fix the startxref after the insertion.
    doc = re.sub(rb"startxref\s+\d+", b"startxref\n%d" % (xref + len(prep)), doc)
    write(f"{OUT}/shadow-prepared-unsigned.pdf", doc)
    signed = sign(doc)
    write(f"{OUT}/shadow-prepared-signed.pdf", signed)
    # Replace: only a cross-reference section, pointing object 4 at the prepared copy.
    out = bytearray(signed)
    x = len(out)
    size = int(re.findall(rb"/Size (\d+)", signed)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", signed)[-1]
    out += b"xref\n0 1\n0000000000 65535 f \n4 1\n%010d 00000 n \n" % prepared_at
    out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size, root, last_startxref(signed), x)
    write(f"{OUT}/shadow-replace-via-xref.pdf", bytes(out))
    # Hide by generation: object 4 rewritten unchanged but as generation 1,
    # so the page's "4 0 R" no longer reaches it (the page shows nothing).
    body = re.findall(rb"\n4 0 obj\n(.*?)endobj", signed, re.S)[0]
    out = bytearray(signed)
    out += b"\n"
    at = len(out)
    out += b"4 1 obj\n" + body + b"endobj\n"
    x = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n4 1\n%010d 00001 n \n" % at
    out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size, root, last_startxref(signed), x)
    write(f"{OUT}/shadow-hide-by-generation.pdf", bytes(out))
    # Hide: the visible content emptied by an update.
    write(f"{OUT}/shadow-hide-content-emptied.pdf",
          append_update(signed, {4: b"<< /Length 0 >>\nstream\n\nendstream"}))
    # Hide-and-replace: the page tree swapped for the prepared one.
    cat = re.findall(rb"\n1 0 obj\s*(<<.*?>>)\s*endobj", signed, re.S)[-1]
    write(f"{OUT}/shadow-hide-and-replace-page-tree.pdf",
          append_update(signed, {1: cat.replace(b"/Pages 2 0 R", b"/Pages 9 0 R")}))
    # The same with a duplicated key: readers that take the first /Pages see
    # the prepared tree, those that take the last see the signed one.
    write(f"{OUT}/shadow-duplicate-pages-key.pdf",
          append_update(signed, {1: cat.replace(b"/Pages 2 0 R", b"/Pages 9 0 R /Pages 2 0 R")}))


def evil_annotation(certified: bytes) -> bytes:
    """A FreeText annotation drawn over the page's text, added in an update."""
    w = IncrementalPdfFileWriter(io.BytesIO(certified))
    page_ref = w.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    annot = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (60, 740, 560, 800)]),
        generic.NameObject("/Contents"): generic.TextStringObject("So tien: 999.000.000 VND"),
        generic.NameObject("/DA"): generic.TextStringObject("/Helv 18 Tf 0 g"),
        generic.NameObject("/P"): page_ref,
    })
    aref = w.add_object(annot)
    annots = page.get("/Annots", generic.ArrayObject())
    page[generic.NameObject("/Annots")] = generic.ArrayObject(list(annots) + [aref])
    w.mark_update(page_ref)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def dangling_reference():
    """Shadow variant: the signed page draws XObject 30, which does not exist
    when signed (nothing shows); an update adds 30 and lists it in the /DSS
    as if it were validation data."""
    text = b"BT /F1 18 Tf 72 760 Td (Giay phep thu nghiem kyso) Tj ET q /X Do Q\n"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> /XObject << /X 30 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    signed = sign(pdf_from_objects(objs))
    evil = b"BT /F1 18 Tf 72 700 Td (So tien: 999.000.000 VND) Tj ET"
    cat = re.findall(rb"\n1 0 obj\s*(<<.*?>>)\s*endobj", signed, re.S)[-1]
    cat = cat[:cat.rindex(b">>")] + b" /DSS 31 0 R >>"
    return append_update(signed, {
        1: cat,
        30: b"<< /Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
            b"/Length %d >>\nstream\n" % len(evil) + evil + b"\nendstream",
        31: b"<< /Certs [30 0 R] >>",
    })


def certified_attacks():
    base = minimal_pdf("Van ban chung nhan")
    perms = {1: fields.MDPPerm.NO_CHANGES, 2: fields.MDPPerm.FILL_FORMS, 3: fields.MDPPerm.ANNOTATE}
    for p, perm in perms.items():
        cert = sign(base, certify=perm, field="Cert")
        write(f"{OUT}/eaa-freetext-over-certified-p{p}.pdf", evil_annotation(cert))
        # Sneaky signature: a new visible signature field over certified content.
        # (pyHanko itself refuses to sign after /P 1: its check is switched off here.)
        w = IncrementalPdfFileWriter(io.BytesIO(cert))
        meta = signers.PdfSignatureMetadata(field_name="Sneaky", subfilter=fields.SigSeedSubFilter.PADES)
        ps = signers.PdfSigner(meta, signer=signer_for("signer-ec"),
                               new_field_spec=fields.SigFieldSpec("Sneaky", box=(20, 700, 420, 800)))
        ps._enforce_certification_constraints = lambda *a, **k: None
        write(f"{OUT}/ssa-visible-signature-after-certified-p{p}.pdf", ps.sign_pdf(w).getvalue())
    p2 = sign(base, certify=fields.MDPPerm.FILL_FORMS, field="Cert")
    # Honest: an invisible approval signature after P=2; a second honest signature.
    write(f"{OUT}/honest-invisible-signature-after-certified-p2.pdf", sign(p2, stem="signer-ec", field="Approval"))
    approval = sign(base)
    write(f"{OUT}/honest-visible-second-signature.pdf", sign(approval, stem="signer-ec", field="Sig2", visible=True))


def form_pdf() -> bytes:
    """A one-page PDF with a text field HoTen (widget with an appearance)."""
    ap = b"/Tx BMC EMC"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /DA (/Helv 12 Tf 0 g) >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R] >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /FT /Tx /T (HoTen) /Type /Annot /Subtype /Widget /Rect [72 600 372 630] /P 3 0 R "
        b"/DA (/F1 12 Tf 0 g) /AP << /N 7 0 R >> >>",
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 300 30] /Length %d >>\nstream\n" % len(ap) + ap + b"\nendstream",
    ]
    text = b"BT /F1 14 Tf 72 700 Td (To khai - ho ten nguoi nop:) Tj ET\n"
    objs[3] = b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"
    return pdf_from_objects(objs)


def fill(signed: bytes, value: bytes) -> bytes:
    """Fill HoTen: new /V and a new appearance stream (object 20)."""
    field = re.findall(rb"\n6 0 obj\s*(<<.*?>>)\s*endobj", signed, re.S)[-1]
    field = field.replace(b"/AP << /N 7 0 R >>", b"/AP << /N 20 0 R >> /V (%s)" % value)
    ap = b"/Tx BMC BT /F1 12 Tf 2 10 Td (%s) Tj ET EMC" % value
    return append_update(signed, {
        6: field,
        20: b"<< /Type /XObject /Subtype /Form /BBox [0 0 300 30] /Resources << /Font << /F1 5 0 R >> >> "
            b"/Length %d >>\nstream\n" % len(ap) + ap + b"\nendstream",
    })


def form_filling():
    base = form_pdf()
    # Filling a form after an approval signature (no certification): what
    # the page shows changes (the shadow "replace" attack uses this).
    write(f"{OUT}/shadow-replace-form-filled-after-approval.pdf", fill(sign(base), b"Nguyen Van A"))
    write(f"{OUT}/honest-form-filled-after-certified-p2.pdf",
          fill(sign(base, certify=fields.MDPPerm.FILL_FORMS, field="Cert"), b"Nguyen Van A"))
    write(f"{OUT}/docmdp-form-filled-after-certified-p1.pdf",
          fill(sign(base, certify=fields.MDPPerm.NO_CHANGES, field="Cert"), b"Nguyen Van A"))
    # A signature that locks HoTen (FieldMDP Include), then HoTen filled.
    w = IncrementalPdfFileWriter(io.BytesIO(base))
    meta = signers.PdfSignatureMetadata(field_name="Sig1", subfilter=fields.SigSeedSubFilter.PADES)
    spec = fields.SigFieldSpec("Sig1", field_mdp_spec=fields.FieldMDPSpec(fields.FieldMDPAction.INCLUDE, ["HoTen"]))
    locked = signers.PdfSigner(meta, signer=signer_for("signer-rsa"), new_field_spec=spec).sign_pdf(w).getvalue()
    write(f"{OUT}/fieldmdp-locked-field-filled.pdf", fill(locked, b"Ke Gian"))


def revision_boundary_bypasses(signed: bytes):
    """Classes that fooled other validators' revision splitting (iText's
    9.8.1.1 security release): an update that carries a linearization
    dictionary (a validator that takes the file for a linearized original
    reads the update as part of the signed revision), and `%%EOF` markers
    inside an update's trailer or stream data (a validator that splits
    revisions at `%%EOF` sees a revision end where none is). Each update
    also replaces the page's text: none may hide it."""
    evil = b"BT /F1 18 Tf 72 760 Td (Noi dung GIA sau khi ky) Tj ET\n"
    content = b"<< /Length %d >>\nstream\n" % len(evil) + evil + b"\nendstream"
    size = int(re.findall(rb"/Size (\d+)", signed)[-1])
    lin = b"<< /Linearized 1 /L %d /H [ 0 0 ] /O 3 /E 0 /N 1 /T 0 >>" % (len(signed) + 400)
    write(f"{OUT}/bypass-linearization-dict-in-update.pdf",
          append_update(signed, {size: lin, 4: content}))
    # %%EOF inside the trailer: a string value holding the marker.
    data = append_update(signed, {4: content})
    at = data.rindex(b"trailer\n<< /Size")
    moved = data[:at] + b"trailer\n<< /Note (\n%%EOF\n) /Size" + data[at + len(b"trailer\n<< /Size"):]
    x = moved.rindex(b"xref\n0 1")
    moved = re.sub(rb"startxref\n\d+\n%%EOF\n$", b"startxref\n%d\n%%%%EOF\n" % x, moved)
    write(f"{OUT}/bypass-eof-in-trailer.pdf", moved)
    # %%EOF inside stream data: a content stream whose bytes hold the marker
    # (as a content-stream comment, harmless to the page).
    evil_eof = b"%%EOF\n" + evil
    write(f"{OUT}/bypass-eof-in-stream.pdf", append_update(signed, {
        4: b"<< /Length %d >>\nstream\n" % len(evil_eof) + evil_eof + b"\nendstream"}))


def main():
    os.makedirs(OUT, exist_ok=True)
    signed = open(f"{PDF}/rsa-pkcs1.pdf", "rb").read()
    usf(signed)
    isa(signed)
    swa(signed)
    shadow()
    certified_attacks()
    form_filling()
    write(f"{OUT}/shadow-dangling-reference-filled-as-dss.pdf", dangling_reference())
    revision_boundary_bypasses(signed)


if __name__ == "__main__":
    main()
