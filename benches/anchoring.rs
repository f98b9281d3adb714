//! Anchoring rounds at scale (issue 16):
//!     cargo bench --bench anchoring -- [--n 1000000] [--postgres URL]
//! For n = 10^3 and the given n (default 10^6) random SHA-256 leaves
//! ("hashes only": no blob is read): the hash tree's build time next to
//! SHA-256 of the same 32·n bytes in one pass (the reference, same run),
//! the time to derive every leaf's reduced tree, the size of one evidence
//! record (its reduced tree, and the whole DER with a real-sized token),
//! and — for the store's part of a round — storing the n members in one
//! SQLite transaction, and with `--postgres` (e.g. `host=127.0.0.1
//! user=postgres dbname=test`) in one PostgreSQL transaction too (a schema
//! of its own, dropped after). Then a hash-tree renewal of that stored
//! round to SHA-512 (`Archive::renew_hash_trees`: each member's data hashed
//! again and joined with its record, a new tree, one stamp, the renewed
//! members stored), with a stand-in token. Peak RSS (VmHWM) after each size.

use std::sync::Arc;
use std::time::Instant;

use kyso::archive::anchor::{SharedStamper, reference_leaf};
use kyso::archive::{AnchorMember, MetaStore, RoundRecord};
use kyso::crypto::DigestAlg;
use kyso::ers::{ArchiveTimeStamp, EvidenceRecord, HashTree};

fn vm_hwm_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let mut big = 1_000_000usize;
    let mut pg_url: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--n" {
            big = args.next().and_then(|v| v.parse().ok()).expect("--n N");
        } else if a == "--postgres" {
            pg_url = Some(args.next().expect("--postgres URL"));
        }
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // A token of the size the live TSA gives (RSA-2048, TSA certificate carried).
    let token = vec![0x30u8; 2600];
    for n in [1000usize, big] {
        // Each a row's reference to a blob (so that a hash-tree renewal
        // hashes its data again without reading a blob): random names.
        let named: Vec<(String, String)> = (0..n)
            .map(|i| {
                (
                    format!("report {i} of document 0"),
                    hex::encode(rand::random::<[u8; 32]>()),
                )
            })
            .collect();
        let leaves: Vec<Vec<u8>> = named
            .iter()
            .map(|(place, sha)| hex::decode(reference_leaf(place, sha)).expect("hex"))
            .collect();
        let flat: Vec<u8> = leaves.concat();
        let t = Instant::now();
        let reference = openssl::sha::sha256(&flat);
        let sha_ms = t.elapsed().as_secs_f64() * 1e3;
        std::hint::black_box(reference);
        // The tree's own hashing: about n hashes of 64 bytes.
        let t = Instant::now();
        for w in flat.chunks(64) {
            std::hint::black_box(openssl::sha::sha256(w));
        }
        for w in flat.chunks(64) {
            std::hint::black_box(openssl::sha::sha256(w));
        }
        let pairs_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let tree = HashTree::build(DigestAlg::Sha256, leaves.clone()).expect("tree");
        let build_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let mut longest = 0;
        for l in &leaves {
            let r = tree.reduced(l).expect("leaf").map_or(0, |r| r.len());
            longest = longest.max(r);
        }
        let paths_ms = t.elapsed().as_secs_f64() * 1e3;
        let reduced = tree.reduced(&leaves[0]).expect("leaf");
        let reduced_bytes: usize = reduced.iter().flatten().map(|l| l.len() * 34 + 2).sum();
        let ats = ArchiveTimeStamp::new(DigestAlg::Sha256, reduced, token.clone()).expect("ats");
        let record = EvidenceRecord::new(ats).expect("record").to_der().len();
        // The store's part: n members in one SQLite transaction.
        let dir =
            std::env::temp_dir().join(format!("kyso-bench-anchor-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let meta = Arc::new(
            kyso::archive::sqlite::SqliteMeta::open(&dir.join("kyso.sqlite3")).expect("sqlite"),
        );
        let members: Vec<AnchorMember> = named
            .iter()
            .zip(&leaves)
            .map(|((place, sha), l)| AnchorMember {
                place: place.clone(),
                sha256: sha.clone(),
                leaf: hex::encode(l),
                round: 0,
            })
            .collect();
        let round = RoundRecord {
            id: 0,
            created: "2026-12-03T00:00:00Z".into(),
            digest: "SHA-256".into(),
            root: hex::encode(tree.root()),
            token: token.clone(),
            audit_seq: 0,
            audit_head: String::new(),
            members: n as u64,
            marks: Default::default(),
            renewals: Vec::new(),
            hash_renewal: false,
            renewed_by: 0,
        };
        let t = Instant::now();
        let id = rt
            .block_on(meta.store_round(&round, &members))
            .expect("store");
        let store_ms = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(id, Some(1));
        // Hash-tree renewal of that round to SHA-512 (RFC 4998 §5.2): every
        // member's data hashed again, joined with its record's hash, one
        // new tree, one stamp, n renewed members stored in one transaction.
        let archive = kyso::archive::Archive {
            meta: meta.clone(),
            blobs: Arc::new(kyso::archive::blobs::FileBlobs::open(&dir).expect("blobs")),
        };
        let stamp = token.clone();
        let stamper: SharedStamper = Arc::new(move |_, _| Ok(stamp.clone()));
        let t = Instant::now();
        let renewed = rt
            .block_on(archive.renew_hash_trees(DigestAlg::Sha512, "2026-12-03T00:01:00Z", stamper))
            .expect("renewal");
        let renew_ms = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(
            renewed,
            kyso::archive::anchor::RoundOutcome::Anchored {
                round: 2,
                members: n
            }
        );
        let renew_rss = vm_hwm_mib();
        drop(archive);
        let _ = std::fs::remove_dir_all(&dir);
        let pg_ms = pg_url.as_ref().map(|url| {
            let cfg = kyso::archive::postgres::PgConfig {
                url: url.clone(),
                schema: format!("kyso_bench_{}_{n}", std::process::id()),
                pool_size: 2,
            };
            rt.block_on(async {
                let meta = kyso::archive::postgres::PgMeta::connect(&cfg)
                    .await
                    .expect("postgres");
                let t = Instant::now();
                let id = meta.store_round(&round, &members).await.expect("store");
                let ms = t.elapsed().as_secs_f64() * 1e3;
                assert!(id.is_some());
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("postgres");
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP SCHEMA {} CASCADE", cfg.schema))
                    .await
                    .expect("drop schema");
                ms
            })
        });
        let pg = pg_ms.map_or(String::new(), |ms| format!(", (PostgreSQL) {ms:.0} ms"));
        println!(
            "n = {n}: tree {build_ms:.1} ms (SHA-256 of the {} MB of leaves in one pass {sha_ms:.1} ms, ratio {:.1}; \
             n SHA-256 of 64 bytes, the tree's hashing alone, {pairs_ms:.1} ms); \
             all {n} reduced trees {paths_ms:.1} ms; reduced tree {} lists, {reduced_bytes} bytes; \
             one evidence record {record} bytes (token {} bytes); store {n} members (SQLite) {store_ms:.0} ms{pg}; \
             hash-tree renewal of the {n} to SHA-512 (SQLite) {renew_ms:.0} ms, peak RSS then {renew_rss:.0} MiB; \
             peak RSS {:.0} MiB",
            32 * n / 1_000_000,
            build_ms / sha_ms.max(1e-6),
            longest,
            token.len(),
            vm_hwm_mib()
        );
    }
}
