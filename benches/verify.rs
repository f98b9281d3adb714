//! In-process verification time for single-signature PDFs of several sizes.
//! Run by benches/verify_vs_sha256.sh, which makes the files first:
//!     cargo bench --bench verify -- target/bench-data/signed-0.1mb.pdf ...
//! Prints one line per file: size, median and best time over the runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kyso::pki::TrustStore;
use kyso::validate::{VerifyOptions, verify_path};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut trust = TrustStore::new();
    trust
        .load_path(&root.join("certs/test/root.pem"))
        .expect("test root");
    let opts = VerifyOptions::new(trust, 1_793_491_200); // 2026-11-01
    let files: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        eprintln!("usage: cargo bench --bench verify -- FILE.pdf...");
        return;
    }
    for f in files {
        let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        let runs = if size > 20 << 20 { 7 } else { 50 };
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let (r, _) = verify_path(&f, None, &opts).expect("readable");
            times.push(t.elapsed());
            assert!(r.summary.all_passed, "{} did not pass", f.display());
        }
        times.sort();
        println!(
            "in-process verify {:>10} bytes  median {:>9.3} ms  best {:>9.3} ms  ({})",
            size,
            times[runs / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            f.display()
        );
    }
}
