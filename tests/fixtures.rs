//! Every fixture in testdata/EXPECTED.tsv gets exactly its expected verdict.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use kyso::pki::TrustStore;
use kyso::validate::{VerifyOptions, verify_path};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn at(s: &str) -> i64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

fn verdict(file: &Path, detached: Option<&Path>, opts: &VerifyOptions) -> String {
    let (report, _) = verify_path(file, detached, opts).unwrap();
    if report.document.error.is_some() {
        return "ERROR".into();
    }
    if report.signatures.is_empty() {
        return "NONE".into();
    }
    report
        .signatures
        .iter()
        .map(|s| {
            let mut v = s.indication.as_str().to_string();
            if let Some(sub) = s.sub_indication {
                v = format!("{v}/{}", sub.as_str());
            }
            if let Some(l) = s.level {
                v = format!("{v}@{}", l.as_str());
            }
            v
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn expected_table_matches_exactly() {
    let table = std::fs::read_to_string(root().join("testdata/EXPECTED.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut rows = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("file\t") && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 7, "bad row: {line}");
        let mut trust = TrustStore::new();
        match cols[2] {
            "test" => {
                trust
                    .load_path(&root().join("certs/test/root.pem"))
                    .unwrap();
            }
            "other" => {
                trust
                    .load_path(&root().join("certs/test/other-root.pem"))
                    .unwrap();
            }
            "live" => {
                trust
                    .load_path(&root().join("testdata/live/certs/root.pem"))
                    .unwrap();
            }
            "none" => {}
            t => panic!("unknown trust {t}"),
        }
        let mut opts = VerifyOptions::new(trust, at(cols[4]));
        if cols[3] != "-" {
            let dir = if cols[3].starts_with("live/") {
                root().join("testdata")
            } else {
                root().join("certs")
            };
            opts.intermediates = kyso::pki::load_certificates(&dir.join(cols[3])).unwrap();
        }
        let rev = root().join("testdata/revocation");
        let (crls, ocsps): (&[&str], &[&str]) = match cols[5] {
            "crl" => (&["root", "issuing-ca"], &[]),
            "stale" => (&["root", "issuing-ca-stale"], &[]),
            "crl-ecoc" => (&["root", "issuing-ca-ecoc"], &[]),
            "ocsp" => (&["root"], &["signer-rsa-good"]),
            "ocsp-unauth" => (&["root"], &["signer-rsa-unauthorised"]),
            "ocsp-revoked" => (&["root"], &["signer-revoked-late-revoked"]),
            "none" => (&[], &[]),
            "optional" => {
                opts.require_revocation = false;
                (&[], &[])
            }
            r => panic!("unknown revocation keyword {r}"),
        };
        for c in crls {
            let der = std::fs::read(rev.join(format!("{c}.crl"))).unwrap();
            opts.revocation
                .crls
                .push((kyso::revocation::RevSource::Caller, der.into()));
        }
        for o in ocsps {
            let der = std::fs::read(rev.join(format!("{o}.ocsp"))).unwrap();
            opts.revocation
                .ocsps
                .push((kyso::revocation::RevSource::Caller, der.into()));
        }
        let file = root().join("testdata").join(cols[0]);
        let det = (cols[1] != "-").then(|| root().join("testdata").join(cols[1]));
        let got = verdict(&file, det.as_deref(), &opts);
        rows += 1;
        if got != cols[6] {
            failures.push(format!("{line}\n    got: {got}"));
        }
    }
    println!(
        "fixtures: {rows} rows checked, {} mismatches",
        failures.len()
    );
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

#[test]
fn every_fixture_file_is_in_the_table() {
    let table = std::fs::read_to_string(root().join("testdata/EXPECTED.tsv")).unwrap();
    for dir in ["pdf", "cms"] {
        for e in std::fs::read_dir(root().join("testdata").join(dir)).unwrap() {
            let e = e.unwrap();
            let name = format!("{dir}/{}", e.file_name().to_string_lossy());
            // pdf/attacks has its own table (testdata/ATTACKS.tsv, tests/attacks.rs).
            if name.ends_with(".txt") || e.path().is_dir() {
                continue;
            }
            assert!(
                table
                    .lines()
                    .any(|l| l.split('\t').next() == Some(name.as_str())),
                "{name} has no row in EXPECTED.tsv"
            );
        }
    }
}

/// Annotations added after signing (testdata/gen/make_realworld.py): under
/// `allow_annotations` a note in the empty margin is accepted (with a
/// warning naming it); a highlight over the signed text never is; and a
/// certification's P=1 or P=2 still forbids them.
#[test]
fn annotations_follow_the_acceptance_policy() {
    let mut trust = TrustStore::new();
    trust
        .load_path(&root().join("certs/test/root.pem"))
        .unwrap();
    let mut opts = VerifyOptions::new(trust, at("2026-11-01T00:00:00Z"));
    for f in ["root.crl", "issuing-ca.crl"] {
        let der = std::fs::read(root().join("testdata/revocation").join(f)).unwrap();
        opts.revocation
            .crls
            .push((kyso::revocation::RevSource::Caller, der.into()));
    }
    let check = |file: &str, opts: &VerifyOptions| {
        let (r, _) = verify_path(&root().join(file), None, opts).unwrap();
        let s = &r.signatures[0];
        let codes: Vec<String> = s
            .checks
            .iter()
            .filter(|c| c.code.starts_with("ANNOTATION"))
            .map(|c| format!("{}:{:?}", c.code, c.outcome))
            .collect();
        (verdict(&root().join(file), None, opts), codes)
    };
    let margin = "testdata/pdf/realworld/annotation-margin-note.pdf";
    let over = "testdata/pdf/realworld/annotation-highlight-over-text.pdf";
    assert_eq!(
        check(margin, &opts),
        (
            "INDETERMINATE/SIG_CONSTRAINTS_FAILURE@B-B".to_string(),
            vec!["ANNOTATIONS_ADDED_AFTER_SIGNING:Failed".to_string()]
        )
    );
    opts.allow_annotations = true;
    assert_eq!(
        check(margin, &opts),
        (
            "TOTAL_PASSED@B-B".to_string(),
            vec!["ANNOTATIONS_ADDED_AFTER_SIGNING:Warning".to_string()]
        )
    );
    assert_eq!(
        check(over, &opts),
        (
            "INDETERMINATE/SIG_CONSTRAINTS_FAILURE@B-B".to_string(),
            vec!["ANNOTATION_OVER_SIGNED_CONTENT:Failed".to_string()]
        )
    );
    // The policy records the setting.
    let (r, _) = verify_path(&root().join(margin), None, &opts).unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["policy"]["allow_annotations"], true,
        "{}",
        json["policy"]
    );
    let level = &json["signatures"][0]["coverage"]["modification_level"];
    assert_eq!(level, "ANNOTATIONS");
}
