//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpora/<sub>` beside the repository, if present. Tests that
/// need it print why they skip when it is absent.
pub fn corpus(sub: &str) -> Option<PathBuf> {
    let base = std::env::var_os("KYSO_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpora"));
    let p = base.join(sub);
    if p.exists() {
        Some(p)
    } else {
        println!(
            "SKIPPED: {} is absent (outside test suites live in ../shared/corpora)",
            p.display()
        );
        None
    }
}

pub fn at(s: &str) -> i64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339 time")
        .unix_timestamp()
}
