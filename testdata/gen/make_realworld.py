#!/usr/bin/env python3
"""Documents as other signing tools write them, and the cases of issue 12
(PDF verdicts on files kyso did not make). Run from the repository root,
after make_fixtures.py and `cargo build` (it calls target/debug/kyso):

    python3 testdata/gen/make_realworld.py

Writers: pyHanko (signatures and structure edits), the OpenSSL CLI (CMS
envelopes), kyso itself (a second signature), qpdf (structure rewrites) and
LibreOffice headless (a tagged PDF from a word-processor document).
Outputs: testdata/pdf/realworld/*.pdf, testdata/cms/*-pdf-in.p7m*. The
expected verdicts are rows of testdata/EXPECTED.tsv and ATTACKS.tsv.
"""
import base64
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile

from asn1crypto import cms as acms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

sys.path.insert(0, os.path.dirname(__file__))
from make_fixtures import (CMS, PDF, PKI, cms_in, minimal_pdf, pdf_from_objects, put_cms,  # noqa: E402
                           sign_pdf, tsa_for, write)

OUT = f"{PDF}/realworld"
KYSO = "target/debug/kyso"


def kyso_sign(pdf: bytes, stem: str, field: str, *extra) -> bytes:
    """Sign with `kyso sign` (B-B, invisible unless `extra` asks for a seal)."""
    with tempfile.TemporaryDirectory() as d:
        src, dst = f"{d}/in.pdf", f"{d}/out.pdf"
        open(src, "wb").write(pdf)
        subprocess.run([KYSO, "sign", src, dst, "--key", f"{PKI}/{stem}.key.pem", "--cert",
                        f"{PKI}/{stem}.pem", "--chain", f"{PKI}/issuing-ca.pem", "--field", field,
                        "--time", "2026-10-01T08:00:00Z", *extra], check=True)
        return open(dst, "rb").read()


def edit(pdf: bytes, change) -> bytes:
    """An incremental update written by pyHanko's writer: `change(w)` edits objects."""
    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    change(w)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def direct_form_base(lock=None, fields_object=False) -> bytes:
    """One page; the catalog's /AcroForm a direct dictionary with /DA (as many
    producers write it), an empty signature field Sig1 (with a /Lock when
    given); with `fields_object`, the form and its /Fields array are objects."""
    lock_ref = " /Lock 6 0 R" if lock else ""
    form = b"/Fields [5 0 R] /DA (/Helv 0 Tf 0 g)"
    if fields_object:
        cat = b"<< /Type /Catalog /Pages 2 0 R /AcroForm 8 0 R >>"
    else:
        cat = b"<< /Type /Catalog /Pages 2 0 R /AcroForm << " + form + b" >> >>"
    text = b"BT /F1 18 Tf 72 760 Td (Giay phep so 12/2026) Tj ET\n"
    objs = [
        cat,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 7 0 R >> >> /Annots [5 0 R] >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Sig1) /Rect [0 0 0 0] /F 132 /P 3 0 R"
        + lock_ref.encode() + b" >>",
        (b"<< /Type /SigFieldLock /Action /All /P %d >>" % lock) if lock else b"null",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if fields_object:
        objs += [b"<< /Fields 9 0 R /DA (/Helv 0 Tf 0 g) >>", b"[5 0 R]"]
    return pdf_from_objects(objs)


def signed_pdf_envelopes():
    """A signed PDF wrapped in an enveloping CMS by the OpenSSL CLI (.p7m, as
    many Vietnamese signing tools hand it over), in DER, PEM and base64."""
    k = ["-signer", f"{PKI}/signer-ec.pem", "-inkey", f"{PKI}/signer-ec.key.pem",
         "-certfile", f"{PKI}/issuing-ca.pem"]
    for src, name in (("rsa-pkcs1.pdf", "signed-pdf-in"), ("unsigned.pdf", "unsigned-pdf-in"),
                      ("tampered-signature-value.pdf", "tampered-pdf-in")):
        out = f"{CMS}/{name}.p7m"
        subprocess.run(["openssl", "cms", "-sign", "-binary", "-nodetach", "-md", "sha256", *k,
                        "-in", f"{PDF}/{src}", "-outform", "DER", "-out", out], check=True)
    der = open(f"{CMS}/signed-pdf-in.p7m", "rb").read()
    b64 = base64.b64encode(der).decode()
    lines = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    write(f"{CMS}/signed-pdf-in.p7m.pem", f"-----BEGIN PKCS7-----\n{lines}\n-----END PKCS7-----\n".encode())
    write(f"{CMS}/signed-pdf-in.p7m.b64", (lines + "\n").encode())


