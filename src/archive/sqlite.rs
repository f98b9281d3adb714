//! The embedded metadata store: SQLite (bundled) in WAL mode, one file in
//! the data directory. One connection, used from blocking threads; every
//! write is one `BEGIN IMMEDIATE` transaction, which also orders the audit chain.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::*;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, role TEXT NOT NULL, key_sha256 TEXT NOT NULL UNIQUE, created TEXT NOT NULL,
    expires INTEGER, revoked TEXT);
CREATE TABLE IF NOT EXISTS documents (
    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, media_type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT, document_sha256 TEXT NOT NULL REFERENCES documents(sha256),
    report_sha256 TEXT NOT NULL, verified_at TEXT NOT NULL, validation_time INTEGER NOT NULL,
    indication TEXT NOT NULL, online INTEGER NOT NULL, require_revocation INTEGER NOT NULL,
    evidence TEXT NOT NULL, policy TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reports_doc ON reports(document_sha256);
CREATE TABLE IF NOT EXISTS dossiers (
    code TEXT PRIMARY KEY, procedure TEXT NOT NULL, applicant TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dossier_versions (
    code TEXT NOT NULL REFERENCES dossiers(code), version INTEGER NOT NULL,
    submission_sha256 TEXT NOT NULL, accepted INTEGER NOT NULL, decision_sha256 TEXT NOT NULL,
    created TEXT NOT NULL, PRIMARY KEY (code, version));
CREATE TABLE IF NOT EXISTS dossier_files (
    code TEXT NOT NULL, version INTEGER NOT NULL, idx INTEGER NOT NULL, role TEXT NOT NULL,
    name TEXT NOT NULL, document_sha256 TEXT NOT NULL REFERENCES documents(sha256),
    report_sha256 TEXT NOT NULL, PRIMARY KEY (code, version, idx));
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, time TEXT NOT NULL, key_id TEXT NOT NULL, role TEXT NOT NULL,
    action TEXT NOT NULL, object TEXT NOT NULL, outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS owners (
    kind TEXT NOT NULL, id TEXT NOT NULL, key_id TEXT NOT NULL, PRIMARY KEY (kind, id, key_id));
CREATE TABLE IF NOT EXISTS revocation_cache (
    key TEXT PRIMARY KEY, body BLOB NOT NULL, fetched_at INTEGER NOT NULL,
    fresh_until INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS anchor_rounds (
    id INTEGER PRIMARY KEY, created TEXT NOT NULL, digest TEXT NOT NULL, root TEXT NOT NULL,
    token BLOB NOT NULL, audit_seq INTEGER NOT NULL, audit_head TEXT NOT NULL,
    members INTEGER NOT NULL, report_mark INTEGER NOT NULL DEFAULT 0,
    version_mark INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS anchor_members (
    place TEXT NOT NULL, sha256 TEXT NOT NULL, leaf TEXT NOT NULL,
    round INTEGER NOT NULL REFERENCES anchor_rounds(id), PRIMARY KEY (place, sha256));
CREATE INDEX IF NOT EXISTS anchor_members_round ON anchor_members(round);
CREATE TABLE IF NOT EXISTS anchor_renewals (
    round INTEGER NOT NULL REFERENCES anchor_rounds(id), seq INTEGER NOT NULL,
    stamp BLOB NOT NULL, PRIMARY KEY (round, seq));
CREATE TABLE IF NOT EXISTS anchor_renewed (
    round INTEGER NOT NULL REFERENCES anchor_rounds(id), place TEXT NOT NULL,
    sha256 TEXT NOT NULL, leaf TEXT NOT NULL, PRIMARY KEY (round, place, sha256));
CREATE TABLE IF NOT EXISTS signing_sessions (
    id TEXT PRIMARY KEY, key_id TEXT NOT NULL, profile TEXT NOT NULL, expires INTEGER NOT NULL,
    doc BLOB NOT NULL, contents_start INTEGER NOT NULL, contents_end INTEGER NOT NULL,
    signed_attrs BLOB NOT NULL, digest TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// Insert a round's row (anchoring or hash-tree renewal); its id.
fn insert_round(tx: &Connection, r: &RoundRecord, members: usize) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO anchor_rounds (created, digest, root, token, audit_seq, audit_head,
             members, report_mark, version_mark, hash_renewal)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            r.created,
            r.digest,
            r.root,
            r.token,
            r.audit_seq,
            r.audit_head,
            members as i64,
            r.marks.report,
            r.marks.version,
            r.hash_renewal
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// A [`ReportRecord`] from the [`REPORT_COLUMNS`] starting at column `at`.
fn report_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<ReportRecord> {
    let ev: String = r.get(at + 7)?;
    Ok(ReportRecord {
        document_sha256: r.get(at)?,
        report_sha256: r.get(at + 1)?,
        verified_at: r.get(at + 2)?,
        validation_time: r.get(at + 3)?,
        indication: r.get(at + 4)?,
        online: r.get(at + 5)?,
        require_revocation: r.get(at + 6)?,
        // An unreadable list is an error, not an empty one: the row would
        // otherwise read as one that kept no evidence.
        evidence: serde_json::from_str(&ev).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(at + 7, rusqlite::types::Type::Text, e.into())
        })?,
        policy: r.get(at + 8)?,
    })
}

fn member_row(x: &rusqlite::Row<'_>) -> rusqlite::Result<AnchorMember> {
    Ok(AnchorMember {
        place: x.get(0)?,
        sha256: x.get(1)?,
        leaf: x.get(2)?,
        round: x.get(3)?,
    })
}

pub struct SqliteMeta {
    conn: Arc<Mutex<Connection>>,
    side: Arc<Mutex<Connection>>,
}

/// Columns added after a table was first created: (table, column, declaration).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("api_keys", "expires", "INTEGER"),
    ("api_keys", "revoked", "TEXT"),
    ("anchor_rounds", "report_mark", "INTEGER NOT NULL DEFAULT 0"),
    (
        "signing_sessions",
        "leased_until",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    (
        "anchor_rounds",
        "version_mark",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    (
        "anchor_rounds",
        "hash_renewal",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    ("anchor_rounds", "renewed_by", "INTEGER NOT NULL DEFAULT 0"),
];

fn migrate(c: &Connection) -> rusqlite::Result<()> {
    for (table, column, decl) in ADDED_COLUMNS {
        let has: bool = c
            .prepare(&format!(
                "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
            ))?
            .exists([column])?;
        if !has {
            c.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
        }
    }
    Ok(())
}

fn db(e: rusqlite::Error) -> ArchiveError {
    ArchiveError::Db(e.to_string())
}

impl SqliteMeta {
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(db)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
             PRAGMA busy_timeout=10000;",
        )
        .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        migrate(&conn).map_err(db)?;
        // Anchoring's long reads and its round's write go through a second
        // connection: WAL lets the requests' connection go on meanwhile.
        let side = Connection::open(path).map_err(db)?;
        side.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;",
        )
        .map_err(db)?;
        Ok(SqliteMeta {
            conn: Arc::new(Mutex::new(conn)),
            side: Arc::new(Mutex::new(side)),
        })
    }

    async fn run_side<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        Self::run_on(self.side.clone(), f).await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        Self::run_on(self.conn.clone(), f).await
    }

    async fn run_on<T: Send + 'static>(
        conn: Arc<Mutex<Connection>>,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| ArchiveError::Db("connection lock poisoned".into()))?;
            f(&mut c).map_err(db)
        })
        .await
        .map_err(|e| ArchiveError::Db(e.to_string()))?
    }
}

