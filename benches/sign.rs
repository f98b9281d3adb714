//! In-process signing time: PAdES B-B (or higher) of a PDF with a PKCS#12 key.
//!     cargo bench --bench sign -- FILE.pdf KEY.p12 PASSWORD RUNS [LEVEL TSA_URL CHAIN.pem...]
//! Every result is checked to verify (the first one). Prints the median and best time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kyso::sign::keys::SoftKey;
use kyso::sign::{Services, SignLevel, SignOptions, sign_pdf_level};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.len() < 4 {
        eprintln!(
            "usage: cargo bench --bench sign -- FILE.pdf KEY.p12 PASSWORD RUNS [LEVEL TSA_URL CHAIN.pem...]"
        );
        return;
    }
    let data = std::fs::read(&args[0]).expect("input PDF");
    let mut key = SoftKey::from_pkcs12(&PathBuf::from(&args[1]), &args[2], false).expect("PKCS#12");
    let runs: usize = args[3].parse().expect("RUNS");
    let level = args
        .get(4)
        .and_then(|l| SignLevel::parse(l))
        .unwrap_or(SignLevel::BB);
    let services = Services {
        tsa_url: args.get(5).cloned(),
        ..Services::default()
    };
    let mut chain = Vec::new();
    for c in args.iter().skip(6) {
        chain.extend(kyso::pki::load_certificates(&PathBuf::from(c)).expect("chain"));
    }
    if !chain.is_empty() {
        key = SoftKey::from_parts(key, chain).expect("chain");
    }
    let opts = SignOptions {
        time: 1_793_491_200,
        ..SignOptions::default()
    };
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut out_len = 0;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let signed = sign_pdf_level(&data, &key, &opts, level, &services).expect("signing");
        times.push(t.elapsed());
        out_len = signed.len();
    }
    times.sort();
    println!(
        "kyso_ms median {:.3} best {:.3} ({} runs, {} -> {} bytes, {:?})",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times.len(),
        data.len(),
        out_len,
        level
    );
}
