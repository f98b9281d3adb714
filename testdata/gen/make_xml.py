#!/usr/bin/env python3
"""Make the signed-XML fixtures of testdata/xml/ with an outside signer:
the xmlsec1 CLI (apt `xmlsec1`) and the test PKI's keys (certs/test).
Run from the repository root:

    python3 testdata/gen/make_xml.py
    python3 testdata/gen/make_xml.py --big DIR 1 50    # benches/xml.sh

- invoice-honest.xml: an e-invoice shaped like the Circular 78 layout
  (HDon / DLHDon / DSCKS), signed by the seller (DSCKS/NBan, references
  #DLHDon's Id and its own SigningTime Object) and by a "tax authority"
  test key (DSCKS/CQT, references DLHDon, MCCQT and its SigningTime);
- the tampered variants below, made by editing the signed bytes the way an
  attacker would; testdata/xml/EXPECTED.tsv says what kyso must answer.
"""
import os
import subprocess
import sys
import tempfile

OUT = "testdata/xml"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
TEST = "certs/test"
# The seller: certs/test/signer-ec (P-256, UID=MST:0100686209-001, a
# branch's tax code); the tax authority: signer-docsign (RSA); the e-form
# applicant: signer-rsa (UID=CCCD:001203004567).
SELLER = (f"{TEST}/signer-ec.key.pem", f"{TEST}/signer-ec.pem")
CQT = (f"{TEST}/signer-docsign.key.pem", f"{TEST}/signer-docsign.pem")
APPLICANT = (f"{TEST}/signer-rsa.key.pem", f"{TEST}/signer-rsa.pem")
SELLER_MST = "0100686209-001"


def sig_template(sig_id, refs, method=RSA_SHA256, time_object=True):
    r = "".join(
        f'<Reference URI="#{u}">'
        + (
            '<Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></Transforms>'
            if env
            else ""
        )
        + '<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue></DigestValue></Reference>'
        for u, env in refs
    )
    return (
        f'<Signature xmlns="{DSIG}" Id="{sig_id}"><SignedInfo>'
        '<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        f'<SignatureMethod Algorithm="{method}"/>'
        f"{r}</SignedInfo><SignatureValue></SignatureValue>"
        "<KeyInfo><X509Data><X509Certificate></X509Certificate></X509Data></KeyInfo>"
        + (
            f'<Object Id="{sig_id}-time"><SignatureProperties><SignatureProperty Target="#{sig_id}">'
            "<SigningTime>2026-06-01T09:32:18</SigningTime>"
            "</SignatureProperty></SignatureProperties></Object>"
            if time_object
            else ""
        )
        + "</Signature>"
    )


def invoice(amount, seller_sig, cqt_sig, mst=SELLER_MST, with_code=True):
    code = '<MCCQT Id="MCCQT-1">00A1B2C3D4E5F60718293A4B5C6D7E8F90</MCCQT>' if with_code else ""
    khhd = "C26TKS" if with_code else "K26TKS"
    cqt = f"<CQT>{cqt_sig}</CQT>" if with_code else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<HDon>"
        '<DLHDon Id="DLHDon-1">'
        f"<TTChung><PBan>2.0.1</PBan><KHHDon>{khhd}</KHHDon><SHDon>42</SHDon><NLap>2026-06-01</NLap></TTChung>"
        f"<NDHDon><NBan><Ten>Công ty TNHH Kiểm Thử Ký Số</Ten><MST>{mst}</MST></NBan>"
        "<NMua><Ten>Nguyễn Văn A</Ten><MST>0109876543</MST></NMua></NDHDon>"
        f"<TToan><TgTTTBSo>{amount}</TgTTTBSo><TgTTTBChu>Một triệu một trăm nghìn đồng</TgTTTBChu></TToan>"
        "</DLHDon>"
        f"{code}"
        f"<DSCKS><NBan>{seller_sig}</NBan><NMua/>{cqt}</DSCKS>"
        "</HDon>"
    )




def xmlsec_sign(text, key, cert, node_id):
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "in.xml")
        dst = os.path.join(d, "out.xml")
        with open(src, "w", encoding="utf-8") as f:
            f.write(text)
        subprocess.run(
            [
                "xmlsec1", "--sign", "--privkey-pem", f"{key},{cert}",
                "--id-attr:Id", "DLHDon", "--id-attr:Id", "MCCQT",
                "--id-attr:Id", f"{DSIG}:Object", "--id-attr:Id", f"{DSIG}:Signature",
                "--node-id", node_id, "--output", dst, src,
            ],
            check=True,
        )
        with open(dst, encoding="utf-8") as f:
            return f.read()


