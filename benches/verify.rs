//! In-process verification time of signed documents (PDF, CMS, XML).
//!     cargo bench --bench verify -- [--trust PEM] [--intermediates PEM] [--at RFC3339]
//!                                   [--revocation required|optional] [--runs N] FILE...
//! Defaults: the test root, 2026-11-01, revocation optional (the generated
//! size-bench files carry no revocation data), 50 runs (7 above 20 MB).
//! Every run must pass. Prints one line per file: size, median and best time.
//! `--throughput SECS [--threads N]`: instead, verify each file from memory
//! on N threads (default: all cores) for SECS seconds and print documents/s
//! (the in-process reference of benches/load.sh).
//! `--sha256-parts`: for ZIP packages (Office/ODF), also the time to
//! SHA-256 every part already inflated in memory, and to inflate and
//! SHA-256 them (the references of benches/package.sh), with the ratios,
//! and the process's peak RSS after the file's verification runs.

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
    let mut throughput: Option<f64> = None;
    let mut sha256_parts = false;
    let mut threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut files = Vec::new();
    let mut intermediates = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--trust" => trust_path = PathBuf::from(args.next().expect("--trust PEM")),
            "--intermediates" => intermediates.extend(
                kyso::pki::load_certificates(&PathBuf::from(
                    args.next().expect("--intermediates PEM"),
                ))
                .expect("intermediate certificates"),
            ),
            "--at" => {
                let s = args.next().expect("--at TIME");
                at = kyso::pki::cert::parse_rfc3339(&s).expect("RFC 3339 time");
            }
            "--revocation" => require = args.next().as_deref() == Some("required"),
            "--runs" => runs_arg = args.next().and_then(|n| n.parse().ok()),
            "--throughput" => throughput = args.next().and_then(|n| n.parse().ok()),
            "--sha256-parts" => sha256_parts = true,
            "--threads" => threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(threads),
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
    opts.intermediates = intermediates;
    if let Some(secs) = throughput {
        for f in &files {
            let data = std::fs::read(f).expect("readable");
            let start = Instant::now();
            let done = std::sync::atomic::AtomicU64::new(0);
            std::thread::scope(|s| {
                for _ in 0..threads.max(1) {
                    s.spawn(|| {
                        while start.elapsed().as_secs_f64() < secs {
                            let (r, _) = kyso::verify_bytes(&data, None, "bench", &opts);
                            assert!(r.summary.all_passed, "{} did not pass", f.display());
                            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    });
                }
            });
            let n = done.load(std::sync::atomic::Ordering::Relaxed);
            println!(
                "in-process throughput {:.1} docs/s ({n} in {:.1} s on {threads} threads, {} bytes, {})",
                n as f64 / start.elapsed().as_secs_f64(),
                start.elapsed().as_secs_f64(),
                data.len(),
                f.display()
            );
        }
        return;
    }
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
        let median = times[runs / 2];
        println!(
            "in-process verify {:>10} bytes  median {:>9.3} ms  best {:>9.3} ms  ({})",
            size,
            median.as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            f.display()
        );
        if sha256_parts {
            println!(
                "  peak RSS of this process so far {:.1} MiB (target 64)",
                peak_rss_kib() as f64 / 1024.0
            );
            parts_reference(&f, runs, median);
        }
    }
}

/// SHA-256 of every part of a package, inflated beforehand, and inflate +
/// SHA-256; medians over `runs`, printed with `verify`'s ratio to each.
fn parts_reference(f: &std::path::Path, runs: usize, verify: Duration) {
    use std::io::Read;
    let data = std::fs::read(f).expect("readable");
    let inflate = || -> Vec<Vec<u8>> {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(&data)).expect("a ZIP package");
        (0..z.len())
            .map(|i| {
                let mut e = z.by_index(i).expect("an entry");
                let mut b = Vec::new();
                e.read_to_end(&mut b).expect("inflates");
                b
            })
            .collect()
    };
    let parts = inflate();
    let total: usize = parts.iter().map(Vec::len).sum();
    let median = |mut t: Vec<Duration>| {
        t.sort();
        t[t.len() / 2]
    };
    let hash_only = median(
        (0..runs.max(3))
            .map(|_| {
                let t = Instant::now();
                for p in &parts {
                    std::hint::black_box(openssl::sha::sha256(p));
                }
                t.elapsed()
            })
            .collect(),
    );
    let inflate_hash = median(
        (0..runs.max(3))
            .map(|_| {
                let t = Instant::now();
                for p in inflate() {
                    std::hint::black_box(openssl::sha::sha256(&p));
                }
                t.elapsed()
            })
            .collect(),
    );
    println!(
        "  {} parts, {total} bytes inflated: SHA-256 {:.3} ms (verify / it = {:.2}, target 2.0); inflate + SHA-256 {:.3} ms (verify / it = {:.2})",
        parts.len(),
        hash_only.as_secs_f64() * 1e3,
        verify.as_secs_f64() / hash_only.as_secs_f64(),
        inflate_hash.as_secs_f64() * 1e3,
        verify.as_secs_f64() / inflate_hash.as_secs_f64(),
    );
}

/// This process's peak resident set, in KiB.
fn peak_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    #[allow(unsafe_code)]
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru.ru_maxrss
    }
}
