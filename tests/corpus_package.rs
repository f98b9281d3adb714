//! Signed Office and ODF packages from outside projects, judged as their
//! projects' own tests assert: Apache POI's signed .docx/.xlsx/.pptx
//! (../shared/corpora/xmldsig/ooxml-poi, 18 rows) and LibreOffice's signing
//! tests (../shared/corpora/xmldsig/odf-libreoffice, 27 rows). Each row's
//! `expected` column is mapped to the classes of kyso's verdict that mean
//! the same; a row where they differ must be listed with its reason in
//! tests/corpus-package-exceptions.tsv (an unlisted disagreement fails, and
//! so does a listed row that agrees).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use kyso::pki::TrustStore;
use kyso::report::{Indication, Outcome, Report};
use kyso::validate::{AlgorithmPolicy, Sha1Policy, VerifyOptions};

/// What kyso's report says, in the corpus's words.
fn class(r: &Report) -> String {
    if let Some(e) = &r.document.error {
        return match e.code {
            "OOXML_NO_SIGNATURE" | "ODF_NO_DOCUMENT_SIGNATURE" => "none".into(),
            c => format!("error:{c}"),
        };
    }
    let failed = |code: &str| {
        r.signatures.iter().any(|s| {
            s.checks
                .iter()
                .any(|c| c.code == code && c.outcome == Outcome::Failed)
        })
    };
    if r.signatures
        .iter()
        .any(|s| s.indication == Indication::TotalFailed)
    {
        return "invalid".into();
    }
    for c in [
        "PACKAGE_PARTS_NOT_SIGNED",
        "PACKAGE_STRUCTURE_AMBIGUOUS",
        "OOXML_CONTENT_TYPE_MISMATCH",
        "OOXML_SIGNATURE_DUPLICATED",
    ] {
        if failed(c) {
            return format!("refused:{c}");
        }
    }
    if r.signatures.iter().any(|s| !s.proven.integrity) {
        return "unverified".into();
    }
    if r.signatures
        .iter()
        .all(|s| s.indication == Indication::TotalPassed)
    {
        return "passed".into();
    }
    let partial = r.signatures.iter().any(|s| {
        s.checks
            .iter()
            .any(|c| c.code == "PACKAGE_PARTS_OUTSIDE_SIGNATURE")
    });
    if partial {
        "intact-partial".into()
    } else {
        "intact".into()
    }
}

/// The classes that agree with a row's expectation.
fn accepted(expected: &str, parts: &str) -> &'static [&'static str] {
    if parts.contains("macrosignatures.xml") && !parts.contains("documentsignatures") {
        // A macro signature alone: the document is unsigned (LibreOffice's
        // GetDocumentSignatureState is NOSIGNATURES for these).
        return &["none"];
    }
    match expected {
        "unsigned" | "none" => &["none"],
        "invalid" => &["invalid"],
        "partial" => &["intact-partial"],
        e if e.starts_with("valid crypto, signer UNKNOWN") => &["intact"],
        e if e.starts_with("valid") => &["intact", "intact-partial", "passed"],
        _ => &[],
    }
}

fn options(dir: &Path, file: &str) -> VerifyOptions {
    let mut trust = TrustStore::new();
    let mut at = common::at("2026-12-01T00:00:00Z");
    let mut opts_revocation = true;
    if file.ends_with("signed_with_x509certificate_chain.odt") {
        // LibreOffice's test trusts its test root (test.p7b) and asserts the
        // signing certificate VALID.
        let pem = std::fs::read(dir.join("odf-libreoffice/trust/test-p7b-certs.pem")).unwrap();
        for c in openssl::x509::X509::stack_from_pem(&pem).unwrap() {
            trust.add(c);
        }
        at = common::at("2021-03-03T00:00:00Z");
        opts_revocation = false;
    }
    let mut opts = VerifyOptions::new(trust, at);
    opts.require_revocation = opts_revocation;
    // The samples are 2007–2021 Office/eID signatures: SHA-1, 1024-bit RSA.
    opts.algorithms = AlgorithmPolicy {
        min_rsa_bits: 1024,
        sha1: Sha1Policy::Accept,
        ..AlgorithmPolicy::default()
    };
    opts
}

