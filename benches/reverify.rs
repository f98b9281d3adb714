//! `kyso archive reverify` throughput next to in-process verification of
//! the same documents, measured in one run (issue 16; target ratio ≥ 0.8):
//!     cargo bench --bench reverify -- [--rounds 20]
//! The documents: every fixture testdata/EXPECTED.tsv expects TOTAL_PASSED
//! with the test root at 2026-11-01 and the test CRLs (about 30 PDFs and
//! CMS files), stored through the service (`POST /v1/verify?store=true`).
//! Then, one worker each: `reverify_archive` over the archive (load the
//! intake row, the document and its kept evidence, verify at the intake
//! time, journal the result) and `verify_bytes` over the same bytes with
//! the same trust and CRLs — each `--rounds` times; documents per second.

use std::path::PathBuf;
use std::time::Instant;

use kyso::server::config::{Config, KeyConfig, TrustGroup};

fn main() {
    let mut rounds = 20usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--rounds" {
            rounds = args
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--rounds N");
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
    let docs: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).expect("fixture"))
        .collect();
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
    let t = Instant::now();
    for _ in 0..rounds {
        for (d, f) in docs.iter().zip(&files) {
            let (r, _) = kyso::verify_bytes(d, None, &f.to_string_lossy(), &opts);
            std::hint::black_box(r);
        }
    }
    let inproc = (n * rounds) as f64 / t.elapsed().as_secs_f64();

    // Reverify over the archive, one worker.
    let policy = cfg.policy.default.clone().unwrap_or_default();
    let archive = rt
        .block_on(kyso::server::open_archive(&cfg))
        .expect("archive");
    let journal = dir.join("journal.jsonl");
    let t = Instant::now();
    let mut same = 0;
    for _ in 0..rounds {
        let s = rt
            .block_on(kyso::server::reverify::reverify_archive(
                &archive,
                &policy,
                &kyso::revocation::RevocationData::default(),
                None,
                1,
                &journal,
                &|_, _| {},
            ))
            .expect("reverify");
        assert_eq!(s.documents, n);
        same = s.same;
        let _ = std::fs::remove_file(dir.join("journal.jsonl.last"));
    }
    let re = (n * rounds) as f64 / t.elapsed().as_secs_f64();
    println!(
        "{n} documents × {rounds} rounds, one worker: archive reverify {re:.0} documents/s, in-process verification {inproc:.0} documents/s, ratio {:.2} (target ≥ 0.8); {same} of {n} unchanged",
        re / inproc
    );
    let _ = std::fs::remove_dir_all(&dir);
}
