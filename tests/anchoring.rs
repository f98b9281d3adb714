//! Anchoring rounds over the archive (RFC 4998 evidence records) with the
//! live certomancer TSAs, on both metadata stores: SQLite and the local
//! PostgreSQL. Each archived blob's record verifies over its bytes; a blob
//! changed on disk, a row rewritten, and an audit entry removed with the
//! chain recomputed (as an insider would) are found by the anchoring check
//! while the plain chain walk finds the recomputed chain intact.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "support/services.rs"]
mod services;

use std::sync::Arc;

use bytes::Bytes;
use kyso::archive::anchor::{RoundOutcome, SharedStamper};
use kyso::archive::blobs::FileBlobs;
use kyso::archive::postgres::PgMeta;
use kyso::archive::sqlite::SqliteMeta;
use kyso::archive::*;
use kyso::crypto::DigestAlg;

const TSA: &str = "http://127.0.0.1:9817/kyso-live/tsa/tsa";
const TSA_LONG: &str = "http://127.0.0.1:9817/kyso-live/tsa/tsa-long";

fn stamper(url: &str) -> SharedStamper {
    Arc::new(kyso::ers::tsa_stamper(
        url.into(),
        std::time::Duration::from_secs(10),
    ))
}

fn opts(at: i64) -> kyso::VerifyOptions {
    let mut store = kyso::pki::path::TrustStore::new();
    store
        .load_path(&common::root().join("testdata/live/certs/root.pem"))
        .unwrap();
    let mut o = kyso::VerifyOptions::new(store, at);
    o.intermediates = vec![
        openssl::x509::X509::from_pem(
            &std::fs::read(common::root().join("testdata/live/certs/interm.pem")).unwrap(),
        )
        .unwrap(),
    ];
    o.require_revocation = false;
    o
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn draft(action: &str, object: &str) -> AuditDraft {
    AuditDraft {
        time: "2026-12-03T00:00:00Z".into(),
        key_id: "portal-test".into(),
        role: "portal".into(),
        action: action.into(),
        object: object.into(),
        outcome: "ok".into(),
    }
}

/// Store one verified document (its bytes, report, one evidence item).
async fn archive_one(a: &Archive, n: u32) -> (String, String) {
    let doc = format!("tài liệu số {n}\n").repeat(50 + n as usize);
    let d = a.put_blob(Bytes::from(doc.into_bytes())).await.unwrap();
    let r = a
        .put_blob(Bytes::from(format!("{{\"report\":{n}}}").into_bytes()))
        .await
        .unwrap();
    let ev = a
        .put_blob(Bytes::from(format!("certificate {n}").into_bytes()))
        .await
        .unwrap();
    a.meta
        .record_verification(
            &DocumentRecord {
                sha256: d.clone(),
                size: 1,
                media_type: "application/pdf".into(),
            },
            &ReportRecord {
                document_sha256: d.clone(),
                report_sha256: r.clone(),
                verified_at: "2026-12-03T00:00:00Z".into(),
                validation_time: 1_796_256_000,
                indication: "TOTAL_PASSED".into(),
                online: false,
                require_revocation: true,
                evidence: vec![EvidenceRef {
                    kind: "TRUST_ANCHOR".into(),
                    sha256: ev,
                }],
                policy: "{}".into(),
            },
            draft("verify", &d),
        )
        .await
        .unwrap();
    (d, r)
}

/// How the test plays the insider on one store.
#[async_trait::async_trait]
trait Insider: Send + Sync {
    async fn sql(&self, sql: &str);
    /// Replace the audit table with `entries` (guards bypassed).
    async fn replace_audit(&self, entries: &[AuditEntry]);
}

/// Every blob's record verifies over its bytes.
async fn every_blob_verifies(a: &Archive, at: i64) -> usize {
    let mut n = 0;
    for m in a.meta.anchored().await.unwrap() {
        if m.place != "blob" {
            continue;
        }
        let bytes = a.get_blob(&m.sha256).await.unwrap().unwrap();
        let (_, er) = a.evidence_record("blob", &m.sha256).await.unwrap().unwrap();
        let v = kyso::ers::verify(&er, &|alg| alg.digest(&bytes), &opts(at));
        assert!(v.valid, "{}: {:?}", m.sha256, v.checks);
        n += 1;
    }
    n
}

async fn suite(a: &Archive, insider: &dyn Insider) {
    let mut docs = Vec::new();
    for n in 0..4 {
        docs.push(archive_one(a, n).await);
    }
    // Round 1: 4 documents, 4 reports, 4 evidence items = 12 blobs, the 12
    // rows' references to them, the 4 intake rows themselves, the audit head.
    let o = a
        .anchor_round(DigestAlg::Sha256, "2026-12-03T00:00:00Z", stamper(TSA))
        .await
        .unwrap();
    assert_eq!(
        o,
        RoundOutcome::Anchored {
            round: 1,
            members: 12 + 12 + 4 + 1
        }
    );
    // Nothing new: no round.
    let o = a
        .anchor_round(DigestAlg::Sha256, "2026-12-03T00:00:01Z", stamper(TSA))
        .await
        .unwrap();
    assert_eq!(o, RoundOutcome::Nothing);
    assert_eq!(every_blob_verifies(a, now()).await, 12);
    let c = a.check_anchoring(&opts(now())).await.unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(
        (c.rounds, c.unanchored, c.audit_anchored_to),
        (1, 0, Some(4))
    );

    // Round 2 over one more document; two rounds at once: one gets in.
    docs.push(archive_one(a, 4).await);
    let (x, y) = tokio::join!(
        a.anchor_round(DigestAlg::Sha256, "2026-12-03T00:01:00Z", stamper(TSA)),
        a.anchor_round(DigestAlg::Sha256, "2026-12-03T00:01:00Z", stamper(TSA)),
    );
    let outcomes = [x.unwrap(), y.unwrap()];
    let anchored = outcomes
        .iter()
        .filter(|o| matches!(o, RoundOutcome::Anchored { .. }))
        .count();
    assert_eq!(anchored, 1, "{outcomes:?}");
    // 3 blobs, 3 references, the intake row, the audit head; the other round found its
    // leaves taken (Busy) or, had it started later, nothing new.
    assert!(
        outcomes.contains(&RoundOutcome::Anchored {
            round: 2,
            members: 8
        }),
        "{outcomes:?}"
    );
    // Rounds are incremental: each read on from where the last stopped.
    let rounds = a.meta.rounds().await.unwrap();
    assert_eq!(
        rounds.iter().map(|r| r.marks.report).collect::<Vec<_>>(),
        [4, 5]
    );
    assert_eq!(a.rows_since_round().await.unwrap(), 0);
    assert_eq!(every_blob_verifies(a, now()).await, 15);

    // Timestamp renewal of both rounds by the long-lived TSA: past `tsa`'s
    // 2050 expiry every record still verifies; a record without the renewal
    // would not (tests/ers.rs shows that side).
    let renewed = a.renew_rounds(i64::MAX, stamper(TSA_LONG)).await.unwrap();
    assert_eq!(renewed, [1, 2]);
    let at_2052 = 2_587_593_600;
    assert_eq!(every_blob_verifies(a, at_2052).await, 15);
    let (_, er) = a
        .evidence_record("blob", &docs[0].0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(er.chains[0].stamps.len(), 2);
    // Renewal by deadline: none due before 2049.
    assert!(
        a.renew_rounds(2_493_072_000, stamper(TSA_LONG))
            .await
            .unwrap()
            .is_empty()
    );
    let c = a.check_anchoring(&opts(at_2052)).await.unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);

    // Document 0 verified again (same bytes, report and evidence): only the
    // new row's two references and the audit head are new (its intake row
    // is the same as the first: same place, same hash); the blobs and the
    // document's own reference stay in round 1.
    archive_one(a, 0).await;
    assert_eq!(a.rows_since_round().await.unwrap(), 1);
    let o = a
        .anchor_round(DigestAlg::Sha256, "2026-12-03T00:02:00Z", stamper(TSA))
        .await
        .unwrap();
    // (PostgreSQL's ids may skip one: the dropped round used a number.)
    assert!(
        matches!(o, RoundOutcome::Anchored { members: 3, .. }),
        "{o:?}"
    );
    let c = a.check_anchoring(&opts(now())).await.unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!((c.rounds, c.unanchored), (3, 0));

    // Hash-tree renewal to SHA-512 of the three rounds (RFC 4998 §5.2):
    // one new round whose members are theirs again, 29 + 8 + 3.
    let o = a
        .renew_hash_trees(DigestAlg::Sha512, "2026-12-03T00:03:00Z", stamper(TSA_LONG))
        .await
        .unwrap();
    let RoundOutcome::Anchored {
        round: renewal,
        members: 40,
    } = o
    else {
        panic!("{o:?}")
    };
    // Nothing is left on SHA-256.
    assert_eq!(
        a.renew_hash_trees(DigestAlg::Sha512, "2026-12-03T00:03:01Z", stamper(TSA))
            .await
            .unwrap(),
        RoundOutcome::Nothing
    );
    // Every record gains a SHA-512 chain over its data and its old chain.
    let (first, er) = a
        .evidence_record("blob", &docs[0].0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.id, 1);
    assert_eq!(er.chains.len(), 2);
    assert_eq!(
        er.chains[1].stamps[0].algorithm().unwrap(),
        DigestAlg::Sha512
    );
    assert_eq!(every_blob_verifies(a, now()).await, 15);
    // Round 3 never had its timestamp renewed: past its TSA's 2050 expiry
    // the hash-tree renewal (by the long-lived TSA) carries it, as it does
    // every record; `check` verifies rounds taken over through the whole
    // record of a member, data hashed with each chain's algorithm.
    assert_eq!(every_blob_verifies(a, at_2052).await, 15);
    let c = a.check_anchoring(&opts(at_2052)).await.unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.rounds, 4);
    // Timestamp renewal goes on in the new chain only: the rounds taken
    // over keep theirs as the renewal hashed them.
    let renewed = a.renew_rounds(i64::MAX, stamper(TSA_LONG)).await.unwrap();
    assert_eq!(renewed, [renewal]);
    let (_, er) = a
        .evidence_record("blob", &docs[0].0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        er.chains.iter().map(|c| c.stamps.len()).collect::<Vec<_>>(),
        [2, 2]
    );
    assert_eq!(every_blob_verifies(a, at_2052).await, 15);
    // A round on SHA-512 (the configured algorithm replaced): its leaves
    // are the data hashed with it, so its records verify over the bytes.
    docs.push(archive_one(a, 5).await);
    let o = a
        .anchor_round(DigestAlg::Sha512, "2026-12-03T00:05:00Z", stamper(TSA))
        .await
        .unwrap();
    assert!(
        matches!(o, RoundOutcome::Anchored { members: 8, .. }),
        "{o:?}"
    );
    assert_eq!(every_blob_verifies(a, now()).await, 18);
    let c = a.check_anchoring(&opts(now())).await.unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    // The insider: a renewed leaf rewritten.
    let victim = a.meta.round_members(renewal).await.unwrap()[0].clone();
    insider
        .sql(&format!(
            "UPDATE anchor_renewed SET leaf = '{}' WHERE place = '{}' AND sha256 = '{}'",
            "ab".repeat(64),
            victim.place,
            victim.sha256
        ))
        .await;
    let c = a.check_anchoring(&opts(now())).await.unwrap();
    assert!(
        c.problems.iter().any(|p| p.contains("stamped root"))
            && c.problems
                .iter()
                .any(|p| p.contains(&victim.sha256) && p.contains("not made of its data")),
        "{:?}",
        c.problems
    );
    insider
        .sql(&format!(
            "UPDATE anchor_renewed SET leaf = '{}' WHERE place = '{}' AND sha256 = '{}'",
            victim.leaf, victim.place, victim.sha256
        ))
        .await;
    let c = a.check_anchoring(&opts(now())).await.unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);

    // The insider: a report row pointed at other bytes.
    let forged = a
        .put_blob(Bytes::from_static(b"{\"report\":\"forged\"}"))
        .await
        .unwrap();
    insider
        .sql(&format!(
            "UPDATE reports SET report_sha256 = '{forged}' WHERE report_sha256 = '{}'",
            docs[1].1
        ))
        .await;
    let c = a.check_anchoring(&opts(now())).await.unwrap();
    let mut problems = c.problems.clone();
    problems.sort();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with(&format!(
            "intake of report {}: the row is not the one anchored",
            docs[1].1
        )) && problems[1].contains(&docs[1].1)
            && problems[1].contains("no longer does"),
        "{problems:?}"
    );
    insider
        .sql(&format!(
            "UPDATE reports SET report_sha256 = '{}' WHERE report_sha256 = '{forged}'",
            docs[1].1
        ))
        .await;
    // The insider: an intake row's revocation setting changed (as its
    // policy or evidence list could be), every pointer left as it was: only
    // the anchored row itself shows it.
    insider
        .sql(&format!(
            "UPDATE reports SET require_revocation = FALSE WHERE report_sha256 = '{}'",
            docs[2].1
        ))
        .await;
    let c = a.check_anchoring(&opts(now())).await.unwrap();
    assert_eq!(
        c.problems,
        [format!(
            "intake of report {}: the row is not the one anchored in round 1 (rewritten or removed)",
            docs[2].1
        )]
    );
    insider
        .sql(&format!(
            "UPDATE reports SET require_revocation = TRUE WHERE report_sha256 = '{}'",
            docs[2].1
        ))
        .await;
    let c = a.check_anchoring(&opts(now())).await.unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);

    // The insider: audit entry 2 removed, the chain recomputed after it.
    let mut entries = a.meta.audit_page(1, 1000).await.unwrap();
    entries.remove(1);
    let mut prev: Option<(i64, String)> = None;
    let rechained: Vec<AuditEntry> = entries
        .into_iter()
        .map(|e| {
            let d = AuditDraft {
                time: e.time,
                key_id: e.key_id,
                role: e.role,
                action: e.action,
                object: e.object,
                outcome: e.outcome,
            };
            let c = chain(prev.clone(), d);
            prev = Some((c.seq, c.hash.clone()));
            c
        })
        .collect();
    insider.replace_audit(&rechained).await;
    let walk = a.verify_chain().await.unwrap();
    assert!(
        walk.intact,
        "the recomputed chain walks clean: {:?}",
        walk.problems
    );
    let c = a.check_anchoring(&opts(now())).await.unwrap();
    assert!(
        c.problems
            .iter()
            .any(|p| p.contains("audit entry 4") && p.contains("rewritten")),
        "{:?}",
        c.problems
    );
}