fn append_audit_tx(tx: &rusqlite::Transaction, d: AuditDraft) -> rusqlite::Result<AuditEntry> {
    let prev: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let e = chain(prev, d);
    tx.execute(
        "INSERT INTO audit (seq, time, key_id, role, action, object, outcome, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            e.seq,
            e.time,
            e.key_id,
            e.role,
            e.action,
            e.object,
            e.outcome,
            e.prev_hash,
            e.hash
        ],
    )?;
    Ok(e)
}

/// Record that `key_id` submitted (or was handed) `kind` `id`.
fn own(tx: &rusqlite::Transaction, kind: &str, id: &str, key_id: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO owners (kind, id, key_id) VALUES (?1, ?2, ?3)",
        params![kind, id, key_id],
    )
    .map(|_| ())
}

/// The submitting key owns the dossier and each of its documents.
fn own_all(
    tx: &rusqlite::Transaction,
    code: &str,
    docs: &[DocumentRecord],
    key_id: &str,
) -> rusqlite::Result<()> {
    own(tx, "dossier", code, key_id)?;
    for d in docs {
        own(tx, "document", &d.sha256, key_id)?;
    }
    Ok(())
}

fn read_keys(c: &Connection) -> rusqlite::Result<Vec<ApiKeyRecord>> {
    let mut st =
        c.prepare("SELECT id, role, key_sha256, created, expires, revoked FROM api_keys")?;
    st.query_map([], |r| {
        Ok(ApiKeyRecord {
            id: r.get(0)?,
            role: r.get(1)?,
            key_sha256: r.get(2)?,
            created: r.get(3)?,
            expires: r.get(4)?,
            revoked: r.get(5)?,
        })
    })?
    .collect()
}