def big(out_dir, sizes_mb):
    """Large invoices for benches/xml.sh: N line items (HHDVu) in DLHDon,
    signed by the seller with xmlsec1."""
    os.makedirs(out_dir, exist_ok=True)
    item = (
        "<HHDVu><TChat>1</TChat><STT>{i}</STT><THHDVu>Hàng hóa kiểm thử số {i}</THHDVu>"
        "<DVTinh>cái</DVTinh><SLuong>3</SLuong><DGia>100000</DGia><ThTien>300000</ThTien>"
        "<TSuat>10%</TSuat></HHDVu>"
    )
    one = len(item.format(i=100000).encode())
    for mb in sizes_mb:
        n = int(mb * 1e6 / one)
        items = "<DSHHDVu>" + "".join(item.format(i=i) for i in range(n)) + "</DSHHDVu>"
        seller = sig_template("seller", [("DLHDon-1", True), ("seller-time", False)], ECDSA_SHA256)
        doc = invoice("1100000", seller, "", with_code=False).replace("</NDHDon>", "</NDHDon>" + items, 1)
        # The seller's key: the invoice passes its e-invoice profile too.
        doc = xmlsec_sign(doc, *SELLER, "seller")
        with open(os.path.join(out_dir, f"invoice-{mb}mb.xml"), "w", encoding="utf-8") as f:
            f.write(doc)


def signed_invoice(amount="1100000", mst=SELLER_MST, with_code=True):
    seller = sig_template("seller", [("DLHDon-1", True), ("seller-time", False)], ECDSA_SHA256)
    cqt = sig_template("cqt", [("DLHDon-1", False), ("MCCQT-1", False), ("cqt-time", False)])
    doc = invoice(amount, seller, cqt if with_code else "", mst, with_code)
    doc = xmlsec_sign(doc, *SELLER, "seller")
    if with_code:
        doc = xmlsec_sign(doc, *CQT, "cqt")
    return doc


def eform(cccd):
    """An application form (tờ khai) signed by the applicant over the whole
    document (URI="", enveloped)."""
    sig = sig_template("applicant", [], RSA_SHA256, time_object=False).replace(
        "</SignedInfo>",
        '<Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        '</Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue></DigestValue>'
        "</Reference></SignedInfo>",
    )
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ToKhai><NoiDung><ThuTuc>1.004227</ThuTuc><YeuCau>Cấp giấy phép kinh doanh</YeuCau></NoiDung>'
        f"<NguoiNop><HoTen>Nguyễn Văn An</HoTen><SoCCCD>{cccd}</SoCCCD></NguoiNop>{sig}</ToKhai>"
    )
    return xmlsec_sign(doc, *APPLICANT, "applicant")


