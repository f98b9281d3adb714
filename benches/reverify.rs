//! `kyso archive reverify` throughput next to in-process verification of
//! the same documents, measured in one run (issue 16; target ratio ≥ 0.8):
//!     cargo bench --bench reverify -- [--rounds 5] [--signed 400]
//! The documents: every fixture testdata/EXPECTED.tsv expects TOTAL_PASSED
//! with the test root at 2026-11-01 and the test CRLs (about 30 PDFs and
//! CMS files), and `--signed` more PDFs signed here by the test signer (one
//! second apart: each a distinct document), so that one run goes over an
//! archive of hundreds as a real one does (a run's start — listing the
//! archive, a new verifier thread with empty caches — is paid once per run);
//! all stored through the service (`POST /v1/verify?store=true`).
//! Then, one worker each: `reverify_archive` over the archive (load the
//! intake row, the document and its kept evidence, verify at the intake
//! time, journal the result) and `verify_bytes` over the same bytes with
//! the same trust and CRLs, each on a new thread — each `--rounds` times;
//! documents per second, and for reverify the time to its first result
//! (listing the archive, the first load) and the rate after it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kyso::server::config::{Config, KeyConfig, TrustGroup};

fn main() {
    let (mut rounds, mut signed) = (5usize, 400usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut n = || args.next().and_then(|v| v.parse().ok()).expect("a number");
        match a.as_str() {
            "--rounds" => rounds = n(),
            "--signed" => signed = n(),
            _ => {}
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let files: Vec<PathBuf> = std::fs::read_to_string(root.join("testdata/EXPECTED.tsv"))
        .expect("EXPECTED.tsv")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() >= 7
                && f[1] == "-"
                && f[2] == "test"
                && f[4] == "2026-11-01T00:00:00Z"
                && f[5] == "crl"
                && f[6].starts_with("TOTAL_PASSED"))
            .then(|| root.join("testdata").join(f[0]))
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("kyso-bench-reverify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let mut cfg = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.clone(),
        certs_dir: root.join("certs"),
        fixed_time: Some("2026-11-01T00:00:00Z".into()),
        ..Config::default()
    };
    cfg.trust.insert(
        "test".into(),
        TrustGroup {
            anchors: vec![root.join("certs/test/root.pem")],
            pins: vec![],
            intermediates: vec![],
        },
    );
    let crls = vec![
        root.join("testdata/revocation/root.crl"),
        root.join("testdata/revocation/issuing-ca.crl"),
    ];
    cfg.revocation.crls = crls.clone();
    cfg.keys = vec![KeyConfig {
        id: "portal-bench".into(),
        role: "portal".into(),
        sha256: kyso::archive::sha256_hex(b"bench-portal-secret"),
    }];
    cfg.policy.default = Some(kyso::server::policy::Policy {
        trust: vec!["test".into()],
        ..Default::default()
    });
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut docs: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).expect("fixture"))
        .collect();
    let mut names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    {
        let chain =
            kyso::pki::load_certificates(&root.join("certs/test/issuing-ca.pem")).expect("chain");
        let key = kyso::sign::keys::SoftKey::from_pem(
            &root.join("certs/test/signer-rsa.key.pem"),
            &root.join("certs/test/signer-rsa.pem"),
            &chain,
            false,
        )
        .expect("signer");
        let base = std::fs::read(root.join("testdata/pdf/unsigned.pdf")).expect("unsigned.pdf");
        for i in 0..signed {
            let opts = kyso::sign::SignOptions {
                time: 1_793_404_800 + i as i64,
                ..Default::default()
            };
            docs.push(
                kyso::sign::sign_pdf_level(
                    &base,
                    &key,
                    &opts,
                    kyso::sign::SignLevel::BB,
                    &Default::default(),
                )
                .expect("signing"),
            );
            names.push(format!("signed-{i}.pdf"));
        }
    }
    rt.block_on(async {
        let s = kyso::server::start(cfg.clone()).await.expect("server");
        let http = reqwest::Client::new();
        for d in &docs {
            let r = http
                .post(format!("http://{}/v1/verify?store=true", s.addr))
                .bearer_auth("bench-portal-secret")
                .body(d.clone())
                .send()
                .await
                .expect("post");
            assert!(r.status().is_success(), "{}", r.status());
        }
        let _ = s.shutdown.send(());
        let _ = s.task.await;
    });
    let n = docs.len();

    // In-process: the same bytes, trust, CRLs and time, one thread.
    let mut store = kyso::pki::TrustStore::new();
    store
        .load_path(&root.join("certs/test/root.pem"))
        .expect("root");
    let mut opts = kyso::VerifyOptions::new(store, 1_793_491_200);
    for c in &crls {
        let der: kyso::revocation::Raw =
            kyso::revocation::crl_der(std::fs::read(c).expect("crl")).into();
        opts.revocation
            .crls
            .push((kyso::revocation::RevSource::Caller, der));
    }
    // Reverify over the archive, one worker; the two measured in turns
    // (a pass of each per round), so that both see the same machine: on a
    // shared one, throughput moves by 15 % from one minute to the next.
    let policy = cfg.policy.default.clone().unwrap_or_default();
    // On a runtime of one thread, as `kyso archive reverify` runs it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let archive = rt
        .block_on(kyso::server::open_archive(&cfg))
        .expect("archive");
    let journal = dir.join("journal.jsonl");
    let (mut t_in, mut t_re) = (Duration::ZERO, Duration::ZERO);
    let mut same = 0;
    let mut pairs = Vec::new();
    let (mut first_ms, mut tail_ms, mut steady) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        // On a thread of its own, as each reverify run's verifier is: both
        // start with empty per-thread tables (parsed certificates, CRLs).
        let t = Instant::now();
        std::thread::scope(|sc| {
            sc.spawn(|| {
                for (d, f) in docs.iter().zip(&names) {
                    let (r, _) = kyso::verify_bytes(d, None, f, &opts);
                    std::hint::black_box(r);
                }
            });
        });
        let one_in = t.elapsed();
        let t = Instant::now();
        // When the first and the last result came: the run's start (the
        // archive listed, the first document loaded and judged) apart.
        let marks = std::sync::Mutex::new((None, None));
        let s = rt
            .block_on(kyso::server::reverify::reverify_archive(
                &archive,
                &policy,
                &kyso::revocation::RevocationData::default(),
                None,
                1,
                &journal,
                &|done, total| {
                    if let Ok(mut m) = marks.lock() {
                        if done == 1 {
                            m.0 = Some(t.elapsed());
                        }
                        if done == total {
                            m.1 = Some(t.elapsed());
                        }
                    }
                },
            ))
            .expect("reverify");
        let one_re = t.elapsed();
        if let Ok((Some(first), Some(last))) = marks.into_inner() {
            first_ms.push(first.as_secs_f64() * 1e3);
            tail_ms.push((one_re - last).as_secs_f64() * 1e3);
            steady.push((n - 1) as f64 / (last - first).as_secs_f64());
        }
        assert_eq!(s.documents, n);
        same = s.same;
        let _ = std::fs::remove_file(dir.join("journal.jsonl.last"));
        pairs.push(format!(
            "{:.2}",
            one_in.as_secs_f64() / one_re.as_secs_f64()
        ));
        (t_in, t_re) = (t_in + one_in, t_re + one_re);
    }
    let inproc = (n * rounds) as f64 / t_in.as_secs_f64();
    let re = (n * rounds) as f64 / t_re.as_secs_f64();
    println!(
        "{n} documents × {rounds} rounds, one worker: archive reverify {re:.0} documents/s, in-process verification {inproc:.0} documents/s, ratio {:.2} (target ≥ 0.8; per round: {}); {same} of {n} unchanged",
        re / inproc,
        pairs.join(" ")
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "reverify run: first result after {:.1} ms, last result to return {:.1} ms, between them {:.0} documents/s ({:.2} of in-process)",
        mean(&first_ms),
        mean(&tail_ms),
        mean(&steady),
        mean(&steady) / inproc
    );
    let _ = std::fs::remove_dir_all(&dir);
}