def broken_timestamps():
    """A valid signature whose signature timestamp is broken: taken from
    another signature (imprint mismatch), or with the TSA's signature value
    altered."""
    base = minimal_pdf("Giay phep thu nghiem kyso")
    good = sign_pdf(base, "signer-rsa", tsa=tsa_for("tsa"))
    other = sign_pdf(minimal_pdf("Another document"), "signer-rsa", tsa=tsa_for("tsa"))
    ci_o, _, _ = cms_in(other)
    ci, b, c = cms_in(good)
    ci["content"]["signer_infos"][0]["unsigned_attrs"] = ci_o["content"]["signer_infos"][0]["unsigned_attrs"]
    write(f"{OUT}/signature-timestamp-wrong-imprint.pdf", put_cms(good, ci, b, c))
    ci, b, c = cms_in(good)
    tok = ci["content"]["signer_infos"][0]["unsigned_attrs"][0]["values"][0]
    tsi = tok["content"]["signer_infos"][0]
    sig = bytearray(tsi["signature"].native)
    sig[len(sig) // 2] ^= 0x01
    tsi["signature"] = acms.OctetString(bytes(sig))
    write(f"{OUT}/signature-timestamp-bad-tsa-signature.pdf", put_cms(good, ci, b, c))


def acroform_bookkeeping(signed: bytes):
    """After a signature, an update touching only the form's bookkeeping, as
    other signers write it for their widget: /DA, a font added to /DR,
    /NeedAppearances false; and the same with /NeedAppearances true (viewers
    then redraw every field: not allowed)."""
    def keep(regenerate):
        def change(w):
            form = w.root["/AcroForm"]
            form["/DA"] = generic.pdf_string("/Helv 10 Tf 0 g")
            font = w.add_object(generic.DictionaryObject({
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
                generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica")}))
            form["/DR"] = generic.DictionaryObject({
                generic.pdf_name("/Font"): generic.DictionaryObject({generic.pdf_name("/Helv"): font})})
            form["/NeedAppearances"] = generic.BooleanObject(regenerate)
            w.update_root()
        return change
    write(f"{OUT}/acroform-bookkeeping.pdf", edit(signed, keep(False)))
    write(f"{OUT}/acroform-need-appearances.pdf", edit(signed, keep(True)))


def freed_objects():
    """After a signature, an update that frees an object: an orphan of the
    signed revision (nothing refers to it: a writer's clean-up, allowed), or
    the page's content stream (the page would show nothing: refused)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>"]
    text = b"BT /F1 18 Tf 72 760 Td (Giay phep thu nghiem kyso) Tj ET\n"
    objs.append(b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    # 6: left over from an earlier edit, referred to by nothing.
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>")
    signed = sign_pdf(pdf_from_objects(objs), "signer-rsa", field="Sig1")

    def free(data: bytes, num: int) -> bytes:
        prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
        size = int(re.findall(rb"/Size (\d+)", data)[-1])
        root = re.findall(rb"/Root (\d+ \d+ R)", data)[-1]
        out = bytearray(data)
        x = len(out)
        out += b"xref\n0 1\n%010d 65535 f \n%d 1\n0000000000 00001 f \n" % (num, num)
        out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, prev, x)
        return bytes(out)
    write(f"{OUT}/freed-orphan-object.pdf", free(signed, 6))
    write(f"{OUT}/freed-page-content.pdf", free(signed, 4))


SOFFICE = ["soffice", "--headless", "--invisible", "--norestore", "--nologo"]
TAGGED_HTML = """<html><head><meta charset="utf-8"><title>Đơn đề nghị</title></head><body>
<h1>ĐƠN ĐỀ NGHỊ CẤP GIẤY PHÉP</h1>
<p>Kính gửi: Ủy ban nhân dân tỉnh Thừa Thiên Huế</p>
<p>Họ và tên: Nguyễn Văn An. Số CCCD: 001203004567.</p>
<p>Tôi cam đoan những nội dung trên là đúng sự thật.</p>
</body></html>
"""


def tagged_word_export() -> bytes:
    """A tagged PDF as a word processor exports it: LibreOffice headless
    converts an .odt (itself from HTML) with UseTaggedPDF."""
    with tempfile.TemporaryDirectory() as d:
        lo = SOFFICE + [f"-env:UserInstallation=file://{d}/profile"]
        open(f"{d}/don.html", "w", encoding="utf-8").write(TAGGED_HTML)
        subprocess.run(lo + ["--convert-to", "odt", f"{d}/don.html", "--outdir", d], check=True,
                       capture_output=True)
        subprocess.run(lo + ["--convert-to",
                             'pdf:writer_pdf_Export:{"UseTaggedPDF":{"type":"boolean","value":"true"}}',
                             f"{d}/don.odt", "--outdir", d], check=True, capture_output=True)
        return open(f"{d}/don.pdf", "rb").read()


def tagged_second_signature(signed: bytes, field: str, tamper=None) -> bytes:
    """A second signature as Acrobat-like signers write it on a tagged PDF:
    in one update, the new widget gets a /StructParent, a /Form structure
    element with an object reference (OBJR) to it joins the document
    element, and the parent tree maps the key to that element; then pyHanko
    signs the field. `tamper(w, struct_root)` may change more in the same
    update."""
    w = IncrementalPdfFileWriter(io.BytesIO(signed))
    n = generic.NameObject
    page_ref = w.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    st_ref = w.root.raw_get("/StructTreeRoot")
    st = st_ref.get_object()
    doc_elem_ref = st["/K"].raw_get(0) if isinstance(st["/K"], generic.ArrayObject) else st.raw_get("/K")
    doc_elem = doc_elem_ref.get_object()
    pt_ref = st.raw_get("/ParentTree")
    pt = pt_ref.get_object()
    nums = pt["/Nums"]
    key = max([int(nums[i]) for i in range(0, len(nums), 2)] + [int(page.get("/StructParents", 0))]) + 1
    widget = w.add_object(generic.DictionaryObject({
        n("/Type"): n("/Annot"), n("/Subtype"): n("/Widget"), n("/FT"): n("/Sig"),
        n("/T"): generic.pdf_string(field), n("/Rect"): generic.ArrayObject([generic.NumberObject(0)] * 4),
        n("/F"): generic.NumberObject(132), n("/P"): page_ref,
        n("/StructParent"): generic.NumberObject(key)}))
    elem = w.add_object(generic.DictionaryObject({
        n("/Type"): n("/StructElem"), n("/S"): n("/Form"), n("/P"): doc_elem_ref, n("/Pg"): page_ref,
        n("/K"): generic.DictionaryObject({n("/Type"): n("/OBJR"), n("/Obj"): widget, n("/Pg"): page_ref})}))
    kids = doc_elem["/K"]
    if not isinstance(kids, generic.ArrayObject):
        doc_elem[n("/K")] = kids = generic.ArrayObject([doc_elem.raw_get("/K")])
    kids.append(elem)
    w.mark_update(doc_elem_ref)
    nums.append(generic.NumberObject(key))
    nums.append(elem)
    w.mark_update(pt_ref)
    st[n("/ParentTreeNextKey")] = generic.NumberObject(key + 1)
    w.mark_update(st_ref)
    annots = page.get("/Annots")
    if annots is None:
        page[n("/Annots")] = generic.ArrayObject([widget])
    else:
        page["/Annots"].append(widget)
    w.mark_update(page_ref)
    form_ref = w.root.raw_get("/AcroForm")
    form_ref.get_object()["/Fields"].append(widget)
    if isinstance(form_ref, generic.IndirectObject):
        w.mark_update(form_ref)
    w.update_root()
    if tamper:
        tamper(w, st)
    out = io.BytesIO()
    from make_fixtures import signer_for  # noqa: E402
    from pyhanko.sign import signers
    signers.sign_pdf(w, signers.PdfSignatureMetadata(field_name=field), signer=signer_for("signer-ec"),
                     output=out)
    return out.getvalue()


def tagged_pdfs():
    """Issue 12.4: a tagged PDF from LibreOffice, signed by pyHanko, then a
    second signature that registers its widget in the structure tree
    (allowed); and the same update also changing an existing element's
    alternate text (what a screen reader says: refused)."""
    tagged = tagged_word_export()
    write(f"{OUT}/tagged-word-export.pdf", tagged)
    first = sign_pdf(tagged, "signer-rsa", field="Sig1")
    write(f"{OUT}/tagged-signed.pdf", first)
    write(f"{OUT}/tagged-then-tagged-signature.pdf", tagged_second_signature(first, "Sig2"))

    def alt_text(w, st):
        doc_elem_ref = st["/K"].raw_get(0) if isinstance(st["/K"], generic.ArrayObject) else st.raw_get("/K")
        para_ref = doc_elem_ref.get_object()["/K"].raw_get(1)
        para = para_ref.get_object()
        para[generic.NameObject("/ActualText")] = generic.pdf_string("Tôi không cam đoan gì")
        w.mark_update(para_ref)
    write(f"{OUT}/tagged-signature-and-actualtext-changed.pdf",
          tagged_second_signature(first, "Sig2", tamper=alt_text))


def annotations_after_signing():
    """Issue 12.5: annotations added after an approval signature, by
    pyHanko's writer: a sticky note in the empty bottom margin (over no
    signed content: refused by default, accepted under allow_annotations)
    and a highlight over the signed text (never accepted)."""
    signed = open(f"{PDF}/rsa-pkcs1.pdf", "rb").read()

    def add(subtype, rect, extra):
        def change(w):
            n = generic.NameObject
            page_ref = w.root["/Pages"]["/Kids"].raw_get(0)
            page = page_ref.get_object()
            annot = generic.DictionaryObject({
                n("/Type"): n("/Annot"), n("/Subtype"): n(subtype),
                n("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in rect]),
                n("/Contents"): generic.TextStringObject("Đã xem, cán bộ tiếp nhận"),
                n("/P"): page_ref, **extra})
            aref = w.add_object(annot)
            annots = page.get("/Annots", generic.ArrayObject())
            page[n("/Annots")] = generic.ArrayObject(list(annots) + [aref])
            w.mark_update(page_ref)
        return change
    write(f"{OUT}/annotation-margin-note.pdf",
          edit(signed, add("/Text", (540, 20, 560, 40), {})))
    quad = generic.ArrayObject([generic.FloatObject(v) for v in (70, 780, 400, 780, 70, 755, 400, 755)])
    write(f"{OUT}/annotation-highlight-over-text.pdf",
          edit(signed, add("/Highlight", (70, 755, 400, 780), {generic.NameObject("/QuadPoints"): quad})))


def main():
    os.makedirs(OUT, exist_ok=True)
    # 1. A direct form dictionary, signed by pyHanko (which keeps it direct),
    #    then by kyso; and a form whose /Fields array is an object of its own.
    direct = sign_pdf(direct_form_base(), "signer-rsa", field="Sig1")
    write(f"{OUT}/direct-acroform.pdf", direct)
    write(f"{OUT}/direct-acroform-then-kyso.pdf", kyso_sign(direct, "signer-ec", "KysoSig"))
    arr = sign_pdf(direct_form_base(fields_object=True), "signer-rsa", field="Sig1")
    write(f"{OUT}/fields-object-then-kyso.pdf", kyso_sign(arr, "signer-ec", "KysoSig"))
    acroform_bookkeeping(direct)
    # 2. Enveloping CMS around PDFs.
    signed_pdf_envelopes()
    # 3. PDF 2.0 field locks with a permission (pyHanko signs the locked
    #    field, and signs again where the lock forbids it).
    p1 = sign_pdf(direct_form_base(lock=1), "signer-rsa", field="Sig1")
    write(f"{OUT}/lock-p1-then-signed.pdf", sign_pdf(p1, "signer-ec", field="Sig2"))
    p2 = sign_pdf(direct_form_base(lock=2), "signer-rsa", field="Sig1")
    write(f"{OUT}/lock-p2-then-signed.pdf", sign_pdf(p2, "signer-ec", field="Sig2"))
    # 4. A tagged PDF (LibreOffice) and a second signature registered in
    #    its structure tree; objects freed after signing.
    tagged_pdfs()
    freed_objects()
    # 5. Annotations after signing.
    annotations_after_signing()
    # 7. Broken signature timestamps.
    broken_timestamps()


if __name__ == "__main__":
    main()
