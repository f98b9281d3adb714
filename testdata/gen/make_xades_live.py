#!/usr/bin/env python3
"""Make the XAdES fixtures of testdata/live/ against the live test PKI
(testdata/live/certomancer.yml, started here as make_live.py does): Python
`signxml` signs (XAdES B-B), certomancer's TSAs stamp, its OCSP responder and
CRL repository give the validation data. Run from the repository root with the
virtualenv of .ci/run (plus `pip install signxml`):

    .venv/bin/python testdata/gen/make_xades_live.py

- xades-bt.xml: B-T (SignatureTimeStamp of the live TSA);
- xades-blt.xml: B-LT: plus CertificateValues (issuing CA, TSA) and
  RevocationValues (live OCSP responses for the signer and the TSA, the root's
  CRL for the issuing CA);
- xades-blta.xml: B-LTA: plus a v1.4.1 ArchiveTimeStamp of the live TSA;
- xades-blt-short-tsa.xml: B-LT whose signature timestamp comes from the TSA
  whose certificate expires on 2026-12-15; xades-blta-chain.xml: the same with
  an ArchiveTimeStamp of the long-lived TSA, so that validation after
  2026-12-15 needs the archive-timestamp chain (the long-lived TSA's
  certificate and OCSP response follow in a v1.4.1 TimeStampValidationData);
- xades-blta-altered.xml: xades-blta.xml with a certificate added to
  CertificateValues after it was archive-stamped.

The ArchiveTimeStamp input (ETSI EN 319 132-1 §5.5.2.2, no Include) is
computed here independently of kyso: each Reference's transformed octets as
signxml's verifier returns them, then SignedInfo, SignatureValue, KeyInfo, the
unsigned signature properties before the timestamp and the other Objects,
each canonicalized by lxml (C14N 1.0).
"""
import asyncio
import base64
import hashlib
import os
import sys
import urllib.request

from asn1crypto import ocsp, pem
from lxml import etree
from pyhanko.sign import timestamps
from signxml import XMLVerifier
from signxml.xades import XAdESDataObjectFormat, XAdESSigner

sys.path.insert(0, os.path.dirname(__file__))
from make_live import BASE, LIVE, arch_of, serve  # noqa: E402
from make_xades import C14N, DS, XADES, form  # noqa: E402

XADES141 = "http://uri.etsi.org/01903/v1.4.1#"


def pem_cert(c):
    return pem.armor("CERTIFICATE", c.dump())


def sign(arch):
    signer = XAdESSigner(
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm=C14N,
        data_object_format=XAdESDataObjectFormat(Description="Tờ khai", MimeType="text/xml"),
    )
    key = pem.armor("PRIVATE KEY", arch.key_set.get_private_key("signer-good").dump())
    return signer.sign(form(), key=key, cert=pem_cert(arch.get_cert("signer-good")))


def stamp(tsa, data):
    digest = hashlib.sha256(data).digest()
    return asyncio.run(tsa.async_timestamp(digest, "sha256")).dump()


def c14n(el):
    return etree.tostring(el, method="c14n", exclusive=False, with_comments=False)


def usp_of(sig):
    qp = sig.find(f".//{{{XADES}}}QualifyingProperties")
    up = qp.find(f"{{{XADES}}}UnsignedProperties")
    if up is None:
        up = etree.SubElement(qp, f"{{{XADES}}}UnsignedProperties")
        etree.SubElement(up, f"{{{XADES}}}UnsignedSignatureProperties")
    return up.find(f"{{{XADES}}}UnsignedSignatureProperties")


def add_timestamp(sig, tsa):
    ts = etree.SubElement(usp_of(sig), f"{{{XADES}}}SignatureTimeStamp")
    etree.SubElement(ts, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N)
    token = stamp(tsa, c14n(sig.find(f"{{{DS}}}SignatureValue")))
    etree.SubElement(ts, f"{{{XADES}}}EncapsulatedTimeStamp").text = base64.b64encode(token).decode()


def fetch_ocsp(cert, issuer):
    req = ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": {
        "hash_algorithm": {"algorithm": "sha1"},
        "issuer_name_hash": issuer.subject.sha1,
        "issuer_key_hash": issuer.public_key.sha1,
        "serial_number": cert.serial_number,
    }}]}})
    http = urllib.request.Request(cert.ocsp_urls[0], data=req.dump(),
                                  headers={"Content-Type": "application/ocsp-request"})
    with urllib.request.urlopen(http, timeout=10) as r:
        return r.read()


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


