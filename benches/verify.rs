//! In-process verification time of signed PDFs.
//!     cargo bench --bench verify -- [--trust PEM] [--at RFC3339] [--revocation required|optional]
//!                                   [--runs N] FILE.pdf...
//! Defaults: the test root, 2026-11-01, revocation optional (the generated
//! size-bench files carry no revocation data), 50 runs (7 above 20 MB).
//! Every run must pass. Prints one line per file: size, median and best time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kyso::pki::TrustStore;
use kyso::validate::{VerifyOptions, verify_path};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut trust_path = root.join("certs/test/root.pem");
    let mut at = 1_793_491_200; // 2026-11-01
    let mut require = false;
    let mut runs_arg: Option<usize> = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--trust" => trust_path = PathBuf::from(args.next().expect("--trust PEM")),
            "--at" => {
                let s = args.next().expect("--at TIME");
                at = kyso::pki::cert::parse_rfc3339(&s).expect("RFC 3339 time");
            }
            "--revocation" => require = args.next().as_deref() == Some("required"),
            "--runs" => runs_arg = args.next().and_then(|n| n.parse().ok()),
            s if s.starts_with("--") => {} // cargo bench's own flags
            f => files.push(PathBuf::from(f)),
        }
    }
    if files.is_empty() {
        eprintln!("usage: cargo bench --bench verify -- [options] FILE.pdf...");
        return;
    }
    let mut trust = TrustStore::new();
    trust.load_path(&trust_path).expect("trust anchor");
    let mut opts = VerifyOptions::new(trust, at);
    opts.require_revocation = require;
    for f in files {
        let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        let runs = runs_arg
            .unwrap_or(if size > 20 << 20 { 7 } else { 50 })
            .max(1);
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
