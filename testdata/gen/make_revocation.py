#!/usr/bin/env python3
"""Revocation-rule fixtures: one certificate per rule, issued by the test
issuing CA (certs/test/issuing-ca), and the CRLs / OCSP responses that
exercise it. Run from the repository root (pyHanko's venv has the packages):

    python3 testdata/gen/make_revocation.py

Writes testdata/revocation/rules/*.pem|*.crl|*.ocsp and issuing-ca-ecoc.crl.
The expected status of each case is testdata/revocation/RULES.tsv (written by
hand), checked exactly by tests/revocation_rules.rs through
`revocation::status_at`, the function production uses.

- expired-*: valid 2020-01-01 .. 2021-01-01. CRLs of 2026 without
  ExpiredCertsOnCRL (2.5.29.60) may have dropped them (RFC 5280 §3.3); with
  ExpiredCertsOnCRL 2019-01-01 they speak for them. `expired-revoked` was
  revoked on 2020-06-01. OCSP of 2026 with and without archiveCutoff.
- partition-*: a CRL distribution point URI p1 in the certificate; CRLs with
  an issuingDistributionPoint of p1 and of p2 (another partition).
- hold: certificateHold since 2026-02-01 in a CRL of 2026-03-01; released
  (not listed) in a CRL of 2026-05-01, and by removeFromCRL in a delta CRL
  of 2026-04-15; made final (keyCompromise) in a CRL of 2026-05-02.
- issuing-ca-ecoc.crl: the issuing CA's CRL of 2026-10-01 again, with
  ExpiredCertsOnCRL 2019-01-01 (for certs/test/signer-expired).
- issuing-ca-window1.crl (2026-10-01 .. 2026-11-02) and
  issuing-ca-window2.crl (2026-11-01T12:00 .. 2026-12-01): the issuing CA's
  CRL and the one that replaces it, served in turn by tests/service_revocation.rs
  to show the service refreshes a configured CRL before its nextUpdate.
"""
import datetime as dt
import os

from asn1crypto import core, ocsp as aocsp, x509 as ax509, algos
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier

PKI = "certs/test"
OUT = "testdata/revocation/rules"
UTC = dt.timezone.utc
ECOC = ObjectIdentifier("2.5.29.60")


def d(y, m, day):
    return dt.datetime(y, m, day, tzinfo=UTC)


def load(stem):
    cert = x509.load_pem_x509_certificate(open(f"{PKI}/{stem}.pem", "rb").read())
    key = serialization.load_pem_private_key(open(f"{PKI}/{stem}.key.pem", "rb").read(), None)
    return cert, key


