//! PDF signature attacks (USF, ISA, SWA, shadow, evil annotation, sneaky
//! signature) and honest counterparts: testdata/ATTACKS.tsv gives each file's
//! exact verdict and the check code that must name the cause.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::root;
use kyso::pki::TrustStore;
use kyso::report::Outcome;
use kyso::revocation::RevSource;
use kyso::validate::{VerifyOptions, verify_path};

#[test]
fn attacks_never_pass_and_name_their_cause() {
    let mut trust = TrustStore::new();
    trust
        .load_path(&root().join("certs/test/root.pem"))
        .unwrap();
    let mut opts = VerifyOptions::new(trust, common::at("2026-11-01T00:00:00Z"));
    for c in ["root", "issuing-ca"] {
        let der = std::fs::read(root().join(format!("testdata/revocation/{c}.crl"))).unwrap();
        opts.revocation.crls.push((RevSource::Caller, der.into()));
    }
    let table = std::fs::read_to_string(root().join("testdata/ATTACKS.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut rows = 0;
    let mut listed = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("file\t") && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "bad row: {line}");
        listed.push(cols[0].to_string());
        let (r, _) = verify_path(
            &root().join("testdata/pdf/attacks").join(cols[0]),
            None,
            &opts,
        )
        .unwrap();
        rows += 1;
        let got = if r.signatures.is_empty() {
            "NONE".to_string()
        } else {
            r.signatures
                .iter()
                .map(|s| match s.sub_indication {
                    Some(sub) => format!("{}/{}", s.indication.as_str(), sub.as_str()),
                    None => s.indication.as_str().to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        if got != cols[1] {
            failures.push(format!("{}: expected {}, got {got}", cols[0], cols[1]));
        }
        if cols[2] != "-" {
            let named = r
                .signatures
                .first()
                .into_iter()
                .flat_map(|s| s.checks.iter())
                .chain(r.document.notes.iter())
                .any(|c| c.code == cols[2] && c.outcome == Outcome::Failed);
            if !named {
                failures.push(format!("{}: no failed check {}", cols[0], cols[2]));
            }
        } else if !cols[0].starts_with("honest-") && !cols[0].starts_with("shadow-prepared") {
            failures.push(format!("{}: an attack needs a cause code", cols[0]));
        }
    }
    for e in std::fs::read_dir(root().join("testdata/pdf/attacks")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !listed.contains(&name) {
            failures.push(format!("{name} has no row in ATTACKS.tsv"));
        }
    }
    println!("attacks: {rows} files checked, {} problems", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