def add_values(sig, arch, tsa_label):
    """B-LT: what validates the signer and the signature timestamp's TSA."""
    usp = usp_of(sig)
    interm = arch.get_cert("interm")
    cv = etree.SubElement(usp, f"{{{XADES}}}CertificateValues")
    for label in ("interm", tsa_label, "ocsp"):
        etree.SubElement(cv, f"{{{XADES}}}EncapsulatedX509Certificate").text = base64.b64encode(
            arch.get_cert(label).dump()).decode()
    rv = etree.SubElement(usp, f"{{{XADES}}}RevocationValues")
    crls = etree.SubElement(rv, f"{{{XADES}}}CRLValues")
    etree.SubElement(crls, f"{{{XADES}}}EncapsulatedCRLValue").text = base64.b64encode(
        fetch(f"{BASE}/crls/root/latest.crl")).decode()
    ocsps = etree.SubElement(rv, f"{{{XADES}}}OCSPValues")
    for label in ("signer-good", tsa_label):
        etree.SubElement(ocsps, f"{{{XADES}}}EncapsulatedOCSPValue").text = base64.b64encode(
            fetch_ocsp(arch.get_cert(label), interm)).decode()


def archive_input(root, sig, arch):
    """EN 319 132-1 §5.5.2.2 for an ArchiveTimeStamp appended now."""
    refs = len(sig.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference"))
    results = XMLVerifier().verify(root, x509_cert=pem_cert(arch.get_cert("signer-good")).decode(),
                                   expect_references=refs)
    # signxml returns the signed data of every reference in SignedInfo order.
    out = b"".join(r.signed_data for r in results)
    out += c14n(sig.find(f"{{{DS}}}SignedInfo"))
    out += c14n(sig.find(f"{{{DS}}}SignatureValue"))
    ki = sig.find(f"{{{DS}}}KeyInfo")
    if ki is not None:
        out += c14n(ki)
    for c in usp_of(sig):
        out += c14n(c)
    qp_object = sig.find(f".//{{{XADES}}}QualifyingProperties").getparent()
    for o in sig.findall(f"{{{DS}}}Object"):
        if o is not qp_object:
            out += c14n(o)
    return out


def add_archive_timestamp(root, sig, arch, tsa):
    data = archive_input(root, sig, arch)
    ats = etree.SubElement(usp_of(sig), f"{{{XADES141}}}ArchiveTimeStamp", nsmap={"xades141": XADES141})
    etree.SubElement(ats, f"{{{DS}}}CanonicalizationMethod", Algorithm=C14N)
    etree.SubElement(ats, f"{{{XADES}}}EncapsulatedTimeStamp").text = base64.b64encode(stamp(tsa, data)).decode()


def write(name, root):
    with open(f"{LIVE}/{name}", "wb") as f:
        f.write(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def signature(root):
    return root.find(f"{{{DS}}}Signature")


def main():
    arch = arch_of()
    with serve():
        tsa = timestamps.HTTPTimeStamper(f"{BASE}/tsa/tsa")
        short = timestamps.HTTPTimeStamper(f"{BASE}/tsa/tsa-short")
        bt = sign(arch)
        add_timestamp(signature(bt), tsa)
        write("xades-bt.xml", bt)
        add_values(signature(bt), arch, "tsa")
        write("xades-blt.xml", bt)
        add_archive_timestamp(bt, signature(bt), arch, tsa)
        write("xades-blta.xml", bt)
        cv = signature(bt).find(f".//{{{XADES}}}CertificateValues")
        etree.SubElement(cv, f"{{{XADES}}}EncapsulatedX509Certificate").text = base64.b64encode(
            arch.get_cert("root").dump()).decode()
        write("xades-blta-altered.xml", bt)
        chain = sign(arch)
        add_timestamp(signature(chain), short)
        add_values(signature(chain), arch, "tsa-short")
        write("xades-blt-short-tsa.xml", chain)
        add_archive_timestamp(chain, signature(chain), arch, tsa)
        # The archive timestamp's own TSA, validated after it (v1.4.1).
        tvd = etree.SubElement(usp_of(signature(chain)), f"{{{XADES141}}}TimeStampValidationData",
                               nsmap={"xades141": XADES141})
        cv = etree.SubElement(tvd, f"{{{XADES}}}CertificateValues")
        etree.SubElement(cv, f"{{{XADES}}}EncapsulatedX509Certificate").text = base64.b64encode(
            arch.get_cert("tsa").dump()).decode()
        rv = etree.SubElement(tvd, f"{{{XADES}}}RevocationValues")
        ocsps = etree.SubElement(rv, f"{{{XADES}}}OCSPValues")
        etree.SubElement(ocsps, f"{{{XADES}}}EncapsulatedOCSPValue").text = base64.b64encode(
            fetch_ocsp(arch.get_cert("tsa"), arch.get_cert("interm"))).decode()
        write("xades-blta-chain.xml", chain)


if __name__ == "__main__":
    main()
