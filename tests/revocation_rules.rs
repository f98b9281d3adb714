//! The revocation rules of kyso's own path (`revocation::status_at`, what
//! production calls): testdata/revocation/RULES.tsv, one case a row, each
//! checked exactly — expired certificates and CRLs/OCSP issued after expiry
//! (ExpiredCertsOnCRL, archiveCutoff), partitioned CRLs (issuingDistribution-
//! Point against the certificate's distribution points), certificateHold and
//! its release (by a later CRL or a delta CRL's removeFromCRL).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use kyso::pki::cert::fmt_unix;
use kyso::revocation::{Context, RevSource, RevocationData, Status, status_at};
use openssl::x509::X509;

fn pem(p: &std::path::Path) -> X509 {
    X509::from_pem(&std::fs::read(p).unwrap()).unwrap()
}

fn shown(s: &Status) -> String {
    match s {
        Status::Good => "GOOD".into(),
        Status::Revoked { time, .. } => format!("REVOKED@{}", fmt_unix(*time)),
        Status::OnHold { since } => format!("ON_HOLD@{}", fmt_unix(*since)),
        Status::Unknown(why) => format!("UNKNOWN:{why}"),
    }
}

#[test]
fn revocation_rules_table() {
    let root = common::root();
    let dir = root.join("testdata/revocation/rules");
    let issuer = pem(&root.join("certs/test/issuing-ca.pem"));
    let table = std::fs::read_to_string(root.join("testdata/revocation/RULES.tsv")).unwrap();
    let mut rows = 0;
    let mut bad = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("case\t") && !l.trim().is_empty())
    {
        let c: Vec<&str> = line.split('\t').collect();
        assert_eq!(c.len(), 6, "bad row: {line}");
        let cert = pem(&dir.join(format!("{}.pem", c[1])));
        let mut data = RevocationData::default();
        for f in c[2].split(',') {
            let bytes = std::fs::read(dir.join(f)).unwrap();
            if f.ends_with(".ocsp") {
                data.ocsps.push((RevSource::Caller, bytes.into()));
            } else {
                data.crls.push((RevSource::Caller, bytes.into()));
            }
        }
        let ctx = Context::new(&data, &[], None, common::at(c[4]));
        let (status, evidence) = status_at(&cert, &issuer, &ctx, common::at(c[3]));
        let got = shown(&status);
        let ok = match c[5].strip_prefix("UNKNOWN:") {
            Some(words) => got.starts_with("UNKNOWN:") && got.contains(words),
            None => got == c[5],
        };
        // A verdict other than unknown rests on evidence marked as used.
        let used = evidence.iter().filter(|e| e.used).count();
        if !ok || (c[5].starts_with("UNKNOWN") == (used > 0)) {
            bad.push(format!(
                "{}: expected {}, got {got} ({used} item(s) used; {evidence:?})",
                c[0], c[5]
            ));
        }
        rows += 1;
    }
    println!(
        "revocation rules: {rows} cases checked, {} wrong",
        bad.len()
    );
    assert!(rows >= 20);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
