//! One archive test-suite, run against both backends: SQLite + files
//! (always) and PostgreSQL + SeaweedFS S3 (the local PostgreSQL and a
//! SeaweedFS server started here).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/services.rs"]
mod services;

use std::sync::Arc;

use bytes::Bytes;
use kyso::archive::blobs::{FileBlobs, S3Blobs};
use kyso::archive::postgres::PgMeta;
use kyso::archive::sqlite::SqliteMeta;
use kyso::archive::*;

/// How a test plays the attacker on one backend.
#[async_trait::async_trait]
trait Tamper: Send + Sync {
    /// Overwrite a blob's bytes in place.
    async fn corrupt_blob(&self, sha: &str);
    /// Rewrite one audit entry's outcome, bypassing the append-only guard.
    async fn rewrite_audit(&self, seq: i64);
    /// Try an ordinary UPDATE of the audit table; Err when refused.
    async fn plain_update(&self) -> Result<(), String>;
    /// Overwrite the evidence list of document `doc`'s reports with text
    /// that is not JSON.
    async fn garble_evidence(&self, doc: &str);
}

fn draft(action: &str, object: &str) -> AuditDraft {
    AuditDraft {
        time: "2026-11-01T00:00:00Z".into(),
        key_id: "portal-test".into(),
        role: "portal".into(),
        action: action.into(),
        object: object.into(),
        outcome: "ok".into(),
    }
}

async fn put(a: &Archive, data: &[u8]) -> String {
    a.put_blob(Bytes::copy_from_slice(data)).await.expect("put")
}

fn report(doc: &str, rep: &str, ev: &str) -> ReportRecord {
    ReportRecord {
        document_sha256: doc.into(),
        report_sha256: rep.into(),
        verified_at: "2026-11-01T00:00:00Z".into(),
        validation_time: 1_793_491_200,
        indication: "TOTAL_PASSED".into(),
        online: false,
        require_revocation: true,
        evidence: vec![EvidenceRef {
            kind: "TRUST_ANCHOR".into(),
            sha256: ev.into(),
        }],
        policy: "{\"min_rsa_bits\":2048}".into(),
    }
}