def between(doc, start, end):
    """The text from `start` (included) to the first `end` after it (included)."""
    i = doc.index(start)
    return doc[i : doc.index(end, i) + len(end)]


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--big":
        big(sys.argv[2], [float(x) if "." in x else int(x) for x in sys.argv[3:]])
        return
    os.makedirs(OUT, exist_ok=True)
    doc = signed_invoice()
    v = {"invoice-honest.xml": doc}
    # Honest counterparts: the invoice inside a GDT transport message, a
    # branch's invoice signed with its company's certificate, an invoice
    # without a tax-authority code (seller only).
    body = doc.split("\n", 1)[1]
    v["invoice-in-tdiep.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<TDiep><TTChung><MLTDiep>200</MLTDiep></TTChung>'
        f"<DLieu>{body}</DLieu></TDiep>"
    )
    # The company's own tax code on a branch's invoice.
    v["invoice-branch-mst.xml"] = signed_invoice(mst="0100686209")
    v["invoice-without-code.xml"] = signed_invoice(with_code=False)
    # A valid signature over an invoice naming another seller's tax code.
    v["invoice-other-seller-mst.xml"] = signed_invoice(mst="0109999999")

    # Tampering.
    v["invoice-amount-changed.xml"] = doc.replace("<TgTTTBSo>1100000<", "<TgTTTBSo>9100000<")
    sig = between(doc, "<Signature", "</Signature>")
    other = invoice("2200000", "", "")
    v["invoice-signature-moved.xml"] = other.replace("<NBan></NBan>", f"<NBan>{sig}</NBan>", 1).replace(
        "<CQT></CQT>", "<CQT/>"
    )
    v["invoice-reindented.xml"] = doc.replace("<TTChung>", "\n    <TTChung>", 1)
    st = between(doc, '<Object Id="seller-time">', "</Object>")
    v["invoice-signing-time-stripped.xml"] = doc.replace(st, "", 1)
    v0 = doc.index("<SignatureValue>") + len("<SignatureValue>")
    c = doc[v0 + 10]
    v["invoice-signature-value-altered.xml"] = doc[: v0 + 10] + ("A" if c != "A" else "B") + doc[v0 + 11 :]

    # Signature wrapping (XSW): the application reads one DLHDon, the
    # signature covers another.
    dl = between(doc, '<DLHDon Id="DLHDon-1">', "</DLHDon>")
    forged = dl.replace("1100000", "9100000")
    forged_no_id = forged.replace(' Id="DLHDon-1"', "", 1)
    seller_end = doc.index("</Signature>")  # the seller's signature comes first
    # The signed original hidden in the tax authority's Signature (no
    # enveloped transform there), undeclaring the dsig default namespace so
    # that its canonical form, and both digests, stay the same.
    def hide_in_object(d, x):
        x = x.replace("<DLHDon ", '<DLHDon xmlns="" ', 1)
        i = d.rindex("</Signature>")
        return d[:i] + f'<Object Id="hidden">{x}</Object>' + d[i:]
    v["wrap-01-duplicate-id-first.xml"] = doc.replace("<HDon>", "<HDon>" + forged, 1)
    v["wrap-02-forged-sibling-other-id.xml"] = doc.replace(
        "<HDon>", "<HDon>" + forged.replace('Id="DLHDon-1"', 'Id="DLHDon-2"'), 1
    )
    v["wrap-03-original-in-object.xml"] = hide_in_object(doc.replace(dl, forged_no_id, 1), dl)
    v["wrap-04-original-in-wrapper.xml"] = doc.replace(dl, forged_no_id, 1).replace(
        "</DSCKS>", f"</DSCKS><Extra>{dl}</Extra>", 1
    )
    v["wrap-05-original-in-buyer-slot.xml"] = doc.replace(dl, forged_no_id, 1).replace(
        "<NMua/>", f"<NMua>{dl}</NMua>", 1
    )
    v["wrap-06-whole-invoice-nested.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<HDon>'
        f"{forged_no_id}<Extra>{body}</Extra></HDon>"
    )
    v["wrap-07-uppercase-ID.xml"] = doc.replace(
        "<HDon>", "<HDon>" + forged.replace(' Id="DLHDon-1"', ' ID="DLHDon-1"'), 1
    )
    v["wrap-08-lowercase-id.xml"] = doc.replace(
        "<HDon>", "<HDon>" + forged.replace(' Id="DLHDon-1"', ' id="DLHDon-1"'), 1
    )
    v["wrap-09-namespaced-forgery.xml"] = hide_in_object(
        doc.replace(
            dl,
            forged_no_id.replace("<DLHDon>", '<e:DLHDon xmlns:e="urn:forged">', 1).replace(
                "</DLHDon>", "</e:DLHDon>"
            ),
            1,
        ),
        dl,
    )
    unsigned_time = (
        "<Object><SignatureProperties><SignatureProperty><SigningTime>2020-01-01T00:00:00</SigningTime>"
        "</SignatureProperty></SignatureProperties></Object>"
    )
    v["wrap-10-unsigned-signing-time-first.xml"] = doc.replace(
        '<Object Id="seller-time">', unsigned_time + '<Object Id="seller-time">', 1
    )
    cqt_sig = between(doc, '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="cqt"', "</Signature>")
    v["wrap-11-roles-swapped.xml"] = (
        doc.replace(sig, "@@SELLER@@", 1).replace(cqt_sig, sig, 1).replace("@@SELLER@@", cqt_sig, 1)
    )
    v["wrap-12-forged-mccqt.xml"] = doc.replace(
        "<DSCKS>", "<MCCQT>FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF</MCCQT><DSCKS>", 1
    )
    assert seller_end > 0
    # e-forms: the applicant's own, and one naming someone else.
    v["eform-honest.xml"] = eform("001203004567")
    v["eform-other-applicant.xml"] = eform("001099000111")
    for name, text in v.items():
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            f.write(text)
    print(f"wrote {len(v)} files to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