fn insert_key(tx: &rusqlite::Transaction, k: &ApiKeyRecord) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO api_keys (id, role, key_sha256, created, expires, revoked)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![k.id, k.role, k.key_sha256, k.created, k.expires, k.revoked],
    )?;
    Ok(())
}

fn insert_session(tx: &rusqlite::Transaction, s: &SessionRecord) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO signing_sessions (id, key_id, profile, expires, doc, contents_start,
             contents_end, signed_attrs, digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            s.id,
            s.key_id,
            s.profile,
            s.expires,
            s.doc,
            s.contents.0,
            s.contents.1,
            s.signed_attrs,
            s.digest
        ],
    )?;
    Ok(())
}

fn insert_doc_report(
    tx: &rusqlite::Transaction,
    doc: &DocumentRecord,
    r: &ReportRecord,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO documents (sha256, size, media_type) VALUES (?1, ?2, ?3)",
        params![doc.sha256, doc.size as i64, doc.media_type],
    )?;
    let ev = serde_json::to_string(&r.evidence).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO reports (document_sha256, report_sha256, verified_at, validation_time,
             indication, online, require_revocation, evidence, policy)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            r.document_sha256,
            r.report_sha256,
            r.verified_at,
            r.validation_time,
            r.indication,
            r.online,
            r.require_revocation,
            ev,
            r.policy
        ],
    )?;
    Ok(())
}