async fn suite(a: &Archive, t: &dyn Tamper) {
    // Blobs: content-addressed, idempotent, names checked.
    let hello = put(a, b"hello").await;
    assert_eq!(hello, sha256_hex(b"hello"));
    assert_eq!(put(a, b"hello").await, hello);
    assert_eq!(
        a.get_blob(&hello).await.unwrap().unwrap(),
        Bytes::from_static(b"hello")
    );
    assert!(a.get_blob(&sha256_hex(b"absent")).await.unwrap().is_none());
    assert!(a.get_blob("../../etc/passwd").await.unwrap().is_none());
    assert!(a.blobs.put("not-a-hash", Bytes::new()).await.is_err());

    // Keys: the first start's keys are created once.
    let k = ApiKeyRecord {
        id: "portal-1".into(),
        role: "portal".into(),
        key_sha256: sha256_hex(b"secret"),
        created: "2026-11-01T00:00:00Z".into(),
        expires: None,
        revoked: None,
    };
    assert!(
        a.meta
            .insert_keys_if_none(std::slice::from_ref(&k))
            .await
            .unwrap()
    );
    assert!(
        !a.meta
            .insert_keys_if_none(std::slice::from_ref(&k))
            .await
            .unwrap()
    );
    assert_eq!(a.meta.api_keys().await.unwrap(), vec![k.clone()]);

    // A stored verification.
    let doc_a = put(a, b"%PDF-1.7 document A").await;
    let doc_b = put(a, b"%PDF-1.7 document B").await;
    let doc_c = put(a, b"%PDF-1.7 document C").await;
    let rep_a = put(a, b"{\"report\":\"A\"}").await;
    let rep_b = put(a, b"{\"report\":\"B\"}").await;
    let rep_c = put(a, b"{\"report\":\"C\"}").await;
    let anchor = put(a, b"anchor certificate").await;
    let decision1 = put(a, b"{\"decision\":1}").await;
    let decision2 = put(a, b"{\"decision\":2}").await;
    let rec = |sha: &str| DocumentRecord {
        sha256: sha.into(),
        size: 19,
        media_type: "application/pdf".into(),
    };
    let e = a
        .meta
        .record_verification(
            &rec(&doc_a),
            &report(&doc_a, &rep_a, &anchor),
            draft("verify", &doc_a),
        )
        .await
        .unwrap();
    assert_eq!((e.seq, e.prev_hash.as_str()), (1, GENESIS_HASH));

    // Dossier: new, replay, new version, conflict.
    let file = |i: u32, role: &str, d: &str, r: &str| FileRecord {
        index: i,
        role: role.into(),
        name: format!("f{i}.pdf"),
        document_sha256: d.into(),
        report_sha256: r.into(),
    };
    let v1 = VersionRecord {
        code: "HS-2026-0001".into(),
        version: 0,
        procedure: "1.001".into(),
        applicant: r#"{"kind":"CCCD","value":"001203004567"}"#.into(),
        submission_sha256: sha256_hex(b"submission 1"),
        accepted: true,
        decision_sha256: decision1.clone(),
        created: "2026-11-01T00:00:00Z".into(),
        files: vec![
            file(1, "don_de_nghi", &doc_a, &rep_a),
            file(2, "giay_to_kem_theo", &doc_b, &rep_b),
        ],
    };
    let docs1 = [rec(&doc_a), rec(&doc_b)];
    let reps1 = [
        report(&doc_a, &rep_a, &anchor),
        report(&doc_b, &rep_b, &anchor),
    ];
    let s = a
        .meta
        .submit_version(&v1, &docs1, &reps1, draft("dossier.submit", "HS-2026-0001"))
        .await
        .unwrap();
    let Submitted::New(stored1) = s else {
        panic!("first submission must be new: {s:?}")
    };
    assert_eq!(stored1.version, 1);
    let s = a
        .meta
        .submit_version(&v1, &docs1, &reps1, draft("dossier.submit", "HS-2026-0001"))
        .await
        .unwrap();
    assert_eq!(
        s,
        Submitted::Replay(stored1.clone()),
        "same submission again is a replay"
    );
    let mut v2 = v1.clone();
    v2.submission_sha256 = sha256_hex(b"submission 2");
    v2.accepted = false;
    v2.decision_sha256 = decision2.clone();
    v2.files.push(file(3, "giay_to_kem_theo", &doc_c, &rep_c));
    let docs2 = [rec(&doc_a), rec(&doc_b), rec(&doc_c)];
    let reps2 = [
        report(&doc_a, &rep_a, &anchor),
        report(&doc_b, &rep_b, &anchor),
        report(&doc_c, &rep_c, &anchor),
    ];
    let s = a
        .meta
        .submit_version(&v2, &docs2, &reps2, draft("dossier.submit", "HS-2026-0001"))
        .await
        .unwrap();
    let Submitted::New(stored2) = s else {
        panic!("a resubmission adds a version: {s:?}")
    };
    assert_eq!(stored2.version, 2);
    let mut other = v1.clone();
    other.applicant = r#"{"kind":"CCCD","value":"079088001234"}"#.into();
    let err = a
        .meta
        .submit_version(
            &other,
            &docs1,
            &reps1,
            draft("dossier.submit", "HS-2026-0001"),
        )
        .await;
    assert!(matches!(err, Err(ArchiveError::Conflict(_))), "{err:?}");

    // Read back: versions kept, never overwritten.
    let d = a
        .meta
        .dossier("HS-2026-0001")
        .await
        .unwrap()
        .expect("dossier");
    assert_eq!(d.versions.len(), 2);
    assert_eq!(d.versions[0], stored1);
    assert_eq!(d.versions[1], stored2);
    assert_eq!(d.versions[1].files.len(), 3);
    assert!(a.meta.dossier("HS-absent").await.unwrap().is_none());
    // Reports: the dossiers a document came in; submissions in a period.
    assert_eq!(a.meta.dossiers_of(&doc_c).await.unwrap(), ["HS-2026-0001"]);
    assert!(
        a.meta
            .dossiers_of(&sha256_hex(b"nothing"))
            .await
            .unwrap()
            .is_empty()
    );
    let both = a
        .meta
        .versions_between("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", 10)
        .await
        .unwrap();
    assert_eq!(both.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(
        (both[1].accepted, both[1].procedure.as_str()),
        (false, "1.001")
    );
    let none = a
        .meta
        .versions_between("2026-11-01T00:00:01Z", "2026-12-01T00:00:00Z", 10)
        .await
        .unwrap();
    assert!(none.is_empty(), "the period starts after the submissions");
    let (doc, reps) = a.meta.document(&doc_a).await.unwrap().expect("document A");
    assert_eq!(doc, rec(&doc_a));
    assert_eq!(reps.len(), 3, "intake verification + one per version");
    assert_eq!(reps[0], report(&doc_a, &rep_a, &anchor));
    // Each document once, with its first report's intake time.
    let intakes = a.meta.document_intakes().await.unwrap();
    assert_eq!(
        intakes
            .iter()
            .filter(|(d, _)| *d == doc_a)
            .collect::<Vec<_>>(),
        [&(doc_a.clone(), reps[0].verified_at.clone())]
    );

    // The audit log is append-only.
    assert!(
        t.plain_update().await.is_err(),
        "an UPDATE of the audit log must be refused"
    );

    // Concurrent appends still make one chain.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let m = a.meta.clone();
        tasks.push(tokio::spawn(async move {
            m.append_audit(draft("read", &format!("object {i}"))).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let c = a.verify_chain().await.unwrap();
    assert!(c.intact, "{:?}", c.problems);
    assert_eq!(
        c.entries,
        5 + 20,
        "1 verification, 4 submissions (one conflict), 20 reads"
    );
    let page = a.meta.audit_page(1, 1000).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=25).collect::<Vec<_>>()
    );
    assert_eq!(page[4].outcome, "conflict");
    assert_eq!(page[2].outcome, "replay of version 1");
    assert_eq!(c.head, page[24].hash);

    // The whole archive checks out; "hello" is the one unreferenced blob.
    let chk = a.check().await.unwrap();
    assert!(chk.ok(), "{:?} {:?}", chk.problems, chk.chain.problems);
    assert_eq!(chk.unreferenced, 1);
    assert_eq!(chk.blobs, 10);

    // Tampering is found: a changed blob, a rewritten audit entry.
    t.corrupt_blob(&doc_b).await;
    t.rewrite_audit(3).await;
    let chk = a.check().await.unwrap();
    assert!(!chk.ok());
    assert!(
        chk.problems
            .iter()
            .any(|p| p.contains(&doc_b) && p.contains("does not match")),
        "{:?}",
        chk.problems
    );
    assert!(
        chk.problems
            .iter()
            .any(|p| p.contains(&doc_b) && p.contains("missing"))
    );
    assert!(!chk.chain.intact);
    assert_eq!(
        chk.chain.problems,
        vec!["entry 3: content does not match its hash".to_string()]
    );
    assert!(matches!(
        a.get_blob(&doc_b).await,
        Err(ArchiveError::Integrity(_))
    ));

    // The shared revocation cache: kept per key; an older answer never
    // replaces a newer one (two nodes racing).
    let key = format!("CRL|http://crl.test/{}.crl", rand::random::<u32>());
    assert!(a.meta.cache_get(&key).await.unwrap().is_none());
    let newer = kyso::archive::CachedAnswer {
        key: key.clone(),
        body: b"newer".to_vec(),
        fetched_at: 2_000,
        fresh_until: 3_000,
    };
    a.meta.cache_put(&newer).await.unwrap();
    let older = kyso::archive::CachedAnswer {
        body: b"older".to_vec(),
        fetched_at: 1_000,
        fresh_until: 1_500,
        ..newer.clone()
    };
    a.meta.cache_put(&older).await.unwrap();
    let got = a.meta.cache_get(&key).await.unwrap().unwrap();
    assert_eq!(
        (got.body.as_slice(), got.fetched_at, got.fresh_until),
        (&b"newer"[..], 2_000, 3_000)
    );

    // Key changes: each written with its audit entry; a refused one writes
    // nothing (no key, no entry).
    let now = 1_793_491_200;
    let head = |a: &Archive| {
        let m = a.meta.clone();
        async move { m.audit_head().await.unwrap().unwrap().0 }
    };
    let before = head(a).await;
    let (k2, _) = kyso::server::keys::new_record("portal", "2026-11-01T00:00:00Z");
    let e = a
        .meta
        .change_key(
            KeyChange::Rotate {
                id: k.id.clone(),
                new: k2.clone(),
                old_until: now + 60,
            },
            now,
            draft("key.rotate", &k.id),
        )
        .await
        .unwrap();
    assert_eq!(e.seq, before + 1);
    let keys = a.meta.api_keys().await.unwrap();
    let old = keys.iter().find(|x| x.id == k.id).unwrap();
    assert_eq!(old.expires, Some(now + 60));
    assert!(old.usable(now + 59) && !old.usable(now + 60));
    assert!(keys.iter().any(|x| x.id == k2.id && x.usable(now + 3600)));
    let refused = a
        .meta
        .change_key(
            KeyChange::Create(k2.clone()),
            now,
            draft("key.create", &k2.id),
        )
        .await;
    assert!(
        matches!(&refused, Err(ArchiveError::Conflict(w)) if w.contains("exists already")),
        "{refused:?}"
    );
    let revoke = || KeyChange::Revoke {
        id: k2.id.clone(),
        at: "2026-11-01T00:00:00Z".into(),
    };
    a.meta
        .change_key(revoke(), now, draft("key.revoke", &k2.id))
        .await
        .unwrap();
    assert!(
        a.meta
            .change_key(revoke(), now, draft("key.revoke", &k2.id))
            .await
            .is_err()
    );
    assert_eq!(head(a).await, before + 2);
    assert!(
        a.meta
            .api_keys()
            .await
            .unwrap()
            .iter()
            .all(|x| x.id != k2.id || !x.usable(now))
    );

    // A report row whose evidence list no longer reads is an error, never
    // a row that kept no evidence.
    t.garble_evidence(&doc_a).await;
    let read = a.meta.document(&doc_a).await;
    assert!(read.is_err(), "{read:?}");
}

struct LocalTamper {
    dir: std::path::PathBuf,
}

#[async_trait::async_trait]
impl Tamper for LocalTamper {
    async fn corrupt_blob(&self, sha: &str) {
        std::fs::write(self.dir.join("blobs").join(&sha[..2]).join(sha), b"forged").unwrap();
    }
    async fn rewrite_audit(&self, seq: i64) {
        let c = rusqlite::Connection::open(self.dir.join("kyso.sqlite3")).unwrap();
        c.execute_batch("DROP TRIGGER audit_no_update").unwrap();
        c.execute(
            "UPDATE audit SET outcome = 'rewritten' WHERE seq = ?1",
            [seq],
        )
        .unwrap();
    }
    async fn plain_update(&self) -> Result<(), String> {
        let c = rusqlite::Connection::open(self.dir.join("kyso.sqlite3")).unwrap();
        c.execute("UPDATE audit SET outcome = 'x' WHERE seq = 1", [])
            .map(|_| ())
            .map_err(|e| e.to_string())?;
        c.execute("DELETE FROM audit WHERE seq = 1", [])
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    async fn garble_evidence(&self, doc: &str) {
        let c = rusqlite::Connection::open(self.dir.join("kyso.sqlite3")).unwrap();
        c.execute(
            "UPDATE reports SET evidence = 'not json' WHERE document_sha256 = ?1",
            [doc],
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_suite_sqlite_and_files() {
    let dir = std::env::temp_dir().join(format!(
        "kyso-archive-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let a = Archive {
        meta: Arc::new(SqliteMeta::open(&dir.join("kyso.sqlite3")).unwrap()),
        blobs: Arc::new(FileBlobs::open(&dir).unwrap()),
    };
    suite(&a, &LocalTamper { dir: dir.clone() }).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

struct ScaleOutTamper {
    pg: kyso::archive::postgres::PgConfig,
    s3: object_store::aws::AmazonS3,
}

#[async_trait::async_trait]
impl Tamper for ScaleOutTamper {
    async fn corrupt_blob(&self, sha: &str) {
        use object_store::ObjectStore;
        self.s3
            .put(
                &object_store::path::Path::from(format!("blobs/{sha}")),
                Bytes::from_static(b"forged").into(),
            )
            .await
            .unwrap();
    }
    async fn rewrite_audit(&self, seq: i64) {
        services::pg_exec(
            &self.pg,
            &format!(
                "ALTER TABLE audit DISABLE TRIGGER audit_no_change;
                 UPDATE audit SET outcome = 'rewritten' WHERE seq = {seq};"
            ),
        )
        .await;
    }
    async fn plain_update(&self) -> Result<(), String> {
        let (client, conn) = tokio_postgres::connect(&self.pg.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "SET search_path = {}; UPDATE audit SET outcome = 'x' WHERE seq = 1",
                self.pg.schema
            ))
            .await
            .map_err(|e| e.to_string())?;
        client
            .batch_execute("DELETE FROM audit WHERE seq = 1")
            .await
            .map_err(|e| e.to_string())
    }
    async fn garble_evidence(&self, doc: &str) {
        services::pg_exec(
            &self.pg,
            &format!("UPDATE reports SET evidence = 'not json' WHERE document_sha256 = '{doc}';"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_suite_postgres_and_seaweedfs() {
    let Some(pg) = services::pg_schema().await else {
        return;
    };
    let Some(weed) = tokio::task::spawn_blocking(|| services::Weed::start("kyso"))
        .await
        .unwrap()
    else {
        return;
    };
    let s3cfg = weed.s3_config("kyso");
    let a = Archive {
        meta: Arc::new(PgMeta::connect(&pg).await.unwrap()),
        blobs: Arc::new(S3Blobs::new(&s3cfg).unwrap()),
    };
    let raw = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&s3cfg.endpoint)
        .with_bucket_name("kyso")
        .with_region("us-east-1")
        .with_access_key_id(services::S3_KEY)
        .with_secret_access_key(services::S3_SECRET)
        .with_allow_http(true)
        .build()
        .unwrap();
    suite(
        &a,
        &ScaleOutTamper {
            pg: pg.clone(),
            s3: raw,
        },
    )
    .await;
    // A second node on the same database and bucket sees the same archive.
    let b = Archive {
        meta: Arc::new(PgMeta::connect(&pg).await.unwrap()),
        blobs: Arc::new(S3Blobs::new(&s3cfg).unwrap()),
    };
    assert_eq!(
        b.meta
            .dossier("HS-2026-0001")
            .await
            .unwrap()
            .unwrap()
            .versions
            .len(),
        2
    );
    services::pg_drop(&pg).await;
    drop(weed);
}
