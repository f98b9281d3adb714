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


def invoice(amount, seller_sig, cqt_sig):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<HDon>"
        '<DLHDon Id="DLHDon-1">'
        "<TTChung><PBan>2.0.1</PBan><KHHDon>C26TKS</KHHDon><SHDon>42</SHDon><NLap>2026-06-01</NLap></TTChung>"
        "<NDHDon><NBan><Ten>Công ty TNHH Kiểm Thử Ký Số</Ten><MST>0101234567</MST></NBan>"
        "<NMua><Ten>Nguyễn Văn A</Ten><MST>0109876543</MST></NMua></NDHDon>"
        f"<TToan><TgTTTBSo>{amount}</TgTTTBSo><TgTTTBChu>Một triệu một trăm nghìn đồng</TgTTTBChu></TToan>"
        "</DLHDon>"
        '<MCCQT Id="MCCQT-1">00A1B2C3D4E5F60718293A4B5C6D7E8F90</MCCQT>'
        f"<DSCKS><NBan>{seller_sig}</NBan><NMua/><CQT>{cqt_sig}</CQT></DSCKS>"
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
        seller = sig_template("seller", [("DLHDon-1", True), ("seller-time", False)])
        doc = invoice("1100000", seller, "").replace("</NDHDon>", "</NDHDon>" + items, 1)
        doc = xmlsec_sign(
            doc, "testdata/live/keys/signer-good.key.pem", "testdata/live/certs/signer-good.pem", "seller"
        )
        with open(os.path.join(out_dir, f"invoice-{mb}mb.xml"), "w", encoding="utf-8") as f:
            f.write(doc)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--big":
        big(sys.argv[2], [float(x) if "." in x else int(x) for x in sys.argv[3:]])
        return
    os.makedirs(OUT, exist_ok=True)
    seller = sig_template("seller", [("DLHDon-1", True), ("seller-time", False)])
    cqt = sig_template("cqt", [("DLHDon-1", False), ("MCCQT-1", False), ("cqt-time", False)])
    doc = invoice("1100000", seller, cqt)
    keys = "testdata/live/keys"
    certs = "testdata/live/certs"
    doc = xmlsec_sign(doc, f"{keys}/signer-good.key.pem", f"{certs}/signer-good.pem", "seller")
    doc = xmlsec_sign(doc, f"{keys}/signer-slow.key.pem", f"{certs}/signer-slow.pem", "cqt")
    variants = {"invoice-honest.xml": doc}
    # The amount changed after signing.
    variants["invoice-amount-changed.xml"] = doc.replace(
        "<TgTTTBSo>1100000<", "<TgTTTBSo>9100000<"
    )
    # Wrapping: a forged DLHDon with the same Id placed first; the signed
    # one kept further down for the digest.
    forged = doc[doc.index('<DLHDon Id="DLHDon-1">') : doc.index("</DLHDon>") + 9].replace(
        "1100000", "9100000"
    )
    variants["invoice-wrapped-duplicate-id.xml"] = doc.replace(
        "<HDon>", "<HDon>" + forged, 1
    )
    # The seller's signature moved into another invoice with the same Id.
    sig = doc[doc.index("<NBan><Signature") + 6 : doc.index("</Signature></NBan>") + 12]
    other = invoice("2200000", "", "")
    variants["invoice-signature-moved.xml"] = other.replace("<NBan></NBan>", f"<NBan>{sig}</NBan>", 1).replace(
        "<CQT></CQT>", "<CQT/>"
    )
    # Pretty-printed after signing (whitespace inside the signed data).
    variants["invoice-reindented.xml"] = doc.replace("<TTChung>", "\n    <TTChung>", 1)
    # The seller's SigningTime Object stripped.
    s0 = doc.index('<Object Id="seller-time">')
    s1 = doc.index("</Object>", s0) + 9
    variants["invoice-signing-time-stripped.xml"] = doc[:s0] + doc[s1:]
    # A byte of the seller's SignatureValue changed.
    v0 = doc.index("<SignatureValue>") + len("<SignatureValue>")
    c = doc[v0 + 10]
    variants["invoice-signature-value-altered.xml"] = (
        doc[: v0 + 10] + ("A" if c != "A" else "B") + doc[v0 + 11 :]
    )
    for name, text in variants.items():
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            f.write(text)
    print(f"wrote {len(variants)} files to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