struct SqliteInsider {
    path: std::path::PathBuf,
}

#[async_trait::async_trait]
impl Insider for SqliteInsider {
    async fn sql(&self, sql: &str) {
        let c = rusqlite::Connection::open(&self.path).unwrap();
        c.execute_batch(sql).unwrap();
    }
    async fn replace_audit(&self, entries: &[AuditEntry]) {
        let c = rusqlite::Connection::open(&self.path).unwrap();
        c.execute_batch("DROP TRIGGER IF EXISTS audit_no_delete; DELETE FROM audit;")
            .unwrap();
        for e in entries {
            c.execute(
                "INSERT INTO audit (seq, time, key_id, role, action, object, outcome, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![e.seq, e.time, e.key_id, e.role, e.action, e.object, e.outcome, e.prev_hash, e.hash],
            )
            .unwrap();
        }
    }
}

struct PgInsider {
    pg: kyso::archive::postgres::PgConfig,
}

#[async_trait::async_trait]
impl Insider for PgInsider {
    async fn sql(&self, sql: &str) {
        services::pg_exec(&self.pg, sql).await;
    }
    async fn replace_audit(&self, entries: &[AuditEntry]) {
        let mut sql =
            String::from("ALTER TABLE audit DISABLE TRIGGER audit_no_change; DELETE FROM audit;");
        for e in entries {
            let q = |s: &str| s.replace('\'', "''");
            sql.push_str(&format!(
                "INSERT INTO audit (seq, time, key_id, role, action, object, outcome, prev_hash, hash)
                 VALUES ({}, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}');",
                e.seq,
                q(&e.time),
                q(&e.key_id),
                q(&e.role),
                q(&e.action),
                q(&e.object),
                q(&e.outcome),
                e.prev_hash,
                e.hash
            ));
        }
        services::pg_exec(&self.pg, &sql).await;
    }
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "kyso-anchor-{tag}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchoring_sqlite() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    let dir = tempdir("sqlite");
    let a = Archive {
        meta: Arc::new(SqliteMeta::open(&dir.join("kyso.sqlite3")).unwrap()),
        blobs: Arc::new(FileBlobs::open(&dir).unwrap()),
    };
    suite(
        &a,
        &SqliteInsider {
            path: dir.join("kyso.sqlite3"),
        },
    )
    .await;
    // One blob's bytes changed on disk.
    let doc = a
        .meta
        .anchored()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.place == "blob")
        .unwrap();
    std::fs::write(
        dir.join("blobs").join(&doc.sha256[..2]).join(&doc.sha256),
        b"changed",
    )
    .unwrap();
    let c = a.check_anchoring(&opts(now())).await.unwrap();
    assert!(
        c.problems
            .iter()
            .any(|p| p.contains(&doc.sha256) && p.contains("does not match")),
        "{:?}",
        c.problems
    );
    // A hash-tree renewal never hashes changed data again (here a blob
    // changed on disk, and the audit history the suite rewrote): it fails
    // whole, naming what changed, and stores nothing.
    let before = a.meta.rounds().await.unwrap().len();
    let e = a
        .renew_hash_trees(DigestAlg::Sha384, "2026-12-03T00:04:00Z", stamper(TSA))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        (e.contains(&doc.sha256) && e.contains("changed since it was anchored"))
            || e.contains("is missing or not the one anchored"),
        "{e}"
    );
    assert_eq!(a.meta.rounds().await.unwrap().len(), before);
    assert!(
        a.hash_renewal_due(DigestAlg::Sha384).await.unwrap().len() == 2,
        "the SHA-512 rounds are still live, not taken over"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchoring_postgres() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    let Some(pg) = services::pg_schema().await else {
        return;
    };
    let dir = tempdir("pg");
    let a = Archive {
        meta: Arc::new(PgMeta::connect(&pg).await.unwrap()),
        blobs: Arc::new(FileBlobs::open(&dir).unwrap()),
    };
    suite(&a, &PgInsider { pg: pg.clone() }).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The operator's commands: `kyso archive anchor`, `check`, `record`, and
/// the record checked offline by `kyso ers verify` and by BouncyCastle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_commands() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    let dir = tempdir("cli");
    let live = |f: &str| common::root().join("testdata/live/certs").join(f);
    let cfg_path = dir.join("kyso.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "data_dir = {:?}\n[anchoring]\ntsa_url = {TSA:?}\ntrust = [{:?}]\nintermediates = [{:?}]\n",
            dir.join("data"),
            live("root.pem"),
            live("interm.pem")
        ),
    )
    .unwrap();
    let cfg = kyso::server::config::Config::load(Some(&cfg_path)).unwrap();
    let a = kyso::server::open_archive(&cfg).await.unwrap();
    let mut docs = Vec::new();
    for n in 0..3 {
        docs.push(archive_one(&a, n).await);
    }
    drop(a);
    let c = cfg_path.to_str().unwrap();
    let (code, out, err) = common::kyso(&["archive", "anchor", "--config", c]);
    assert_eq!(code, Some(0), "{out} {err}");
    assert!(out.contains("\"Anchored\""), "{out}");
    let (code, out, _) = common::kyso(&["archive", "check", "--config", c]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(
            "anchoring: 1 rounds, 22 anchored leaves, 0 not anchored yet, audit anchored to entry 3"
        ),
        "{out}"
    );
    assert!(out.ends_with("archive OK\n"), "{out}");

    let rec = dir.join("doc.ers");
    let export_record = || {
        let (code, out, err) = common::kyso(&[
            "archive",
            "record",
            &docs[0].0,
            "-o",
            rec.to_str().unwrap(),
            "--config",
            c,
        ]);
        assert_eq!(code, Some(0), "{out} {err}");
    };
    export_record();
    let a = kyso::server::open_archive(&cfg).await.unwrap();
    let doc_path = dir.join("doc.bin");
    std::fs::write(&doc_path, a.get_blob(&docs[0].0).await.unwrap().unwrap()).unwrap();
    drop(a);
    let (root_pem, interm_pem) = (live("root.pem"), live("interm.pem"));
    let ers_verify = || {
        common::kyso(&[
            "ers",
            "verify",
            rec.to_str().unwrap(),
            doc_path.to_str().unwrap(),
            "--trust",
            root_pem.to_str().unwrap(),
            "--intermediates",
            interm_pem.to_str().unwrap(),
            "--revocation",
            "optional",
            "--lang",
            "vi",
        ])
    };
    let (code, out, _) = ers_verify();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with("HỢP LỆ: tệp tồn tại và không thay đổi từ thời điểm 20"),
        "{out}"
    );
    bouncycastle_verifies(&rec, &doc_path, &live("tsa.pem"));
    // Hash-tree renewal to SHA-512: the record gains a chain; kyso and
    // BouncyCastle both verify it over the document.
    let (code, out, err) = common::kyso(&["archive", "renew", "--hash", "sha512", "--config", c]);
    assert_eq!(code, Some(0), "{out} {err}");
    assert!(
        out.contains("hash-tree renewal: {\"Anchored\":{\"round\":2,\"members\":22}}"),
        "{out}"
    );
    let (code, out, _) = common::kyso(&["archive", "check", "--config", c]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.ends_with("archive OK\n"), "{out}");
    export_record();
    let er = kyso::ers::EvidenceRecord::parse(&std::fs::read(&rec).unwrap()).unwrap();
    assert_eq!(er.chains.len(), 2);
    let (code, out, _) = ers_verify();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("HỢP LỆ"), "{out}");
    bouncycastle_verifies(&rec, &doc_path, &live("tsa.pem"));
    // Not anchored: said so.
    let (code, _, err) = common::kyso(&[
        "archive",
        "record",
        &"0".repeat(64),
        "-o",
        rec.to_str().unwrap(),
        "--config",
        c,
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("not anchored"), "{err}");

    // A rewritten row: `archive check` fails and names it.
    let db = rusqlite::Connection::open(dir.join("data/kyso.sqlite3")).unwrap();
    db.execute_batch(&format!(
        "UPDATE reports SET report_sha256 = '{}' WHERE report_sha256 = '{}'",
        docs[2].1, docs[1].1
    ))
    .unwrap();
    let (code, out, _) = common::kyso(&["archive", "check", "--config", c]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("PROBLEM: report 2 of document") && out.contains("no longer does"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// BouncyCastle's `tsp.ers` (tests/support/Ers.java) verifies the record
/// `rec` over the file `doc`, the TSA's certificate given.
fn bouncycastle_verifies(rec: &std::path::Path, doc: &std::path::Path, tsa: &std::path::Path) {
    if !std::path::Path::new("/usr/share/java/bcpkix.jar").exists() {
        assert!(
            !std::env::var("KYSO_REQUIRE_SIGN_TOOLS").is_ok_and(|v| v == "1"),
            "KYSO_REQUIRE_SIGN_TOOLS=1 but BouncyCastle is not installed (apt install libbcpkix-java)"
        );
        println!("SKIPPED: BouncyCastle is not installed (apt install libbcpkix-java)");
        return;
    }
    let o = std::process::Command::new("java")
        .args([
            "-cp",
            "/usr/share/java/bcprov.jar:/usr/share/java/bcpkix.jar:/usr/share/java/bcutil.jar",
        ])
        .arg(common::root().join("tests/support/Ers.java"))
        .arg("verify")
        .args([rec, doc, tsa])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "OK",
        "BouncyCastle on {}: {}",
        rec.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `kill -9` of `kyso archive anchor` at random moments while it reads
/// 30 000 rows, waits for the TSA and writes 60 000 leaves: every stored
/// round is whole (its member count), never a part of one; the next run
/// completes and leaves nothing unanchored.
#[test]
fn a_round_killed_mid_way_is_all_or_nothing() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    let dir = tempdir("crash");
    let cfg_path = dir.join("kyso.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "data_dir = {:?}\n[anchoring]\ntsa_url = {TSA:?}\n",
            dir.join("data")
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let db_path = dir.join("data/kyso.sqlite3");
    // The schema, then 30 000 document rows (their blobs are not needed
    // to anchor them).
    drop(SqliteMeta::open(&db_path).unwrap());
    {
        let mut db = rusqlite::Connection::open(&db_path).unwrap();
        let tx = db.transaction().unwrap();
        for i in 0..30_000u32 {
            let sha = kyso::archive::sha256_hex(&i.to_be_bytes());
            tx.execute(
                "INSERT INTO documents (sha256, size, media_type) VALUES (?1, 1, 'application/pdf')",
                [&sha],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let whole = |db: &rusqlite::Connection| -> (i64, i64) {
        let mut st = db
            .prepare("SELECT id, members, (SELECT COUNT(*) FROM anchor_members m WHERE m.round = r.id) FROM anchor_rounds r")
            .unwrap();
        let rows: Vec<(i64, i64, i64)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (id, members, stored) in &rows {
            assert_eq!(members, stored, "round {id} stored in part");
        }
        let anchored: i64 = db
            .query_row("SELECT COUNT(*) FROM anchor_members", [], |r| r.get(0))
            .unwrap();
        (rows.len() as i64, anchored)
    };
    // How long a whole round takes here: on a copy of the database.
    std::fs::create_dir_all(dir.join("probe")).unwrap();
    std::fs::copy(&db_path, dir.join("probe/kyso.sqlite3")).unwrap();
    let t = std::time::Instant::now();
    let (code, _, err) = common::kyso(&[
        "archive",
        "anchor",
        "--config",
        cfg_path.to_str().unwrap(),
        "--data-dir",
        dir.join("probe").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let full_ms = t.elapsed().as_millis() as u64;
    let mut killed = 0;
    for i in 0..8u64 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kyso"))
            .args(["archive", "anchor", "--config"])
            .arg(&cfg_path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread over the whole run: start-up, reading, the TSA, the write.
        let at = full_ms / 10 + (full_ms * i) / 8 + rand::random::<u64>() % (full_ms / 8 + 1);
        std::thread::sleep(std::time::Duration::from_millis(at));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
        let db = rusqlite::Connection::open(&db_path).unwrap();
        let (rounds, anchored) = whole(&db);
        assert!(rounds <= 1, "one round holds everything: {rounds}");
        assert!(anchored == 0 || anchored == 60_000, "{anchored}");
    }
    assert!(killed > 0, "no run was killed mid-way");
    // The next run completes (or found it complete).
    let (code, out, err) =
        common::kyso(&["archive", "anchor", "--config", cfg_path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out} {err}");
    let db = rusqlite::Connection::open(&db_path).unwrap();
    let (rounds, anchored) = whole(&db);
    assert_eq!((rounds, anchored), (1, 60_000));
    println!(
        "anchoring: a whole round {full_ms} ms; {killed} of 8 runs killed with SIGKILL at moments spread over it; every stored round whole; the round after complete (60 000 leaves)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
