//! OpenSSL's TSA test response (a real Sectigo timestamp) validates; a wrong
//! imprint and an untrusted root do not.

#![allow(clippy::unwrap_used)]

mod common;

use kyso::crypto::DigestAlg;
use kyso::pki::{TrustStore, load_certificates};
use kyso::report::{Indication, SignatureKind, SubIndication};
use kyso::validate::cmscheck::Content;
use kyso::validate::{VerifyOptions, tsp};

#[test]
fn openssl_tsa_response_validates() {
    let Some(dir) = common::corpus("tsp/openssl-tsa") else {
        return;
    };
    let resp = std::fs::read(dir.join("sectigo-all-zero.tsr")).unwrap();
    let (status, token) = tsp::parse_response(&resp).unwrap();
    assert_eq!(status, 0, "granted");
    let token = token.unwrap();
    let (alg, imprint) =
        tsp::parse_request(&std::fs::read(dir.join("all-zero.tsq")).unwrap()).unwrap();
    let alg = DigestAlg::from_oid(&alg).unwrap();

    let mut trust = TrustStore::new();
    trust.load_path(&dir.join("user-trust-ca.pem")).unwrap();
    // Validate at the time the token attests (OpenSSL's own test disables time checks).
    let probe = VerifyOptions::new(TrustStore::new(), 0);
    let gen_time_at = tsp::verify_token(
        token,
        &Content::Digest(alg, imprint.clone()),
        SignatureKind::Timestamp,
        0,
        &probe,
    )
    .1
    .unwrap()
    .gen_time;
    let mut opts = VerifyOptions::new(trust, gen_time_at);
    opts.intermediates = load_certificates(&dir.join("sectigo-time-stamping-ca.pem")).unwrap();
    // The corpus keeps no OCSP/CRL for the TSA chain: with revocation
    // required the token cannot pass, without it it must.
    let (rep, _) = tsp::verify_token(
        token,
        &Content::Digest(alg, imprint.clone()),
        SignatureKind::Timestamp,
        0,
        &opts,
    );
    assert_eq!(
        (rep.indication, rep.sub_indication),
        (Indication::Indeterminate, Some(SubIndication::TryLater)),
        "{:#?}",
        rep.checks
    );
    opts.require_revocation = false;
    let (rep, tst) = tsp::verify_token(
        token,
        &Content::Digest(alg, imprint.clone()),
        SignatureKind::Timestamp,
        0,
        &opts,
    );
    assert_eq!(rep.indication, Indication::TotalPassed, "{:#?}", rep.checks);
    assert!(tst.is_some());
    println!(
        "sectigo token: {} at {}",
        rep.signer.as_ref().unwrap().subject,
        rep.gen_time.as_deref().unwrap()
    );

    // Another imprint: the token does not stamp it.
    let mut wrong = imprint.clone();
    wrong[0] ^= 1;
    let (rep, _) = tsp::verify_token(
        token,
        &Content::Digest(alg, wrong),
        SignatureKind::Timestamp,
        0,
        &opts,
    );
    assert_eq!(
        (rep.indication, rep.sub_indication),
        (Indication::TotalFailed, Some(SubIndication::HashFailure))
    );

    // No trusted root: no chain.
    let mut untrusted = VerifyOptions::new(TrustStore::new(), gen_time_at);
    untrusted.intermediates = opts.intermediates.clone();
    let (rep, _) = tsp::verify_token(
        token,
        &Content::Digest(alg, imprint),
        SignatureKind::Timestamp,
        0,
        &untrusted,
    );
    assert_eq!(
        (rep.indication, rep.sub_indication),
        (
            Indication::Indeterminate,
            Some(SubIndication::NoCertificateChainFound)
        )
    );
}
