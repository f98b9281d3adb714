#!/usr/bin/env python3
"""Inputs that once crashed kyso (exit 101 / a dropped HTTP connection),
kept as fixtures and fuzz regressions. Run from the repository root:

    python3 testdata/gen/make_crashes.py

- cms/uid-multibyte.p7m: an enveloping CMS over a short text, signed by a
  certificate (issued by certs/test/issuing-ca) whose subject UID is
  `123456789éabc` — 14 bytes, `é` across bytes 9..11, where the identity
  shape test once sliced a `&str` at byte 10. A valid signature: with the
  test root trusted it must come out TOTAL_PASSED, the UID reported as it is.
- cms/signing-time-non-ascii.p7m: an enveloping CMS by certs/test/signer-rsa
  whose signed signingTime is a UTCTime of 13 bytes holding `é`
  (`2611010é000Z`); the time parser once cut it inside the character. The
  signature value is valid over those attributes: only the malformed
  attribute is wrong (TOTAL_FAILED/FORMAT_FAILURE).
Both are also copied to fuzz/regressions/verify/.
"""
import datetime as dt
import hashlib
import shutil

from asn1crypto import algos, cms as acms, core, x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

PKI = "certs/test"
CONTENT = "Tờ khai thử nghiệm kyso\n".encode()


def load(stem):
    cert = x509.load_pem_x509_certificate(open(f"{PKI}/{stem}.pem", "rb").read())
    key = serialization.load_pem_private_key(open(f"{PKI}/{stem}.key.pem", "rb").read(), None)
    return cert, key


def uid_signer():
    ca, ca_key = load("issuing-ca")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Nguyễn Văn Thử"),
        x509.NameAttribute(NameOID.USER_ID, "123456789éabc"),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(0x4B59534F0001)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
        .not_valid_after(dt.datetime(2028, 1, 1, tzinfo=dt.timezone.utc))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key, [ca]


def enveloping(cert, key, chain, signing_time_raw=None):
    digest = hashlib.sha256(CONTENT).digest()
    attrs = [
        acms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        acms.CMSAttribute({"type": "message_digest", "values": [digest]}),
    ]
    if signing_time_raw is not None:
        # A UTCTime TLV written byte for byte (asn1crypto would refuse the value).
        tlv = b"\x17" + bytes([len(signing_time_raw)]) + signing_time_raw
        attrs.append(acms.CMSAttribute({"type": "signing_time", "values": [core.Any.load(tlv)]}))
    signed = acms.CMSAttributes(attrs)
    value = key.sign(signed.dump(), padding.PKCS1v15(), hashes.SHA256())
    acert = ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    si = acms.SignerInfo({
        "version": "v1",
        "sid": acms.SignerIdentifier({"issuer_and_serial_number": acms.IssuerAndSerialNumber({
            "issuer": acert.issuer, "serial_number": acert.serial_number})}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": signed,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
        "signature": value,
    })
    certs = [acert] + [ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain]
    sd = acms.SignedData({
        "version": "v1",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": "data", "content": CONTENT},
        "certificates": certs,
        "signer_infos": [si],
    })
    return acms.ContentInfo({"content_type": "signed_data", "content": sd}).dump()


def write(path, data):
    with open(f"testdata/{path}", "wb") as f:
        f.write(data)
    shutil.copy(f"testdata/{path}", f"fuzz/regressions/verify/{path.split('/')[-1]}")
    print(f"wrote testdata/{path} ({len(data)} bytes)")


def main():
    cert, key, chain = uid_signer()
    write("cms/uid-multibyte.p7m", enveloping(cert, key, chain))
    signer, skey = load("signer-rsa")
    ca, _ = load("issuing-ca")
    write("cms/signing-time-non-ascii.p7m",
          enveloping(signer, skey, [ca], signing_time_raw="2611010é000Z".encode()))


if __name__ == "__main__":
    main()
