#!/usr/bin/env python3
"""Make the XAdES fixtures of testdata/xml/ with outside tools: Python
`signxml` (XAdES B-B: SignedProperties with SigningTime,
SigningCertificateV2, DataObjectFormat) and pyHanko's offline timestamper
(an RFC 3161 token from certs/test/tsa for B-T). Run from the repository
root with the virtualenv of .ci/run:

    .venv/bin/python testdata/gen/make_xades.py

- xades-bb.xml: an e-form signed by certs/test/signer-rsa, XAdES B-B;
- xades-bt.xml: the same with a SignatureTimeStamp (genTime 2026-10-20)
  over the canonical SignatureValue element (EN 319 132-1 §5.3);
- xades-blt.xml: B-T plus CertificateValues (issuing CA, TSA) and
  RevocationValues (the test PKI's CRLs): verifiable with no caller data;
- xades-bt-foreign-stamp.xml: a timestamp taken from another signature;
- xades-signing-cert-other.xml: signed with signer-rsa's key while KeyInfo
  and SigningCertificateV2 name signer-docsign's certificate;
- xmldsig-rsa-pss.xml (RFC 6931 sha256-rsa-MGF1), xmldsig-ecdsa-sha384.xml
  and xmldsig-hmac.xml (refused: HMAC names no signer): plain XMLDSig
  by signxml.
"""
import asyncio
import base64
import datetime
import hashlib

from asn1crypto import keys, pem, x509
from lxml import etree
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from signxml import SignatureMethod, XMLSigner
from signxml.xades import XAdESDataObjectFormat, XAdESSigner

OUT = "testdata/xml"
TEST = "certs/test"
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"


def read(p):
    with open(p, "rb") as f:
        return f.read()


def form():
    return etree.fromstring(
        "<ToKhai><NoiDung><ThuTuc>1.004227</ThuTuc><YeuCau>Cấp giấy phép kinh doanh</YeuCau></NoiDung>"
        "<NguoiNop><HoTen>Nguyễn Văn An</HoTen><SoCCCD>001203004567</SoCCCD></NguoiNop></ToKhai>".encode()
    )


def sign(key_stem, cert_stem):
    signer = XAdESSigner(
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm=C14N,
        data_object_format=XAdESDataObjectFormat(Description="Tờ khai", MimeType="text/xml"),
    )
    return signer.sign(form(), key=read(f"{TEST}/{key_stem}.key.pem"), cert=read(f"{TEST}/{cert_stem}.pem"))


def der_of(path):
    data = read(path)
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return data


def token_over(data):
    tsa = x509.Certificate.load(der_of(f"{TEST}/tsa.pem"))
    key = keys.PrivateKeyInfo.load(der_of(f"{TEST}/tsa.key.pem"))
    stamper = DummyTimeStamper(
        tsa_cert=tsa, tsa_key=key, fixed_dt=datetime.datetime(2026, 10, 20, 8, 0, tzinfo=datetime.timezone.utc)
    )
    digest = hashlib.sha256(data).digest()
    return asyncio.run(stamper.async_timestamp(digest, "sha256")).dump()


def add_timestamp(sig, token=None):
    sv = sig.find(f"{{{DS}}}SignatureValue")
    stamped = etree.tostring(sv, method="c14n")
    token = token or token_over(stamped)
    qp = sig.find(f".//{{{XADES}}}QualifyingProperties")
    up = etree.SubElement(qp, f"{{{XADES}}}UnsignedProperties")
    usp = etree.SubElement(up, f"{{{XADES}}}UnsignedSignatureProperties")
    ts = etree.SubElement(usp, f"{{{XADES}}}SignatureTimeStamp")
    etree.SubElement(ts, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N)
    etree.SubElement(ts, f"{{{XADES}}}EncapsulatedTimeStamp").text = base64.b64encode(token).decode()
    return token


def add_values(sig):
    """B-LT: the issuing CA's certificate and both CRLs in the signature."""
    usp = sig.find(f".//{{{XADES}}}UnsignedSignatureProperties")
    cv = etree.SubElement(usp, f"{{{XADES}}}CertificateValues")
    for c in ["issuing-ca.pem", "tsa.pem"]:
        etree.SubElement(cv, f"{{{XADES}}}EncapsulatedX509Certificate").text = base64.b64encode(
            der_of(f"{TEST}/{c}")
        ).decode()
    rv = etree.SubElement(usp, f"{{{XADES}}}RevocationValues")
    crls = etree.SubElement(rv, f"{{{XADES}}}CRLValues")
    for c in ["root.crl", "issuing-ca.crl"]:
        etree.SubElement(crls, f"{{{XADES}}}EncapsulatedCRLValue").text = base64.b64encode(
            der_of(f"testdata/revocation/{c}")
        ).decode()


def write(name, root):
    with open(f"{OUT}/{name}", "wb") as f:
        f.write(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def main():
    bb = sign("signer-rsa", "signer-rsa")
    write("xades-bb.xml", bb)
    bt = sign("signer-rsa", "signer-rsa")
    add_timestamp(bt.find(f"{{{DS}}}Signature"))
    write("xades-bt.xml", bt)
    lt = sign("signer-rsa", "signer-rsa")
    add_timestamp(lt.find(f"{{{DS}}}Signature"))
    add_values(lt.find(f"{{{DS}}}Signature"))
    write("xades-blt.xml", lt)
    other = sign("signer-rsa", "signer-rsa")
    foreign = token_over(etree.tostring(other.find(f".//{{{DS}}}SignatureValue"), method="c14n"))
    victim = sign("signer-rsa", "signer-rsa")
    add_timestamp(victim.find(f"{{{DS}}}Signature"), foreign)
    write("xades-bt-foreign-stamp.xml", victim)
    signer = XAdESSigner(signature_algorithm="rsa-sha256", digest_algorithm="sha256", c14n_algorithm=C14N)
    wrong = signer.sign(form(), key=read(f"{TEST}/signer-rsa.key.pem"), cert=read(f"{TEST}/signer-docsign.pem"))
    write("xades-signing-cert-other.xml", wrong)
    for name, method, stem in [
        ("xmldsig-rsa-pss.xml", SignatureMethod.SHA256_RSA_MGF1, "signer-rsa"),
        ("xmldsig-ecdsa-sha384.xml", SignatureMethod.ECDSA_SHA384, "signer-ec"),
    ]:
        plain = XMLSigner(signature_algorithm=method, digest_algorithm="sha256", c14n_algorithm=C14N)
        write(name, plain.sign(form(), key=read(f"{TEST}/{stem}.key.pem"), cert=read(f"{TEST}/{stem}.pem")))
    hmac = XMLSigner(signature_algorithm=SignatureMethod.HMAC_SHA256, digest_algorithm="sha256", c14n_algorithm=C14N)
    write("xmldsig-hmac.xml", hmac.sign(form(), key=b"shared secret of the portal"))


if __name__ == "__main__":
    main()
