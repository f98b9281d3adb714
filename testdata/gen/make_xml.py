#!/usr/bin/env python3
"""Make the signed-XML fixtures of testdata/xml/ with an outside signer:
the xmlsec1 CLI (apt `xmlsec1`) and the live test PKI's keys
(testdata/live/keys, certs). Run from the repository root:

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


def sig_template(sig_id, refs):
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
        '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        f"{r}</SignedInfo><SignatureValue></SignatureValue>"
        "<KeyInfo><X509Data><X509Certificate></X509Certificate></X509Data></KeyInfo>"
        f'<Object Id="{sig_id}-time"><SignatureProperties><SignatureProperty Target="#{sig_id}">'
        "<SigningTime>2026-06-01T09:32:18</SigningTime>"
        "</SignatureProperty></SignatureProperties></Object></Signature>"
    )


def invoice(amount, seller_sig, cqt_sig, mst="0101234567", with_code=True):
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


KEYS = f"{OUT}/keys"


def make_cert(name, subject, days=8000):
    """A signer key and certificate issued by the live PKI's issuing CA
    (OpenSSL CLI), with the identity in the subject's UID (MST:...)."""
    key, crt = f"{KEYS}/{name}.key.pem", f"{KEYS}/{name}.pem"
    if os.path.exists(crt):
        return key, crt
    os.makedirs(KEYS, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write(
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,nonRepudiation\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
            )
        csr = os.path.join(d, "req.csr")
        subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
        subprocess.run(
            ["openssl", "req", "-new", "-key", key, "-utf8", "-subj", subject, "-out", csr],
            check=True,
        )
        subprocess.run(
            [
                "openssl", "x509", "-req", "-in", csr, "-CA", "testdata/live/certs/interm.pem",
                "-CAkey", "testdata/live/keys/interm.key.pem", "-CAcreateserial", "-days", str(days),
                "-sha256", "-extfile", ext, "-out", crt, "-set_serial", str(int.from_bytes(os.urandom(8), "big")),
            ],
            check=True,
            capture_output=True,
        )
    return key, crt


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
        seller = sig_template("seller", [("DLHDon-1", True), ("seller-time", False)])
        doc = invoice("1100000", seller, "").replace("</NDHDon>", "</NDHDon>" + items, 1)
        doc = xmlsec_sign(
            doc, "testdata/live/keys/signer-good.key.pem", "testdata/live/certs/signer-good.pem", "seller"
        )
        with open(os.path.join(out_dir, f"invoice-{mb}mb.xml"), "w", encoding="utf-8") as f:
            f.write(doc)


def signed_invoice(amount="1100000", mst="0101234567", with_code=True):
    seller_key = make_cert(
        "seller", "/C=VN/O=Công ty TNHH Kiểm Thử Ký Số/CN=Công ty TNHH Kiểm Thử Ký Số/UID=MST:0101234567"
    )
    cqt_key = make_cert("tax-authority", "/C=VN/O=Tổng cục Thuế (thử nghiệm)/CN=Cục Thuế thử nghiệm/UID=MST:0100000001")
    seller = sig_template("seller", [("DLHDon-1", True), ("seller-time", False)])
    cqt = sig_template("cqt", [("DLHDon-1", False), ("MCCQT-1", False), ("cqt-time", False)])
    doc = invoice(amount, seller, cqt if with_code else "", mst, with_code)
    doc = xmlsec_sign(doc, *seller_key, "seller")
    if with_code:
        doc = xmlsec_sign(doc, *cqt_key, "cqt")
    return doc


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
    v["invoice-branch-mst.xml"] = signed_invoice(mst="0101234567-001")
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
    for name, text in v.items():
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            f.write(text)
    print(f"wrote {len(v)} files to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
