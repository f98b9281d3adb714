//! NIST PKITS through kyso's path validator and kyso's own revocation
//! (`revocation::status_at` on every certificate of the path, with the row's
//! CRLs — the code production uses; OpenSSL never sees a CRL).
//! Known differences are in tests/pkits-exceptions.tsv (test number, reason).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use kyso::pki::{PathOptions, TrustStore, validate_path};
use kyso::revocation::{Context, RevSource, RevocationData, Status, status_at};
use openssl::x509::X509;

fn policy_oid(name: &str) -> String {
    match name {
        "anyPolicy" => "2.5.29.32.0".to_string(),
        n => format!(
            "2.16.840.1.101.3.2.1.48.{}",
            n.trim_start_matches("NIST-test-policy-")
        ),
    }
}

#[test]
fn nist_pkits() {
    let Some(dir) = common::corpus("pkits") else {
        return;
    };
    let table = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let exceptions: BTreeMap<String, String> = common::reasons("pkits-exceptions.tsv");
    let (mut passed, mut failed) = (0, 0);
    let mut unexpected = Vec::new();
    for line in table.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let (num, name, want) = (c[0], c[1], c[3] == "true");
        let names: Vec<&str> = c[4].split_whitespace().collect();
        let load = |n: &str| {
            X509::from_der(&std::fs::read(dir.join("certs").join(format!("{n}.crt"))).unwrap())
                .unwrap()
        };
        let mut trust = TrustStore::new();
        trust.add(load(names[0]));
        let leaf = load(names[names.len() - 1]);
        let inter: Vec<X509> = names[1..names.len() - 1].iter().map(|n| load(n)).collect();
        let mut crls = RevocationData::default();
        for n in c[5].split_whitespace() {
            let der = std::fs::read(dir.join("crls").join(format!("{n}.crl"))).unwrap();
            crls.crls.push((RevSource::Caller, der.into()));
        }
        let settings = c.get(6).copied().unwrap_or("");
        let at = common::at("2020-06-01T00:00:00Z");
        let mut opts = PathOptions {
            at,
            ..Default::default()
        };
        for s in settings.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let arg = s
                .split_once('(')
                .map(|(_, a)| a.trim_end_matches(')').trim_matches('"'))
                .unwrap_or("");
            if s.starts_with("info.SetInitialPolicySet") {
                opts.initial_policies = arg.split(',').map(policy_oid).collect();
            } else if s.starts_with("info.SetInitialExplicitPolicy") {
                opts.explicit_policy = arg == "true";
            } else if s.starts_with("info.SetInitialPolicyMappingInhibit") {
                opts.inhibit_policy_mapping = arg == "true";
            } else if s.starts_with("info.SetInitialInhibitAnyPolicy") {
                opts.inhibit_any_policy = arg == "true";
            }
        }
        let got = validate_path(&leaf, &inter, &trust, &opts).unwrap();
        let mut why = got.message.clone();
        let mut ok = got.failure.is_none();
        if ok {
            // RFC 5280 §6.3 for every certificate but the anchor, at the
            // validation time; the row's certificates may sign CRLs.
            let mut pool = inter.clone();
            pool.extend(trust.anchors.iter().cloned());
            let ctx = Context::new(&crls, &pool, got.chain.last(), at);
            for pair in got.chain.windows(2) {
                let (st, ev) = status_at(&pair[0], &pair[1], &ctx, at);
                let good = match &st {
                    Status::Good => true,
                    Status::Revoked { time, .. } => *time > at,
                    Status::OnHold { .. } | Status::Unknown(_) => false,
                };
                if !good {
                    ok = false;
                    why = format!(
                        "{st:?} {:?}",
                        ev.iter().map(|e| e.problem.clone()).collect::<Vec<_>>()
                    );
                    break;
                }
            }
        }
        let key = format!("{num} {name}");
        if ok == want {
            passed += 1;
            if exceptions.contains_key(&key) {
                unexpected.push(format!(
                    "{key}: now passes; remove it from pkits-exceptions.tsv"
                ));
            }
        } else {
            failed += 1;
            if !exceptions.contains_key(&key) {
                unexpected.push(format!("{key}: expected {want}, got {ok} ({why})"));
            }
        }
    }
    let total = passed + failed;
    println!(
        "PKITS: {passed} passed, {failed} failed of {total} ({:.1} %)",
        100.0 * passed as f64 / total as f64
    );
    assert!(
        unexpected.is_empty(),
        "unexpected results:\n{}",
        unexpected.join("\n")
    );
}