fn load_versions(c: &Connection, code: &str) -> rusqlite::Result<Vec<VersionRecord>> {
    let head: Option<(String, String)> = c
        .query_row(
            "SELECT procedure, applicant FROM dossiers WHERE code = ?1",
            [code],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((procedure, applicant)) = head else {
        return Ok(Vec::new());
    };
    let mut st = c.prepare(
        "SELECT version, submission_sha256, accepted, decision_sha256, created
         FROM dossier_versions WHERE code = ?1 ORDER BY version",
    )?;
    let mut versions: Vec<VersionRecord> = st
        .query_map([code], |r| {
            Ok(VersionRecord {
                code: code.to_string(),
                version: r.get(0)?,
                procedure: procedure.clone(),
                applicant: applicant.clone(),
                submission_sha256: r.get(1)?,
                accepted: r.get(2)?,
                decision_sha256: r.get(3)?,
                created: r.get(4)?,
                files: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut fs = c.prepare(
        "SELECT version, idx, role, name, document_sha256, report_sha256
         FROM dossier_files WHERE code = ?1 ORDER BY version, idx",
    )?;
    let files = fs.query_map([code], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            FileRecord {
                index: r.get(1)?,
                role: r.get(2)?,
                name: r.get(3)?,
                document_sha256: r.get(4)?,
                report_sha256: r.get(5)?,
            },
        ))
    })?;
    for f in files {
        let (v, f) = f?;
        if let Some(ver) = versions.iter_mut().find(|x| x.version == v) {
            ver.files.push(f);
        }
    }
    Ok(versions)
}

#[async_trait::async_trait]
impl MetaStore for SqliteMeta {
    async fn ping(&self) -> Result<()> {
        self.run(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        self.run(|c| read_keys(c)).await
    }

    async fn change_key(
        &self,
        change: KeyChange,
        now: i64,
        audit: AuditDraft,
    ) -> Result<AuditEntry> {
        let out = self
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let w = match plan_key_change(&read_keys(&tx)?, &change, now) {
                    Ok(w) => w,
                    Err(why) => return Ok(Err(why)),
                };
                if let Some(k) = &w.insert {
                    insert_key(&tx, k)?;
                }
                if let Some((id, expires, revoked)) = &w.update {
                    tx.execute(
                        "UPDATE api_keys SET expires = ?2, revoked = ?3 WHERE id = ?1",
                        params![id, expires, revoked],
                    )?;
                }
                let e = append_audit_tx(&tx, audit)?;
                tx.commit()?;
                Ok(Ok(e))
            })
            .await?;
        out.map_err(ArchiveError::Conflict)
    }

    async fn insert_keys_if_none(&self, keys: &[ApiKeyRecord]) -> Result<bool> {
        let keys = keys.to_vec();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n: i64 = tx.query_row("SELECT COUNT(*) FROM api_keys", [], |r| r.get(0))?;
            if n > 0 {
                return Ok(false);
            }
            for k in &keys {
                insert_key(&tx, k)?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn record_verification(
        &self,
        doc: &DocumentRecord,
        report: &ReportRecord,
        audit: AuditDraft,
    ) -> Result<AuditEntry> {
        let (doc, report) = (doc.clone(), report.clone());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            insert_doc_report(&tx, &doc, &report)?;
            own(&tx, "document", &doc.sha256, &audit.key_id)?;
            let e = append_audit_tx(&tx, audit)?;
            tx.commit()?;
            Ok(e)
        })
        .await
    }

    async fn submit_version(
        &self,
        v: &VersionRecord,
        docs: &[DocumentRecord],
        reports: &[ReportRecord],
        audit: AuditDraft,
    ) -> Result<Submitted> {
        let (v, docs, reports) = (v.clone(), docs.to_vec(), reports.to_vec());
        let out = self
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let head: Option<(String, String)> = tx
                    .query_row(
                        "SELECT procedure, applicant FROM dossiers WHERE code = ?1",
                        [&v.code],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let versions = load_versions(&tx, &v.code)?;
                let head = head.as_ref().map(|(p, a)| (p.as_str(), a.as_str()));
                let (v, create, audit) = match plan_submission(head, &versions, &v, audit) {
                    SubmissionPlan::Conflict { message, audit } => {
                        append_audit_tx(&tx, audit)?;
                        tx.commit()?;
                        return Ok(Err(message));
                    }
                    SubmissionPlan::Replay { version, audit } => {
                        own_all(&tx, &version.code, &docs, &audit.key_id)?;
                        append_audit_tx(&tx, audit)?;
                        tx.commit()?;
                        return Ok(Ok(Submitted::Replay(version)));
                    }
                    SubmissionPlan::New {
                        version,
                        create,
                        audit,
                    } => (version, create, audit),
                };
                if create {
                    tx.execute(
                        "INSERT INTO dossiers (code, procedure, applicant) VALUES (?1, ?2, ?3)",
                        params![v.code, v.procedure, v.applicant],
                    )?;
                }
                own_all(&tx, &v.code, &docs, &audit.key_id)?;
                for (d, r) in docs.iter().zip(&reports) {
                    insert_doc_report(&tx, d, r)?;
                }
                tx.execute(
                    "INSERT INTO dossier_versions (code, version, submission_sha256, accepted,
                         decision_sha256, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        v.code,
                        v.version,
                        v.submission_sha256,
                        v.accepted,
                        v.decision_sha256,
                        v.created
                    ],
                )?;
                for f in &v.files {
                    tx.execute(
                        "INSERT INTO dossier_files (code, version, idx, role, name,
                             document_sha256, report_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            v.code,
                            v.version,
                            f.index,
                            f.role,
                            f.name,
                            f.document_sha256,
                            f.report_sha256
                        ],
                    )?;
                }
                append_audit_tx(&tx, audit)?;
                tx.commit()?;
                Ok(Ok(Submitted::New(v)))
            })
            .await?;
        out.map_err(ArchiveError::Conflict)
    }

    async fn dossier(&self, code: &str) -> Result<Option<DossierRecord>> {
        let code = code.to_string();
        self.run(move |c| {
            let head: Option<(String, String)> = c
                .query_row(
                    "SELECT procedure, applicant FROM dossiers WHERE code = ?1",
                    [&code],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((procedure, applicant)) = head else {
                return Ok(None);
            };
            let versions = load_versions(c, &code)?;
            Ok(Some(DossierRecord {
                code,
                procedure,
                applicant,
                versions,
            }))
        })
        .await
    }

    async fn document(&self, sha256: &str) -> Result<Option<(DocumentRecord, Vec<ReportRecord>)>> {
        let sha = sha256.to_string();
        self.run(move |c| {
            let doc: Option<DocumentRecord> = c
                .query_row(
                    "SELECT sha256, size, media_type FROM documents WHERE sha256 = ?1",
                    [&sha],
                    |r| {
                        Ok(DocumentRecord {
                            sha256: r.get(0)?,
                            size: r.get::<_, i64>(1)? as u64,
                            media_type: r.get(2)?,
                        })
                    },
                )
                .optional()?;
            let Some(doc) = doc else { return Ok(None) };
            let mut st = c.prepare(&format!(
                "SELECT {REPORT_COLUMNS} FROM reports WHERE document_sha256 = ?1 ORDER BY id"
            ))?;
            let reports = st
                .query_map([&sha], |r| report_row(r, 0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some((doc, reports)))
        })
        .await
    }

    async fn append_audit(&self, d: AuditDraft) -> Result<AuditEntry> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let e = append_audit_tx(&tx, d)?;
            tx.commit()?;
            Ok(e)
        })
        .await
    }

    async fn audit_page(&self, from: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT seq, time, key_id, role, action, object, outcome, prev_hash, hash
                 FROM audit WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
            )?;
            st.query_map(params![from, limit as i64], |r| {
                Ok(AuditEntry {
                    seq: r.get(0)?,
                    time: r.get(1)?,
                    key_id: r.get(2)?,
                    role: r.get(3)?,
                    action: r.get(4)?,
                    object: r.get(5)?,
                    outcome: r.get(6)?,
                    prev_hash: r.get(7)?,
                    hash: r.get(8)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn document_intakes(&self) -> Result<Vec<(String, String)>> {
        self.run_side(|c| {
            let mut st = c.prepare(DOCUMENT_INTAKES)?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect()
        })
        .await
    }

    async fn dossiers_of(&self, sha256: &str) -> Result<Vec<String>> {
        let sha = sha256.to_string();
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT DISTINCT code FROM dossier_files WHERE document_sha256 = ?1 ORDER BY code LIMIT 10",
            )?;
            st.query_map([sha], |r| r.get(0))?.collect()
        })
        .await
    }

    async fn versions_between(
        &self,
        from: &str,
        to: &str,
        limit: usize,
    ) -> Result<Vec<VersionRecord>> {
        let (from, to) = (from.to_string(), to.to_string());
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT v.code, v.version, d.procedure, d.applicant, v.submission_sha256,
                        v.accepted, v.decision_sha256, v.created
                 FROM dossier_versions v JOIN dossiers d ON d.code = v.code
                 WHERE v.created >= ?1 AND v.created < ?2 ORDER BY v.created, v.code LIMIT ?3",
            )?;
            st.query_map(params![from, to, limit as i64], |r| {
                Ok(VersionRecord {
                    code: r.get(0)?,
                    version: r.get(1)?,
                    procedure: r.get(2)?,
                    applicant: r.get(3)?,
                    submission_sha256: r.get(4)?,
                    accepted: r.get(5)?,
                    decision_sha256: r.get(6)?,
                    created: r.get(7)?,
                    files: Vec::new(),
                })
            })?
            .collect()
        })
        .await
    }

    async fn owns(&self, kind: &str, id: &str, key_id: &str) -> Result<bool> {
        let (kind, id, key_id) = (kind.to_string(), id.to_string(), key_id.to_string());
        self.run(move |c| {
            c.query_row(
                "SELECT 1 FROM owners WHERE kind = ?1 AND id = ?2 AND key_id = ?3",
                params![kind, id, key_id],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
        })
        .await
    }

    async fn cache_get(&self, key: &str) -> Result<Option<CachedAnswer>> {
        let key = key.to_string();
        self.run(move |c| {
            c.query_row(
                "SELECT body, fetched_at, fresh_until FROM revocation_cache WHERE key = ?1",
                params![key],
                |r| {
                    Ok(CachedAnswer {
                        key: key.clone(),
                        body: r.get(0)?,
                        fetched_at: r.get(1)?,
                        fresh_until: r.get(2)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn cache_put(&self, a: &CachedAnswer) -> Result<()> {
        let a = a.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO revocation_cache (key, body, fetched_at, fresh_until)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(key) DO UPDATE SET body = excluded.body,
                     fetched_at = excluded.fetched_at, fresh_until = excluded.fresh_until
                 WHERE excluded.fetched_at >= revocation_cache.fetched_at",
                params![a.key, a.body, a.fetched_at, a.fresh_until],
            )
            .map(|_| ())
        })
        .await
    }

    async fn audit_head(&self) -> Result<Option<(i64, String)>> {
        self.run(|c| {
            c.query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
        .await
    }

    async fn anchored(&self) -> Result<Vec<AnchorMember>> {
        self.run_side(|c| {
            let mut st = c.prepare("SELECT place, sha256, leaf, round FROM anchor_members")?;
            st.query_map([], member_row)?.collect()
        })
        .await
    }

    async fn store_round(&self, r: &RoundRecord, members: &[AnchorMember]) -> Result<Option<i64>> {
        let (r, mut members) = (r.clone(), members.to_vec());
        // In key order: each insert lands next to the last one in the
        // primary-key index, and the writer lock is held the shorter.
        members.sort_unstable_by(|a, b| (&a.place, &a.sha256).cmp(&(&b.place, &b.sha256)));
        self.run_side(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let id = insert_round(&tx, &r, members.len())?;
            {
                // A member anchored meanwhile by another round (another
                // process) is a primary-key conflict: this round is dropped.
                let mut st = tx.prepare(
                    "INSERT OR IGNORE INTO anchor_members (place, sha256, leaf, round)
                     VALUES (?1, ?2, ?3, ?4)",
                )?;
                for m in &members {
                    if st.execute(params![m.place, m.sha256, m.leaf, id])? == 0 {
                        return Ok(None);
                    }
                }
            }
            tx.commit()?;
            Ok(Some(id))
        })
        .await
    }

    async fn store_hash_renewal(
        &self,
        r: &RoundRecord,
        renewed: &[(i64, usize)],
        members: &[AnchorMember],
    ) -> Result<Option<i64>> {
        let (mut r, renewed, mut members) = (r.clone(), renewed.to_vec(), members.to_vec());
        r.hash_renewal = true;
        members.sort_unstable_by(|a, b| (&a.place, &a.sha256).cmp(&(&b.place, &b.sha256)));
        self.run_side(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Each renewed round as it was read: not taken over, no renewal since.
            for (round, seen) in &renewed {
                let now: Option<(i64, i64)> = tx
                    .query_row(
                        "SELECT renewed_by, (SELECT COUNT(*) FROM anchor_renewals WHERE round = ?1)
                         FROM anchor_rounds WHERE id = ?1",
                        [round],
                        |x| Ok((x.get(0)?, x.get(1)?)),
                    )
                    .optional()?;
                if now != Some((0, *seen as i64)) {
                    return Ok(None);
                }
            }
            let id = insert_round(&tx, &r, members.len())?;
            {
                let mut st = tx.prepare(
                    "INSERT INTO anchor_renewed (round, place, sha256, leaf) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for m in &members {
                    st.execute(params![id, m.place, m.sha256, m.leaf])?;
                }
                let mut st = tx.prepare("UPDATE anchor_rounds SET renewed_by = ?1 WHERE id = ?2")?;
                for (round, _) in &renewed {
                    st.execute(params![id, round])?;
                }
            }
            tx.commit()?;
            Ok(Some(id))
        })
        .await
    }

    async fn rounds(&self) -> Result<Vec<RoundRecord>> {
        self.run_side(|c| {
            let mut st = c.prepare(
                "SELECT id, created, digest, root, token, audit_seq, audit_head, members,
                     report_mark, version_mark, hash_renewal, renewed_by
                 FROM anchor_rounds ORDER BY id",
            )?;
            let mut rounds: Vec<RoundRecord> = st
                .query_map([], |x| {
                    Ok(RoundRecord {
                        id: x.get(0)?,
                        created: x.get(1)?,
                        digest: x.get(2)?,
                        root: x.get(3)?,
                        token: x.get(4)?,
                        audit_seq: x.get(5)?,
                        audit_head: x.get(6)?,
                        members: x.get::<_, i64>(7)? as u64,
                        marks: Marks {
                            report: x.get(8)?,
                            version: x.get(9)?,
                        },
                        renewals: Vec::new(),
                        hash_renewal: x.get::<_, i64>(10)? != 0,
                        renewed_by: x.get(11)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut st =
                c.prepare("SELECT round, stamp FROM anchor_renewals ORDER BY round, seq")?;
            for row in st.query_map([], |x| Ok((x.get::<_, i64>(0)?, x.get::<_, Vec<u8>>(1)?)))? {
                let (id, stamp) = row?;
                if let Some(r) = rounds.iter_mut().find(|r| r.id == id) {
                    r.renewals.push(stamp);
                }
            }
            Ok(rounds)
        })
        .await
    }

    async fn round_members(&self, round: i64) -> Result<Vec<AnchorMember>> {
        self.run_side(move |c| {
            let mut st = c.prepare(
                "SELECT place, sha256, leaf, round FROM anchor_members WHERE round = ?1
                 UNION ALL SELECT place, sha256, leaf, round FROM anchor_renewed WHERE round = ?1",
            )?;
            st.query_map([round], member_row)?.collect()
        })
        .await
    }

    async fn anchor_of(&self, place: &str, sha256: &str) -> Result<Option<AnchorMember>> {
        let (place, sha) = (place.to_string(), sha256.to_string());
        self.run(move |c| {
            c.query_row(
                "SELECT place, sha256, leaf, round FROM anchor_members WHERE place = ?1 AND sha256 = ?2",
                params![place, sha],
                member_row,
            )
            .optional()
        })
        .await
    }

    async fn add_renewal(&self, round: i64, stamp: &[u8]) -> Result<bool> {
        let stamp = stamp.to_vec();
        self.run_side(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let live = tx
                .query_row(
                    "SELECT 1 FROM anchor_rounds WHERE id = ?1 AND renewed_by = 0",
                    [round],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !live {
                return Ok(false);
            }
            let next: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM anchor_renewals WHERE round = ?1",
                [round],
                |x| x.get(0),
            )?;
            tx.execute(
                "INSERT INTO anchor_renewals (round, seq, stamp) VALUES (?1, ?2, ?3)",
                params![round, next, stamp],
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn open_session(
        &self,
        s: &SessionRecord,
        now: i64,
        limits: SessionLimits,
    ) -> Result<std::result::Result<(), SessionRefused>> {
        let s = s.clone();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM signing_sessions WHERE expires <= ?1", [now])?;
            let own: i64 = tx.query_row(
                "SELECT COUNT(*) FROM signing_sessions WHERE key_id = ?1",
                [&s.key_id],
                |x| x.get(0),
            )?;
            if own as usize >= limits.per_key.max(1) {
                tx.commit()?;
                return Ok(Err(SessionRefused::ForKey));
            }
            let (all, held): (i64, i64) = tx.query_row(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(doc)), 0) FROM signing_sessions",
                [],
                |x| Ok((x.get(0)?, x.get(1)?)),
            )?;
            if all as usize >= limits.total
                || (held as usize).saturating_add(s.doc.len()) > limits.bytes
            {
                tx.commit()?;
                return Ok(Err(SessionRefused::Full));
            }
            insert_session(&tx, &s)?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
    }

    async fn take_session(
        &self,
        id: &str,
        key_id: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<SessionTaken> {
        let (id, key_id) = (id.to_string(), key_id.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found = tx
                .query_row(
                    "SELECT id, key_id, profile, expires, doc, contents_start, contents_end,
                         signed_attrs, digest, leased_until FROM signing_sessions WHERE id = ?1",
                    [&id],
                    |x| {
                        Ok((
                            SessionRecord {
                                id: x.get(0)?,
                                key_id: x.get(1)?,
                                profile: x.get(2)?,
                                expires: x.get(3)?,
                                doc: x.get(4)?,
                                contents: (x.get(5)?, x.get(6)?),
                                signed_attrs: x.get(7)?,
                                digest: x.get(8)?,
                            },
                            x.get::<_, i64>(9)?,
                        ))
                    },
                )
                .optional()?;
            let taken = match found {
                None => SessionTaken::Missing,
                Some((s, _)) if s.key_id != key_id => SessionTaken::Forbidden,
                Some((s, _)) if s.expires <= now => {
                    tx.execute("DELETE FROM signing_sessions WHERE id = ?1", [&id])?;
                    SessionTaken::Expired
                }
                Some((_, leased)) if leased > now => SessionTaken::Busy(leased),
                Some((s, _)) => {
                    tx.execute(
                        "UPDATE signing_sessions SET leased_until = ?2 WHERE id = ?1",
                        params![id, lease_until],
                    )?;
                    SessionTaken::Ready(s)
                }
            };
            tx.commit()?;
            Ok(taken)
        })
        .await
    }

    async fn release_session(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.run(move |c| {
            c.execute(
                "UPDATE signing_sessions SET leased_until = 0 WHERE id = ?1",
                [&id],
            )
            .map(|_| ())
        })
        .await
    }

    async fn finish_session(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.run(move |c| {
            c.execute("DELETE FROM signing_sessions WHERE id = ?1", [&id])
                .map(|_| ())
        })
        .await
    }

    async fn sweep_sessions(&self, now: i64) -> Result<u64> {
        self.run(move |c| {
            c.execute("DELETE FROM signing_sessions WHERE expires <= ?1", [now])
                .map(|n| n as u64)
        })
        .await
    }

    async fn blob_refs_since(&self, from: Marks) -> Result<(Vec<(String, String)>, Marks)> {
        self.run_side(move |c| {
            // One read transaction: every table seen at one moment.
            let tx = c.transaction()?;
            let (out, marks) = {
                let mut out = Vec::new();
                let mut marks = from;
                if from == Marks::default() {
                    let mut st = tx.prepare("SELECT sha256 FROM documents")?;
                    for s in st.query_map([], |r| r.get::<_, String>(0))? {
                        let s = s?;
                        out.push((format!("document {s}"), s));
                    }
                }
                let mut st = tx.prepare(&format!(
                    "SELECT id, {REPORT_COLUMNS} FROM reports WHERE id > ?1 ORDER BY id"
                ))?;
                let rows = st.query_map([from.report], |r| {
                    Ok((r.get::<_, i64>(0)?, report_row(r, 1)?))
                })?;
                for row in rows {
                    let (id, rec) = row?;
                    marks.report = id;
                    report_refs(&mut out, id, &rec, from != Marks::default());
                }
                // Dossier versions in insertion order (SQLite's rowid).
                let mut st = tx.prepare(
                    "SELECT rowid, code, version, decision_sha256 FROM dossier_versions
                 WHERE rowid > ?1 ORDER BY rowid",
                )?;
                for r in st.query_map([from.version], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })? {
                    let (row, code, v, d) = r?;
                    marks.version = row;
                    out.push((format!("decision of dossier {code} version {v}"), d));
                }
                let mut st = tx.prepare(
                    "SELECT f.code, f.version, f.idx, f.document_sha256, f.report_sha256
                 FROM dossier_files f JOIN dossier_versions v
                   ON v.code = f.code AND v.version = f.version
                 WHERE v.rowid > ?1 AND v.rowid <= ?2",
                )?;
                for r in st.query_map([from.version, marks.version], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })? {
                    let (code, v, i, d, rep) = r?;
                    out.push((format!("file {i} of dossier {code} version {v}"), d));
                    out.push((
                        format!("report of file {i} of dossier {code} version {v}"),
                        rep,
                    ));
                }
                (out, marks)
            };
            tx.finish()?;
            Ok((out, marks))
        })
        .await
    }

    async fn round_marks(&self) -> Result<Marks> {
        self.run_side(|c| {
            c.query_row(
                "SELECT COALESCE(MAX(report_mark), 0), COALESCE(MAX(version_mark), 0)
                 FROM anchor_rounds",
                [],
                |x| {
                    Ok(Marks {
                        report: x.get(0)?,
                        version: x.get(1)?,
                    })
                },
            )
        })
        .await
    }

    async fn row_marks(&self) -> Result<Marks> {
        self.run_side(|c| {
            c.query_row(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM reports),
                        (SELECT COALESCE(MAX(rowid), 0) FROM dossier_versions)",
                [],
                |x| {
                    Ok(Marks {
                        report: x.get(0)?,
                        version: x.get(1)?,
                    })
                },
            )
        })
        .await
    }

    async fn anchored_among(
        &self,
        keys: Vec<(String, String)>,
    ) -> Result<HashSet<(String, String)>> {
        self.run_side(move |c| {
            let tx = c.transaction()?;
            let mut found = HashSet::new();
            {
                let mut st = tx.prepare_cached(
                    "SELECT 1 FROM anchor_members WHERE place = ?1 AND sha256 = ?2",
                )?;
                for k in keys {
                    if st.exists(params![k.0, k.1])? {
                        found.insert(k);
                    }
                }
            }
            tx.finish()?;
            Ok(found)
        })
        .await
    }
}