CA, CA_KEY = load("issuing-ca")
# One key for every rule certificate: what is tested is the revocation data.
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def cert(stem, serial, validity, cdp=None):
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"kyso rule {stem}")])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(CA.subject).public_key(KEY.public_key())
         .serial_number(serial).not_valid_before(validity[0]).not_valid_after(validity[1])
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(CA_KEY.public_key()), critical=False))
    if cdp:
        b = b.add_extension(x509.CRLDistributionPoints([
            x509.DistributionPoint([x509.UniformResourceIdentifier(cdp)], None, None, None)]), critical=False)
    c = b.sign(CA_KEY, hashes.SHA256())
    with open(f"{OUT}/{stem}.pem", "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
    return c


def crl(stem, this, nxt, revoked=(), number=1, ecoc=None, idp_uri=None, delta_base=None, out=OUT):
    b = (x509.CertificateRevocationListBuilder().issuer_name(CA.subject).last_update(this).next_update(nxt)
         .add_extension(x509.CRLNumber(number), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(CA_KEY.public_key()), critical=False))
    if ecoc is not None:
        # GeneralizedTime, DER.
        b = b.add_extension(x509.UnrecognizedExtension(ECOC, core.GeneralizedTime(ecoc).dump()), critical=False)
    if idp_uri:
        b = b.add_extension(x509.IssuingDistributionPoint(
            full_name=[x509.UniformResourceIdentifier(idp_uri)], relative_name=None, only_contains_user_certs=False,
            only_contains_ca_certs=False, only_some_reasons=None, indirect_crl=False,
            only_contains_attribute_certs=False), critical=True)
    if delta_base is not None:
        b = b.add_extension(x509.DeltaCRLIndicator(delta_base), critical=True)
    for serial, when, reason in revoked:
        rb = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason is not None:
            rb = rb.add_extension(x509.CRLReason(reason), critical=False)
        b = b.add_revoked_certificate(rb.build())
    with open(f"{out}/{stem}.crl", "wb") as f:
        f.write(b.sign(CA_KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


def ocsp_good(stem, subject, produced, archive_cutoff=None):
    """A 'good' response signed by the issuing CA itself, built with
    asn1crypto so that archiveCutoff can be a singleExtension (RFC 6960 §4.4.4)."""
    ca = ax509.Certificate.load(CA.public_bytes(serialization.Encoding.DER))
    sub = ax509.Certificate.load(subject.public_bytes(serialization.Encoding.DER))
    cert_id = aocsp.CertId({
        "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha1"}),
        "issuer_name_hash": sub.issuer.sha1,
        "issuer_key_hash": ca.public_key.sha1,
        "serial_number": sub.serial_number,
    })
    single = {"cert_id": cert_id, "cert_status": aocsp.CertStatus(name="good", value=core.Null()),
              "this_update": produced, "next_update": produced + dt.timedelta(days=30)}
    if archive_cutoff is not None:
        single["single_extensions"] = [{"extn_id": "archive_cutoff", "extn_value": archive_cutoff}]
    tbs = aocsp.ResponseData({
        "responder_id": aocsp.ResponderId(name="by_key", value=ca.public_key.sha1),
        "produced_at": produced,
        "responses": [aocsp.SingleResponse(single)],
    })
    sig = CA_KEY.sign(tbs.dump(), padding.PKCS1v15(), hashes.SHA256())
    basic = aocsp.BasicOCSPResponse({
        "tbs_response_data": tbs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
        "signature": sig,
    })
    resp = aocsp.OCSPResponse({"response_status": "successful", "response_bytes": {
        "response_type": "basic_ocsp_response", "response": basic}})
    with open(f"{OUT}/{stem}.ocsp", "wb") as f:
        f.write(resp.dump())


def main():
    os.makedirs(OUT, exist_ok=True)
    early = (d(2020, 1, 1), d(2021, 1, 1))
    long = (d(2026, 1, 1), d(2030, 1, 1))
    exp_good = cert("expired-good", 0x4B5901, early)
    exp_rev = cert("expired-revoked", 0x4B5902, early)
    p1 = cert("partition", 0x4B5903, long, cdp="http://crl.kyso.test/p1.crl")
    cert("no-dp", 0x4B5904, long)
    cert("hold", 0x4B5905, long)

    kc = x509.ReasonFlags.key_compromise
    hold = x509.ReasonFlags.certificate_hold
    # Expired certificates and CRLs issued after they expired.
    crl("crl-2026-no-ecoc", d(2026, 10, 1), d(2027, 10, 1))
    crl("crl-2026-no-ecoc-listed", d(2026, 10, 1), d(2027, 10, 1), revoked=[(0x4B5902, d(2020, 6, 1), kc)])
    crl("crl-2026-ecoc-2019", d(2026, 10, 1), d(2027, 10, 1), ecoc=d(2019, 1, 1),
        revoked=[(0x4B5902, d(2020, 6, 1), kc)])
    crl("crl-2026-ecoc-2022", d(2026, 10, 1), d(2027, 10, 1), ecoc=d(2022, 1, 1))
    ocsp_good("ocsp-2026-expired-good", exp_good, d(2026, 10, 1))
    ocsp_good("ocsp-2026-expired-good-cutoff", exp_good, d(2026, 10, 1), archive_cutoff=d(2019, 1, 1))
    # Partitions.
    crl("crl-p1", d(2026, 10, 1), d(2027, 10, 1), idp_uri="http://crl.kyso.test/p1.crl")
    crl("crl-p1-listed", d(2026, 10, 1), d(2027, 10, 1), idp_uri="http://crl.kyso.test/p1.crl",
        revoked=[(0x4B5903, d(2026, 6, 1), kc)])
    crl("crl-p2", d(2026, 10, 1), d(2027, 10, 1), idp_uri="http://crl.kyso.test/p2.crl")
    # Hold, release, removal by delta, hold made final.
    crl("crl-hold", d(2026, 3, 1), d(2026, 6, 1), number=10, revoked=[(0x4B5905, d(2026, 2, 1), hold)])
    crl("crl-released", d(2026, 5, 1), d(2026, 8, 1), number=11)
    crl("delta-remove", d(2026, 4, 15), d(2026, 4, 30), number=11, delta_base=10,
        revoked=[(0x4B5905, d(2026, 4, 10), x509.ReasonFlags.remove_from_crl)])
    crl("crl-hold-final", d(2026, 5, 2), d(2026, 8, 1), number=12, revoked=[(0x4B5905, d(2026, 2, 1), kc)])
    # The issuing CA's CRL, keeping expired certificates (for certs/test/signer-expired).
    early_s = x509.load_pem_x509_certificate(open(f"{PKI}/signer-revoked-early.pem", "rb").read()).serial_number
    late_s = x509.load_pem_x509_certificate(open(f"{PKI}/signer-revoked-late.pem", "rb").read()).serial_number
    both = [(early_s, d(2025, 12, 1), None), (late_s, d(2026, 9, 1), None)]
    crl("issuing-ca-ecoc", d(2026, 10, 1), d(2027, 10, 1), ecoc=d(2019, 1, 1), revoked=both,
        out="testdata/revocation")
    crl("issuing-ca-window1", d(2026, 10, 1), d(2026, 11, 2), number=20, revoked=both, out="testdata/revocation")
    crl("issuing-ca-window2", dt.datetime(2026, 11, 1, 12, tzinfo=UTC), d(2026, 12, 1), number=21, revoked=both,
        out="testdata/revocation")
    print(f"wrote {OUT} and testdata/revocation/issuing-ca-ecoc.crl; {p1.serial_number:x} {exp_rev.serial_number:x}")


if __name__ == "__main__":
    main()
