#!/usr/bin/env python3
"""Make kyso's test PKI (root -> issuing CA -> signers) with `cryptography`.

Writes PEM certificates and PKCS#8 keys into certs/test/. Test keys only:
they protect nothing and are committed so that fixtures can be regenerated.
"""
import datetime as dt
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

OUT = sys.argv[1] if len(sys.argv) > 1 else "certs/test"
REV = sys.argv[2] if len(sys.argv) > 2 else "testdata/revocation"
UTC = dt.timezone.utc
LONG = (dt.datetime(2019, 1, 1, tzinfo=UTC), dt.datetime(2045, 1, 1, tzinfo=UTC))
DOC_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")


def name(cn, o="kyso test PKI", uid=None, serial=None):
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
             x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Hà Nội"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, o)]
    if uid:
        attrs.append(x509.NameAttribute(NameOID.USER_ID, uid))
    if serial:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def rsa_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def save(stem, cert, key=None):
    with open(os.path.join(OUT, stem + ".pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        with open(os.path.join(OUT, stem + ".key.pem"), "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))


def build(subject, issuer_name, issuer_key, pub, validity=LONG, ca=False, pathlen=None, ku=None, eku=None,
          serial=None, hash_alg=hashes.SHA256(), ski_of=None, eku_critical=False, nocheck=False):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(pub)
         .serial_number(serial or x509.random_serial_number())
         .not_valid_before(validity[0]).not_valid_after(validity[1]))
    b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen), critical=True)
    if ca:
        ku = ku or dict(digital_signature=False, key_cert_sign=True, crl_sign=True)
    ku = ku or dict(digital_signature=True, content_commitment=True)
    full = dict(digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False)
    full.update(ku)
    b = b.add_extension(x509.KeyUsage(**full), critical=True)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=eku_critical)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    if nocheck:
        b = b.add_extension(x509.OCSPNoCheck(), critical=False)
    if ski_of is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ski_of), critical=False)
    return b.sign(issuer_key, hash_alg)