#[test]
fn office_and_odf_corpora_judged_as_their_projects_assert() {
    let Some(dir) = common::corpus("xmldsig") else {
        return;
    };
    let exceptions = common::reasons("corpus-package-exceptions.tsv");
    let mut agree = 0usize;
    let mut listed = 0usize;
    let mut unexpected: Vec<String> = Vec::new();
    let mut stale: Vec<String> = Vec::new();
    let mut by_class: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows = 0usize;
    for (suite, sub) in [("poi", "ooxml-poi"), ("libreoffice", "odf-libreoffice")] {
        let tsv = std::fs::read_to_string(dir.join(sub).join("EXPECTED.tsv")).unwrap();
        for line in tsv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let (file, parts, expected) = (cols[0], cols[1], cols[2]);
            let path = dir.join(sub).join(file);
            let data = std::fs::read(&path).unwrap();
            let r = kyso::validate::package::verify_package(&data, file, &options(&dir, file));
            let got = class(&r);
            rows += 1;
            *by_class.entry(got.clone()).or_default() += 1;
            let key = format!("{suite}:{file}");
            let ok = accepted(expected, parts).contains(&got.as_str());
            match (ok, exceptions.get(&key)) {
                (true, None) => agree += 1,
                (true, Some(_)) => stale.push(key),
                (false, Some(_)) => listed += 1,
                (false, None) => unexpected.push(format!(
                    "{key}\texpected {expected} (accepts {:?}), kyso {got}",
                    accepted(expected, parts)
                )),
            }
        }
    }
    println!(
        "packages: {rows} rows; {agree} agree with their project's assertion ({:.1} %), {listed} listed in tests/corpus-package-exceptions.tsv; kyso classes {by_class:?}",
        100.0 * agree as f64 / rows as f64
    );
    assert_eq!(rows, 45, "18 POI rows and 27 LibreOffice rows");
    assert!(
        unexpected.is_empty(),
        "unexpected package results:\n{}",
        unexpected.join("\n")
    );
    assert!(
        stale.is_empty(),
        "listed as exceptions but agree now: {stale:?}"
    );
}

/// The 2021 ODF signature-spoofing files: the certificate that verifies the
/// signature is the one reported (the attacker's), never the trusted
/// person's the attacker added beside it; and the manipulated time stays
/// out of the report.
#[test]
fn odf_spoofing_files_name_the_real_signer() {
    let Some(dir) = common::corpus("xmldsig/odf-libreoffice/data") else {
        return;
    };
    let opts = options(&dir, "");
    for f in [
        "02_doc_signed_by_attacker_manipulated.odt",
        "02_doc_signed_by_attacker_manipulated2.odt",
    ] {
        let data = std::fs::read(dir.join(f)).unwrap();
        let r = kyso::validate::package::verify_package(&data, f, &opts);
        let s = &r.signatures[0];
        let signer = s.signer.as_ref().expect("a signer").subject.clone();
        assert!(signer.contains("CN=Attacker"), "{f}: {signer}");
        assert_ne!(s.indication, Indication::TotalPassed, "{f}");
    }
    // The unsigned 6666-66-66 date injected beside the signed SigningTime:
    // the file has two elements with one ID, refused as a wrapping pattern.
    let f = "02_doc_signed_by_trusted_person_manipulated.odt";
    let data = std::fs::read(dir.join(f)).unwrap();
    let r = kyso::validate::package::verify_package(&data, f, &opts);
    let s = &r.signatures[0];
    assert_eq!(s.indication, Indication::TotalFailed);
    assert!(s.checks.iter().any(|c| c.code == "XML_DUPLICATE_ID"));
    assert!(
        s.claimed_signing_time
            .as_deref()
            .is_none_or(|t| !t.starts_with("6666")),
        "{:?}",
        s.claimed_signing_time
    );
}

/// Office's own signature information and the XAdES commitment and role
/// are reported (POI's PPT2016withComment.pptx, whose test asserts the
/// role "SuperDuper-Reviewer" and the description "Purpose for signing").
#[test]
fn office_signature_information_is_reported() {
    let Some(dir) = common::corpus("xmldsig/ooxml-poi") else {
        return;
    };
    let f = "PPT2016withComment.pptx";
    let data = std::fs::read(dir.join(f)).unwrap();
    let r = kyso::validate::package::verify_package(&data, f, &options(&dir, f));
    let c = r.signatures[0]
        .checks
        .iter()
        .find(|c| c.code == "OOXML_SIGNATURE_INFO")
        .expect("the Office signature information");
    assert_eq!(c.evidence["purpose"], "Purpose for signing");
    assert_eq!(c.evidence["claimed_role"], "SuperDuper-Reviewer");
    assert_eq!(
        c.evidence["commitment"],
        "http://uri.etsi.org/01903/v1.2.2#ProofOfOrigin"
    );
    assert_eq!(c.evidence["signed"], true);
}
