//! RFC 4134 examples and OpenSSL's CMS test files: valid signatures pass the
//! integrity checks, malformed signed attributes fail, non-signatures and
//! unsupported algorithms are reported as such.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use kyso::pki::TrustStore;
use kyso::report::{Indication, Outcome, Report, SubIndication};
use kyso::validate::{VerifyOptions, verify_path};

const INTEGRITY_OR_FORMAT_FAILURES: &[&str] = &[
    "MESSAGE_DIGEST_MISMATCH",
    "MESSAGE_DIGEST_ATTR_INVALID",
    "CONTENT_TYPE_ATTR_INVALID",
    "CONTENT_TYPE_MISMATCH",
    "SIGNED_ATTRS_DUPLICATE",
    "SIGNING_TIME_ATTR_INVALID",
    "UNSIGNED_ATTR_NOT_ALLOWED",
    "SIGNATURE_VALUE_INVALID",
];

fn intact(r: &Report, signer: usize) -> bool {
    let s = &r.signatures[signer];
    s.checks
        .iter()
        .any(|c| c.code == "SIGNATURE_VALUE_VALID" && c.outcome == Outcome::Passed)
        && !s
            .checks
            .iter()
            .any(|c| INTEGRITY_OR_FORMAT_FAILURES.contains(&c.code))
}

#[test]
fn cms_corpora() {
    let Some(dir) = common::corpus("cms") else {
        return;
    };
    let opts = VerifyOptions::new(TrustStore::new(), common::at("2026-11-01T00:00:00Z"));
    let run = |f: &str, det: Option<&str>| {
        let d = det.map(|d| dir.join(d));
        verify_path(&dir.join(f), d.as_deref(), &opts).unwrap().0
    };
    let mut checked = 0;
    // Valid signatures (RFC 4134 §4): every signer intact.
    for (f, det, signers) in [
        ("rfc4134/4.1.bin", None, 1),
        ("rfc4134/4.2.bin", None, 1),
        ("rfc4134/4.3.bin", Some("rfc4134/ExContent.bin"), 1),
        ("rfc4134/4.4.bin", None, 1),
        ("rfc4134/4.5.bin", None, 1),
        ("rfc4134/4.7.bin", None, 1),
        ("rfc4134/4.10.bin", None, 1),
    ] {
        let r = run(f, det);
        assert!(r.document.error.is_none(), "{f}: {:?}", r.document.error);
        assert_eq!(r.signatures.len(), signers, "{f}");
        for i in 0..signers {
            assert!(
                intact(&r, i),
                "{f} signer {i} not intact: {:#?}",
                r.signatures[i].checks
            );
        }
        checked += 1;
    }
    // 4.6: Alice's DSA signature is intact; Diane's DSA key inherits its
    // parameters from the CA, which OpenSSL 3 cannot load: reported, not passed.
    let r = run("rfc4134/4.6.bin", None);
    assert!(intact(&r, 0));
    assert!(
        r.signatures[1]
            .checks
            .iter()
            .any(|c| c.code == "SIGNER_KEY_UNREADABLE")
    );
    assert_eq!(r.signatures[1].indication, Indication::Indeterminate);
    checked += 1;
    // 4.11: certificates only.
    let r = run("rfc4134/4.11.bin", None);
    assert_eq!(
        r.document.error.as_ref().map(|e| e.code),
        Some("CMS_NO_SIGNERS")
    );
    checked += 1;
    // Not signatures at all.
    for f in [
        "rfc4134/5.1.bin",
        "rfc4134/5.2.bin",
        "rfc4134/6.0.bin",
        "rfc4134/7.1.bin",
        "rfc4134/7.2.bin",
    ] {
        let r = run(f, None);
        assert_eq!(
            r.document.error.as_ref().map(|e| e.code),
            Some("DOC_UNSUPPORTED"),
            "{f}"
        );
        checked += 1;
    }
    // OpenSSL's malformed signed attributes: FORMAT_FAILURE.
    for (f, code) in [
        (
            "openssl/recipes/80-test_cms_data/bad_signtime_attr.cms",
            "UNSIGNED_ATTR_NOT_ALLOWED",
        ),
        (
            "openssl/recipes/80-test_cms_data/no_ct_attr.cms",
            "CONTENT_TYPE_ATTR_INVALID",
        ),
        (
            "openssl/recipes/80-test_cms_data/no_md_attr.cms",
            "MESSAGE_DIGEST_ATTR_INVALID",
        ),
        (
            "openssl/recipes/80-test_cms_data/ct_multiple_attr.cms",
            "CONTENT_TYPE_ATTR_INVALID",
        ),
    ] {
        let r = run(f, None);
        let s = &r.signatures[0];
        assert_eq!(
            (s.indication, s.sub_indication),
            (Indication::TotalFailed, Some(SubIndication::FormatFailure)),
            "{f}"
        );
        assert!(s.checks.iter().any(|c| c.code == code), "{f}: no {code}");
        checked += 1;
    }
    // MD4: unsupported digest.
    let r = run("openssl/recipes/80-test_cms_data/pkcs7-md4.pem", None);
    let s = &r.signatures[0];
    assert_eq!(
        (s.indication, s.sub_indication),
        (
            Indication::Indeterminate,
            Some(SubIndication::CryptoConstraintsFailure)
        )
    );
    checked += 1;
    println!(
        "cms corpora: {checked} files judged as expected (S/MIME .eml files skipped: MIME is not read)"
    );
}