def main():
    os.makedirs(OUT, exist_ok=True)
    root_key = rsa_key(3072)
    root_name = name("kyso Test Root CA")
    root = build(root_name, root_name, root_key, root_key.public_key(), ca=True, pathlen=1)
    save("root", root, root_key)

    ca_key = rsa_key(2048)
    ca_name = name("kyso Test Issuing CA")
    ca = build(ca_name, root_name, root_key, ca_key.public_key(), ca=True, pathlen=0, ski_of=root_key.public_key())
    save("issuing-ca", ca, ca_key)

    other_key = rsa_key(2048)
    other_name = name("kyso Other Root CA", o="Unrelated PKI")
    save("other-root", build(other_name, other_name, other_key, other_key.public_key(), ca=True), other_key)
    # A TSA under the unrelated root: its timestamps are not trusted.
    tsa_other_key = rsa_key()
    save("tsa-other", build(name("Other TSA", o="Unrelated PKI"), other_name, other_key, tsa_other_key.public_key(),
                            eku=[ExtendedKeyUsageOID.TIME_STAMPING], eku_critical=True,
                            ku=dict(digital_signature=True), ski_of=other_key.public_key()), tsa_other_key)

    def signer(stem, cn, key=None, **kw):
        key = key or rsa_key()
        c = build(kw.pop("subject", None) or name(cn, **kw.pop("name_kw", {})), ca_name, ca_key, key.public_key(),
                  ski_of=ca_key.public_key(), **kw)
        save(stem, c, key)
        return c, key

    signer("signer-rsa", "Nguyễn Văn An", name_kw=dict(o="Công dân", uid="CCCD:001203004567"))
    signer("signer-pss", "Trần Thị Bình", name_kw=dict(o="Công dân", uid="CMND:123456789"))
    signer("signer-ec", "Công ty TNHH Ký Số Thử Nghiệm", key=ec.generate_private_key(ec.SECP256R1()),
           name_kw=dict(o="Công ty TNHH Ký Số Thử Nghiệm", uid="MST:0100686209-001"))
    signer("signer-docsign", "Lê Văn Cường", eku=[DOC_SIGNING], name_kw=dict(serial="CCCD:079088001234"))
    signer("signer-expired", "Phạm Văn Dũng",
           validity=(dt.datetime(2020, 1, 1, tzinfo=UTC), dt.datetime(2021, 1, 1, tzinfo=UTC)),
           name_kw=dict(uid="CCCD:001099000111"))
    signer("signer-future", "Hoàng Thị Em",
           validity=(dt.datetime(2030, 1, 1, tzinfo=UTC), dt.datetime(2031, 1, 1, tzinfo=UTC)))
    signer("signer-wrong-ku", "Vũ Văn Giang", ku=dict(key_encipherment=True))
    signer("signer-rsa1024", "Đặng Văn Hải", key=rsa_key(1024))
    signer("signer-tsa-eku", "kyso Test Server", eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    # RFC 3161 §2.3: a TSA certificate has exactly the critical timeStamping EKU.
    signer("tsa", "kyso Test TSA", eku=[ExtendedKeyUsageOID.TIME_STAMPING], eku_critical=True,
           ku=dict(digital_signature=True))
    signer("tsa-no-eku", "kyso Test TSA without EKU", ku=dict(digital_signature=True))

    # Revocation: two signers revoked at different times, a delegated OCSP responder.
    early, _ = signer("signer-revoked-early", "Ngô Văn Khoa", name_kw=dict(uid="CCCD:001088000222"))
    late, _ = signer("signer-revoked-late", "Bùi Thị Lan", name_kw=dict(uid="CCCD:001188000333"))
    responder, responder_key = signer("ocsp-responder", "kyso Test OCSP Responder", eku=[ExtendedKeyUsageOID.OCSP_SIGNING],
                                      ku=dict(digital_signature=True), nocheck=True)
    os.makedirs(REV, exist_ok=True)

    def crl(stem, issuer_cert, issuer_key, revoked, this, nxt):
        b = (x509.CertificateRevocationListBuilder().issuer_name(issuer_cert.subject)
             .last_update(this).next_update(nxt)
             .add_extension(x509.CRLNumber(1), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False))
        for serial, when in revoked:
            b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
        with open(os.path.join(REV, stem + ".crl"), "wb") as f:
            f.write(b.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))

    d = lambda y, m, day: dt.datetime(y, m, day, tzinfo=UTC)
    crl("root", root, root_key, [], d(2026, 10, 1), d(2027, 10, 1))
    crl("issuing-ca", ca, ca_key, [(early.serial_number, d(2025, 12, 1)), (late.serial_number, d(2026, 9, 1))],
        d(2026, 10, 1), d(2027, 10, 1))
    crl("issuing-ca-stale", ca, ca_key, [], d(2026, 1, 1), d(2026, 2, 1))

    def ocsp_response(stem, subject_stem, signer_cert, signer_key, status=ocsp.OCSPCertStatus.GOOD, rev_time=None):
        subject = x509.load_pem_x509_certificate(open(os.path.join(OUT, subject_stem + ".pem"), "rb").read())
        b = (ocsp.OCSPResponseBuilder()
             .add_response(cert=subject, issuer=ca, algorithm=hashes.SHA1(), cert_status=status,
                           this_update=d(2026, 11, 20), next_update=d(2027, 6, 1),
                           revocation_time=rev_time, revocation_reason=None)
             .responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
             .certificates([signer_cert]))
        with open(os.path.join(REV, stem + ".ocsp"), "wb") as f:
            f.write(b.sign(signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))

    ocsp_response("signer-rsa-good", "signer-rsa", responder, responder_key)
    ocsp_response("signer-revoked-late-revoked", "signer-revoked-late", responder, responder_key,
                  ocsp.OCSPCertStatus.REVOKED, d(2026, 9, 1))
    # Signed by a certificate the CA never authorised to answer OCSP.
    rogue = x509.load_pem_x509_certificate(open(os.path.join(OUT, "signer-ec.pem"), "rb").read())
    rogue_key = serialization.load_pem_private_key(open(os.path.join(OUT, "signer-ec.key.pem"), "rb").read(), None)
    ocsp_response("signer-rsa-unauthorised", "signer-rsa", rogue, rogue_key)

    # An impostor: same issuer name and serial as signer-rsa, another key,
    # "signed" by a key that is not the issuing CA's.
    real = x509.load_pem_x509_certificate(open(os.path.join(OUT, "signer-rsa.pem"), "rb").read())
    imp_key = rsa_key()
    fake_ca_key = rsa_key()
    imp = build(real.subject, ca_name, fake_ca_key, imp_key.public_key(), serial=real.serial_number)
    save("impostor", imp, imp_key)


if __name__ == "__main__":
    main()
