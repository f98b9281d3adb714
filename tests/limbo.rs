//! x509-limbo through kyso's path validator. Known differences are listed in
//! tests/limbo-exceptions.tsv (id, reason); any other difference fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use kyso::pki::{KeyPolicy, PathOptions, TrustStore, validate_path};
use kyso::revocation::{Context, RevSource, RevocationData, Status, status_at};
use openssl::x509::{X509, X509Crl, X509PurposeId};
use serde_json::Value;

/// Validation time for cases that give none ("now" at regeneration time).
const DEFAULT_TIME: &str = "2026-07-01T00:00:00Z";

fn pems(v: &Value) -> Vec<X509> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| X509::from_pem(p.as_str()?.as_bytes()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Ok(true) = chain accepted, Ok(false) = rejected, Err = cannot run (skip).
fn run_case(tc: &Value) -> Result<bool, String> {
    let Some(peer) = tc["peer_certificate"]
        .as_str()
        .and_then(|p| X509::from_pem(p.as_bytes()).ok())
    else {
        return Ok(false); // an unreadable leaf is a rejection
    };
    let mut trust = TrustStore::new();
    for c in pems(&tc["trusted_certs"]) {
        trust.add(c);
    }
    let untrusted = pems(&tc["untrusted_intermediates"]);
    let at = match tc["validation_time"].as_str() {
        Some(t) => common::at(&t.replace("+00:00", "Z")),
        None => common::at(DEFAULT_TIME),
    };
    let crls: Vec<X509Crl> = tc["crls"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| X509Crl::from_pem(p.as_str()?.as_bytes()).ok())
                .collect()
        })
        .unwrap_or_default();
    // kyso's default key policy applies to every certificate of the path.
    let mut opts = PathOptions {
        at,
        partial_chain: true,
        key_policy: Some(KeyPolicy::default()),
        ..Default::default()
    };
    let server = tc["validation_kind"].as_str() == Some("SERVER");
    // The EKUs the case asks the validator to require of the leaf.
    let ekus: Vec<&str> = tc["extended_key_usage"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e.as_str()).collect())
        .unwrap_or_default();
    opts.purpose = match (ekus.contains(&"serverAuth"), ekus.contains(&"clientAuth")) {
        (true, _) => Some(X509PurposeId::SSL_SERVER),
        (_, true) => Some(X509PurposeId::SSL_CLIENT),
        _ if std::env::var_os("LIMBO_PURPOSE_BY_KIND").is_some() => Some(if server {
            X509PurposeId::SSL_SERVER
        } else {
            X509PurposeId::SSL_CLIENT
        }),
        _ => None,
    };
    // Server cases are web-PKI TLS server validation: the CA/B Forum profile applies.
    opts.web_pki_server = server;
    if server {
        match (
            tc["expected_peer_name"]["kind"].as_str(),
            tc["expected_peer_name"]["value"].as_str(),
        ) {
            (Some("DNS"), Some(v)) => opts.host = Some(v.to_string()),
            (Some("IP"), Some(v)) => opts.ip = Some(v.parse().map_err(|_| format!("bad IP {v}"))?),
            (Some(k), _) => return Err(format!("peer name kind {k}")),
            _ => {}
        }
    }
    if let Some(d) = tc["max_chain_depth"].as_i64() {
        opts.max_depth = Some(d as i32);
    }
    let out = validate_path(&peer, &untrusted, &trust, &opts).map_err(|e| e.to_string())?;
    if std::env::var_os("LIMBO_DEBUG").is_some() {
        println!("{}: {:?} {}", tc["id"], out.failure, out.message);
    }
    if out.failure.is_some() || crls.is_empty() {
        return Ok(out.failure.is_none());
    }
    // With CRLs: kyso's own revocation (RFC 5280 §6.3) on every certificate
    // of the path but its anchor, as production runs it.
    let mut data = RevocationData::default();
    for c in &crls {
        data.crls.push((
            RevSource::Caller,
            c.to_der().map_err(|e| e.to_string())?.into(),
        ));
    }
    let mut pool = untrusted.clone();
    pool.extend(trust.anchors.iter().cloned());
    let ctx = Context::new(&data, &pool, out.chain.last(), at);
    for pair in out.chain.windows(2) {
        let (st, ev) = status_at(&pair[0], &pair[1], &ctx, at);
        if std::env::var_os("LIMBO_DEBUG").is_some() {
            println!(
                "  {st:?} {:?}",
                ev.iter().map(|e| &e.problem).collect::<Vec<_>>()
            );
        }
        let good = match st {
            Status::Good => true,
            Status::Revoked { time, .. } => time > at,
            Status::OnHold { .. } | Status::Unknown(_) => false,
        };
        if !good {
            return Ok(false);
        }
    }
    Ok(true)
}

#[test]
fn x509_limbo() {
    let Some(dir) = common::corpus("x509-limbo") else {
        return;
    };
    let doc: Value = serde_json::from_slice(
        &std::fs::read(dir.join("limbo-regenerated-HEAD-8a2e6f4-no-bettertls.json")).unwrap(),
    )
    .unwrap();
    let exceptions: BTreeMap<String, String> = common::reasons("limbo-exceptions.tsv");
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut unexpected = Vec::new();
    for tc in doc["testcases"].as_array().unwrap() {
        let id = tc["id"].as_str().unwrap().to_string();
        let want = tc["expected_result"].as_str() == Some("SUCCESS");
        match run_case(tc) {
            Err(why) => {
                skipped += 1;
                println!("skip {id}: {why}");
            }
            Ok(got) if got == want => {
                passed += 1;
                if exceptions.contains_key(&id) {
                    unexpected.push(format!(
                        "{id}: now passes; remove it from limbo-exceptions.tsv"
                    ));
                }
            }
            Ok(got) => {
                failed += 1;
                if !exceptions.contains_key(&id) {
                    unexpected.push(format!(
                        "{id}: expected {}, got {}",
                        if want { "SUCCESS" } else { "FAILURE" },
                        if got { "SUCCESS" } else { "FAILURE" }
                    ));
                }
            }
        }
    }
    println!(
        "x509-limbo: {passed} passed, {failed} failed, {skipped} skipped (of {})",
        passed + failed + skipped
    );
    assert!(
        unexpected.is_empty(),
        "unexpected results:\n{}",
        unexpected.join("\n")
    );
}
