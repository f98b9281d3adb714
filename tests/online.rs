//! `kyso verify --online` against a live test PKI: certomancer's `animate`
//! (OCSP, CRLs, TSA) started on 127.0.0.1:9817 for the length of the test,
//! from testdata/live/certomancer.yml. The certificates' AIA/CDP point there;
//! two more responders are a port where nothing listens (9819) and a server
//! this test runs that accepts and never answers (9818).
//!
//! Without certomancer (looked up as $KYSO_CERTOMANCER, .venv/bin/certomancer,
//! then on PATH) the test prints SKIPPED; with KYSO_REQUIRE_LIVE=1 (set by
//! .ci/run) it fails instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "support/services.rs"]
mod services;

use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::root;

/// A responder that accepts connections and never answers, for `secs` seconds.
fn silent_server(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let l = TcpListener::bind("127.0.0.1:9818").expect("bind 127.0.0.1:9818");
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        let until = Instant::now() + Duration::from_secs(60);
        while !stop.load(Ordering::Relaxed) && Instant::now() < until && held.len() < 16 {
            match l.accept() {
                Ok((s, _)) => held.push(s),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })
}

fn verify(file: &str, extra: &[&str]) -> (serde_json::Value, Duration) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_kyso"))
        .current_dir(root())
        .args(["verify", file, "--trust", "testdata/live/certs/root.pem"])
        .args(["--format", "json", "--fetch-timeout-ms", "2000"])
        .args(extra)
        .output()
        .unwrap();
    let took = t.elapsed();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (v, took)
}

fn verdict(v: &serde_json::Value) -> String {
    let s = &v["signatures"][0];
    match s["sub_indication"].as_str() {
        Some(sub) => format!("{}/{sub}", s["indication"].as_str().unwrap()),
        None => s["indication"].as_str().unwrap().to_string(),
    }
}

fn sources(v: &serde_json::Value) -> Vec<String> {
    v["signatures"][0]["revocation"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["used"] == true)
                .map(|e| {
                    format!(
                        "{}:{}",
                        e["source"].as_str().unwrap(),
                        e["status"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn online_revocation_against_live_pki() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let silent = silent_server(stop.clone());

    // Offline, nothing is known.
    let (v, _) = verify("testdata/live/good.pdf", &[]);
    assert_eq!(verdict(&v), "INDETERMINATE/TRY_LATER");

    // A good certificate: OCSP from the AIA, the CA's CRL from its distribution point.
    let cache = std::env::temp_dir().join(format!("kyso-revcache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let cache_s = cache.to_str().unwrap();
    let (v, _) = verify(
        "testdata/live/good.pdf",
        &["--online", "--revocation-cache", cache_s],
    );
    assert_eq!(verdict(&v), "TOTAL_PASSED");
    assert_eq!(sources(&v), ["ONLINE:GOOD", "ONLINE:GOOD"]);
    let cached = std::fs::read_dir(&cache).unwrap().count();
    assert_eq!(cached, 2, "one OCSP response and one CRL cached");

    // The cache alone, without network.
    let (v, _) = verify("testdata/live/good.pdf", &["--revocation-cache", cache_s]);
    assert_eq!(verdict(&v), "TOTAL_PASSED");
    assert_eq!(sources(&v), ["CACHE:GOOD", "CACHE:GOOD"]);

    // Revoked since 2026-01-01, signed later, no timestamp.
    let (v, _) = verify("testdata/live/revoked.pdf", &["--online"]);
    assert_eq!(verdict(&v), "INDETERMINATE/REVOKED_NO_POE");
    assert_eq!(sources(&v)[0], "ONLINE:REVOKED");

    // B-T: the TSA's path is checked online too.
    let (v, _) = verify(
        "testdata/live/b-t.pdf",
        &[
            "--online",
            "--intermediates",
            "testdata/live/certs/interm.pem",
        ],
    );
    assert_eq!(verdict(&v), "TOTAL_PASSED");
    assert_eq!(v["signatures"][0]["level"], "B-T");

    // Responder down: TRY_LATER at once.
    let (v, took) = verify("testdata/live/down.pdf", &["--online"]);
    assert_eq!(verdict(&v), "INDETERMINATE/TRY_LATER");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let text = v.to_string();
    assert!(text.contains("cannot connect to 127.0.0.1:9819"), "{text}");

    // Responder that never answers: TRY_LATER after the 2 s deadline, not a hang.
    let (v, took) = verify("testdata/live/slow.pdf", &["--online"]);
    assert_eq!(verdict(&v), "INDETERMINATE/TRY_LATER");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "took {took:?}"
    );
    assert!(v.to_string().contains("no complete answer within 2000 ms"));
    println!(
        "online: good/cache/revoked/b-t/down/slow as expected; slow responder cut after {took:?}"
    );

    stop.store(true, Ordering::Relaxed);
    silent.join().unwrap();
    let _ = std::fs::remove_dir_all(&cache);
}
