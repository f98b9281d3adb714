//! pyca/cryptography's OCSP vectors, parsed and judged as pyca's tests expect.

#![allow(clippy::unwrap_used)]

mod common;

use kyso::revocation::ocsp::{
    self, CertStatus, Responder, ResponderId, ResponseProblem, ResponseStatus,
};
use openssl::x509::X509;

fn t(s: &str) -> i64 {
    common::at(s)
}

#[test]
fn pyca_ocsp_vectors() {
    let Some(dir) = common::corpus("ocsp/pyca-cryptography-vectors") else {
        return;
    };
    let load = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let mut judged = 0;
    let basic = |n: &str| ocsp::parse(&load(n)).unwrap().basic.unwrap();

    // resp-sha256: signed by the issuer (responder by name), good.
    let issuer = X509::from_pem(&load("issuer-letsencryptx3.pem")).unwrap();
    let r = ocsp::parse(&load("resp-sha256.der")).unwrap();
    assert_eq!(r.status, ResponseStatus::Successful);
    assert_eq!(
        ocsp::check_responder(&r, &issuer).unwrap().0,
        Responder::Issuer
    );
    let b = r.basic.as_ref().unwrap();
    assert!(matches!(b.responder, ResponderId::ByName(_)));
    assert_eq!(b.produced_at, t("2018-08-30T11:15:00Z"));
    assert_eq!(b.responses[0].status, CertStatus::Good);
    assert_eq!(b.responses[0].this_update, t("2018-08-30T11:00:00Z"));
    assert_eq!(b.responses[0].next_update, Some(t("2018-09-06T11:00:00Z")));
    judged += 1;

    let r = ocsp::parse(&load("resp-unauthorized.der")).unwrap();
    assert_eq!(r.status, ResponseStatus::Unauthorized);
    assert!(r.basic.is_none());
    judged += 1;

    let b = basic("resp-revoked.der");
    assert_eq!(
        b.responses[0].status,
        CertStatus::Revoked {
            time: t("2016-09-02T21:28:48Z"),
            reason: None
        }
    );
    judged += 1;
    let b = basic("resp-revoked-reason.der");
    assert!(
        matches!(
            b.responses[0].status,
            CertStatus::Revoked {
                reason: Some(4),
                ..
            }
        ),
        "superseded = 4"
    );
    assert!(b.nonce.is_some());
    judged += 1;
    let b = basic("resp-revoked-no-next-update.der");
    assert!(matches!(b.responses[0].status, CertStatus::Revoked { .. }));
    assert_eq!(b.responses[0].next_update, None);
    assert_eq!(
        b.responses[0].cert_id.serial,
        16160u32.to_be_bytes()[2..].to_vec()
    );
    judged += 1;
    let b = basic("resp-delegate-unknown-cert.der");
    assert_eq!(b.certs.len(), 1);
    assert_eq!(b.responses[0].status, CertStatus::Unknown);
    judged += 1;
    assert!(matches!(
        basic("resp-responder-key-hash.der").responder,
        ResponderId::ByKey(_)
    ));
    judged += 1;

    // md2WithRSA: parses, never verifies.
    let r = ocsp::parse(&load("resp-invalid-signature-oid.der")).unwrap();
    assert!(matches!(
        ocsp::check_responder(&r, &issuer),
        Err(ResponseProblem::UnsupportedAlgorithm(_)) | Err(ResponseProblem::UnauthorisedResponder)
    ));
    let b = r.basic.unwrap();
    assert_eq!(b.sig_alg_oid, "1.2.840.113549.1.1.2");
    judged += 1;
    // Unknown CertID hash: parses, matches nothing.
    let b = basic("resp-unknown-hash-alg.der");
    assert!(kyso::crypto::DigestAlg::from_oid(&b.responses[0].cert_id.hash_alg).is_none());
    judged += 1;
    // Non-critical unknown extensions are tolerated.
    basic("resp-unknown-extension.der");
    basic("resp-single-extension-reason.der");
    basic("resp-sct-extension.der");
    judged += 3;
    // Parse errors.
    for n in [
        "resp-response-type-unknown-oid.der",
        "resp-successful-no-response-bytes.der",
        "resp-unknown-response-status.der",
        "resp-invalid-version.der",
    ] {
        assert!(ocsp::parse(&load(n)).is_err(), "{n} should not parse");
        judged += 1;
    }
    // A real multi-response from a US Army responder.
    let b = basic("ocsp-army.deps.mil-resp.der");
    assert_eq!(b.responses.len(), 20);
    let revoked = b
        .responses
        .iter()
        .filter(|r| matches!(r.status, CertStatus::Revoked { .. }))
        .count();
    assert!(revoked >= 1);
    assert!(b.responses.iter().any(|r| r.status
        == CertStatus::Revoked {
            time: t("2018-05-30T14:01:39Z"),
            reason: Some(5)
        }));
    judged += 1;
    println!("pyca OCSP vectors: {judged} judged as pyca expects");
}
