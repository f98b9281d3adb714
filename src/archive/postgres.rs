//! The scale-out metadata store: PostgreSQL. API nodes keep no state; every
//! write transaction first takes one transaction-scoped advisory lock, which
//! orders the audit chain across all nodes sharing the database.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::*;

/// Settings of the PostgreSQL store.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct PgConfig {
    /// libpq-style connection string, e.g. `host=127.0.0.1 port=5432 user=kyso dbname=kyso`.
    pub url: String,
    /// Schema holding kyso's tables (created when missing).
    #[serde(default = "default_schema")]
    pub schema: String,
    #[serde(default = "default_pool")]
    pub pool_size: usize,
}

fn default_schema() -> String {
    "kyso".into()
}
fn default_pool() -> usize {
    8
}

const AUDIT_LOCK: i64 = 0x6b79_736f; // "kyso"
/// Held while a signing session is opened (its limits are counted).
const SESSION_LOCK: i64 = 0x6b79_736f_0002;
/// Held by the node storing an anchoring round (transaction-scoped).
const ROUND_LOCK: i64 = 0x6b79_736f_0001;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, role TEXT NOT NULL, key_sha256 TEXT NOT NULL UNIQUE, created TEXT NOT NULL);
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires BIGINT;
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS revoked TEXT;
CREATE TABLE IF NOT EXISTS documents (
    sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, media_type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    id BIGSERIAL PRIMARY KEY, document_sha256 TEXT NOT NULL REFERENCES documents(sha256),
    report_sha256 TEXT NOT NULL, verified_at TEXT NOT NULL, validation_time BIGINT NOT NULL,
    indication TEXT NOT NULL, online BOOLEAN NOT NULL, require_revocation BOOLEAN NOT NULL,
    evidence TEXT NOT NULL, policy TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reports_doc ON reports(document_sha256);
CREATE TABLE IF NOT EXISTS dossiers (
    code TEXT PRIMARY KEY, procedure TEXT NOT NULL, applicant TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dossier_versions (
    code TEXT NOT NULL REFERENCES dossiers(code), version INTEGER NOT NULL,
    submission_sha256 TEXT NOT NULL, accepted BOOLEAN NOT NULL, decision_sha256 TEXT NOT NULL,
    created TEXT NOT NULL, PRIMARY KEY (code, version));
CREATE TABLE IF NOT EXISTS dossier_files (
    code TEXT NOT NULL, version INTEGER NOT NULL, idx INTEGER NOT NULL, role TEXT NOT NULL,
    name TEXT NOT NULL, document_sha256 TEXT NOT NULL REFERENCES documents(sha256),
    report_sha256 TEXT NOT NULL, PRIMARY KEY (code, version, idx));
CREATE TABLE IF NOT EXISTS audit (
    seq BIGINT PRIMARY KEY, time TEXT NOT NULL, key_id TEXT NOT NULL, role TEXT NOT NULL,
    action TEXT NOT NULL, object TEXT NOT NULL, outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS owners (
    kind TEXT NOT NULL, id TEXT NOT NULL, key_id TEXT NOT NULL, PRIMARY KEY (kind, id, key_id));
CREATE TABLE IF NOT EXISTS revocation_cache (
    key TEXT PRIMARY KEY, body BYTEA NOT NULL, fetched_at BIGINT NOT NULL,
    fresh_until BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS anchor_rounds (
    id BIGSERIAL PRIMARY KEY, created TEXT NOT NULL, digest TEXT NOT NULL, root TEXT NOT NULL,
    token BYTEA NOT NULL, audit_seq BIGINT NOT NULL, audit_head TEXT NOT NULL,
    members BIGINT NOT NULL);
ALTER TABLE anchor_rounds ADD COLUMN IF NOT EXISTS report_mark BIGINT NOT NULL DEFAULT 0;
ALTER TABLE anchor_rounds ADD COLUMN IF NOT EXISTS version_mark BIGINT NOT NULL DEFAULT 0;
ALTER TABLE anchor_rounds ADD COLUMN IF NOT EXISTS hash_renewal BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE anchor_rounds ADD COLUMN IF NOT EXISTS renewed_by BIGINT NOT NULL DEFAULT 0;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
                   AND table_name = 'dossier_versions' AND column_name = 'seq') THEN
        ALTER TABLE dossier_versions ADD COLUMN seq BIGSERIAL;
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS dossier_versions_seq ON dossier_versions(seq);
CREATE TABLE IF NOT EXISTS anchor_members (
    place TEXT NOT NULL, sha256 TEXT NOT NULL, leaf TEXT NOT NULL,
    round BIGINT NOT NULL REFERENCES anchor_rounds(id), PRIMARY KEY (place, sha256));
CREATE INDEX IF NOT EXISTS anchor_members_round ON anchor_members(round);
CREATE TABLE IF NOT EXISTS anchor_renewals (
    round BIGINT NOT NULL REFERENCES anchor_rounds(id), seq INTEGER NOT NULL,
    stamp BYTEA NOT NULL, PRIMARY KEY (round, seq));
CREATE TABLE IF NOT EXISTS anchor_renewed (
    round BIGINT NOT NULL REFERENCES anchor_rounds(id), place TEXT NOT NULL,
    sha256 TEXT NOT NULL, leaf TEXT NOT NULL, PRIMARY KEY (round, place, sha256));
CREATE TABLE IF NOT EXISTS signing_sessions (
    id TEXT PRIMARY KEY, key_id TEXT NOT NULL, profile TEXT NOT NULL, expires BIGINT NOT NULL,
    doc BYTEA NOT NULL, contents_start BIGINT NOT NULL, contents_end BIGINT NOT NULL,
    signed_attrs BYTEA NOT NULL, digest TEXT NOT NULL);
ALTER TABLE signing_sessions ADD COLUMN IF NOT EXISTS leased_until BIGINT NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS request_counts (
    subject TEXT NOT NULL, minute BIGINT NOT NULL, hits BIGINT NOT NULL,
    PRIMARY KEY (subject, minute));
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_no_change ON audit;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
";

/// Insert a round's row (anchoring or hash-tree renewal); its id.
async fn insert_round(
    tx: &tokio_postgres::Transaction<'_>,
    r: &RoundRecord,
    members: usize,
) -> Result<i64> {
    Ok(tx
        .query_one(
            "INSERT INTO anchor_rounds (created, digest, root, token, audit_seq, audit_head,
                 members, report_mark, version_mark, hash_renewal)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[
                &r.created,
                &r.digest,
                &r.root,
                &r.token,
                &r.audit_seq,
                &r.audit_head,
                &(members as i64),
                &r.marks.report,
                &r.marks.version,
                &r.hash_renewal,
            ],
        )
        .await
        .map_err(db)?
        .get(0))
}

/// Insert round `id`'s members into `table` (`anchor_members` or
/// `anchor_renewed`), in batches of 20 000.
async fn insert_members(
    tx: &tokio_postgres::Transaction<'_>,
    table: &str,
    id: i64,
    members: &[AnchorMember],
) -> std::result::Result<(), tokio_postgres::Error> {
    let sql = format!(
        "INSERT INTO {table} (place, sha256, leaf, round)
         SELECT p, s, l, $4 FROM UNNEST($1::text[], $2::text[], $3::text[]) AS u(p, s, l)"
    );
    for chunk in members.chunks(20_000) {
        let places: Vec<&str> = chunk.iter().map(|m| m.place.as_str()).collect();
        let shas: Vec<&str> = chunk.iter().map(|m| m.sha256.as_str()).collect();
        let leaves: Vec<&str> = chunk.iter().map(|m| m.leaf.as_str()).collect();
        tx.execute(sql.as_str(), &[&places, &shas, &leaves, &id])
            .await?;
    }
    Ok(())
}

/// A [`ReportRecord`] from the [`REPORT_COLUMNS`] starting at column `at`.
fn report_row(r: &tokio_postgres::Row, at: usize) -> Result<ReportRecord> {
    Ok(ReportRecord {
        document_sha256: r.get(at),
        report_sha256: r.get(at + 1),
        verified_at: r.get(at + 2),
        validation_time: r.get(at + 3),
        indication: r.get(at + 4),
        online: r.get(at + 5),
        require_revocation: r.get(at + 6),
        // An unreadable list is an error, not an empty one: the row would
        // otherwise read as one that kept no evidence.
        evidence: serde_json::from_str(r.get::<_, &str>(at + 7)).map_err(|e| {
            ArchiveError::Integrity(format!("a report row's evidence list is unreadable: {e}"))
        })?,
        policy: r.get(at + 8),
    })
}

fn member_row(x: &tokio_postgres::Row) -> AnchorMember {
    AnchorMember {
        place: x.get(0),
        sha256: x.get(1),
        leaf: x.get(2),
        round: x.get(3),
    }
}

pub struct PgMeta {
    pool: Pool,
}

fn db(e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Db(e.to_string())
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

impl PgMeta {
    pub async fn connect(cfg: &PgConfig) -> Result<Self> {
        if !is_identifier(&cfg.schema) {
            return Err(ArchiveError::Db(format!(
                "schema name {:?} must be lower-case letters, digits and _",
                cfg.schema
            )));
        }
        let mut pg: tokio_postgres::Config = cfg.url.parse().map_err(db)?;
        pg.options(format!("-c search_path={}", cfg.schema));
        pg.connect_timeout(std::time::Duration::from_secs(10));
        let mgr = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(cfg.pool_size.max(1))
            .build()
            .map_err(db)?;
        let c = pool.get().await.map_err(db)?;
        // Schema creation is serialised across nodes starting together.
        c.batch_execute(&format!(
            "SELECT pg_advisory_lock({AUDIT_LOCK});
             CREATE SCHEMA IF NOT EXISTS {s};",
            s = cfg.schema
        ))
        .await
        .map_err(db)?;
        let r = c.batch_execute(SCHEMA).await.map_err(db);
        c.batch_execute(&format!("SELECT pg_advisory_unlock({AUDIT_LOCK})"))
            .await
            .map_err(db)?;
        r?;
        drop(c);
        Ok(PgMeta { pool })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(db)
    }
}

async fn lock(tx: &deadpool_postgres::Transaction<'_>) -> Result<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .await
        .map_err(db)?;
    Ok(())
}

/// Record that `key_id` submitted (or was handed) `kind` `id`.
async fn own(
    tx: &deadpool_postgres::Transaction<'_>,
    kind: &str,
    id: &str,
    key_id: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO owners (kind, id, key_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&kind, &id, &key_id],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// The submitting key owns the dossier and each of its documents.
async fn own_all(
    tx: &deadpool_postgres::Transaction<'_>,
    code: &str,
    docs: &[DocumentRecord],
    key_id: &str,
) -> Result<()> {
    own(tx, "dossier", code, key_id).await?;
    for d in docs {
        own(tx, "document", &d.sha256, key_id).await?;
    }
    Ok(())
}

async fn append_audit_tx(
    tx: &deadpool_postgres::Transaction<'_>,
    d: AuditDraft,
) -> Result<AuditEntry> {
    let prev = tx
        .query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])
        .await
        .map_err(db)?
        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)));
    let e = chain(prev, d);
    tx.execute(
        "INSERT INTO audit (seq, time, key_id, role, action, object, outcome, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &e.seq,
            &e.time,
            &e.key_id,
            &e.role,
            &e.action,
            &e.object,
            &e.outcome,
            &e.prev_hash,
            &e.hash,
        ],
    )
    .await
    .map_err(db)?;
    Ok(e)
}

async fn insert_doc_report(
    tx: &deadpool_postgres::Transaction<'_>,
    doc: &DocumentRecord,
    r: &ReportRecord,
) -> Result<()> {
    tx.execute(
        "INSERT INTO documents (sha256, size, media_type) VALUES ($1, $2, $3)
         ON CONFLICT (sha256) DO NOTHING",
        &[&doc.sha256, &(doc.size as i64), &doc.media_type],
    )
    .await
    .map_err(db)?;
    let ev = serde_json::to_string(&r.evidence).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO reports (document_sha256, report_sha256, verified_at, validation_time,
             indication, online, require_revocation, evidence, policy)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &r.document_sha256,
            &r.report_sha256,
            &r.verified_at,
            &r.validation_time,
            &r.indication,
            &r.online,
            &r.require_revocation,
            &ev,
            &r.policy,
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

async fn load_versions<C: deadpool_postgres::GenericClient>(
    c: &C,
    code: &str,
    procedure: &str,
    applicant: &str,
) -> Result<Vec<VersionRecord>> {
    let rows = c
        .query(
            "SELECT version, submission_sha256, accepted, decision_sha256, created
             FROM dossier_versions WHERE code = $1 ORDER BY version",
            &[&code],
        )
        .await
        .map_err(db)?;
    let mut versions: Vec<VersionRecord> = rows
        .iter()
        .map(|r| VersionRecord {
            code: code.to_string(),
            version: r.get::<_, i32>(0) as u32,
            procedure: procedure.to_string(),
            applicant: applicant.to_string(),
            submission_sha256: r.get(1),
            accepted: r.get(2),
            decision_sha256: r.get(3),
            created: r.get(4),
            files: Vec::new(),
        })
        .collect();
    let rows = c
        .query(
            "SELECT version, idx, role, name, document_sha256, report_sha256
             FROM dossier_files WHERE code = $1 ORDER BY version, idx",
            &[&code],
        )
        .await
        .map_err(db)?;
    for r in rows {
        let v = r.get::<_, i32>(0) as u32;
        if let Some(ver) = versions.iter_mut().find(|x| x.version == v) {
            ver.files.push(FileRecord {
                index: r.get::<_, i32>(1) as u32,
                role: r.get(2),
                name: r.get(3),
                document_sha256: r.get(4),
                report_sha256: r.get(5),
            });
        }
    }
    Ok(versions)
}

async fn read_keys(c: &impl deadpool_postgres::GenericClient) -> Result<Vec<ApiKeyRecord>> {
    let rows = c
        .query(
            "SELECT id, role, key_sha256, created, expires, revoked FROM api_keys",
            &[],
        )
        .await
        .map_err(db)?;
    Ok(rows
        .iter()
        .map(|r| ApiKeyRecord {
            id: r.get(0),
            role: r.get(1),
            key_sha256: r.get(2),
            created: r.get(3),
            expires: r.get(4),
            revoked: r.get(5),
        })
        .collect())
}

async fn insert_key(tx: &deadpool_postgres::Transaction<'_>, k: &ApiKeyRecord) -> Result<()> {
    tx.execute(
        "INSERT INTO api_keys (id, role, key_sha256, created, expires, revoked)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &k.id,
            &k.role,
            &k.key_sha256,
            &k.created,
            &k.expires,
            &k.revoked,
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

async fn insert_session(tx: &tokio_postgres::Transaction<'_>, s: &SessionRecord) -> Result<()> {
    tx.execute(
        "INSERT INTO signing_sessions (id, key_id, profile, expires, doc, contents_start,
             contents_end, signed_attrs, digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &s.id,
            &s.key_id,
            &s.profile,
            &s.expires,
            &s.doc,
            &s.contents.0,
            &s.contents.1,
            &s.signed_attrs,
            &s.digest,
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

impl PgMeta {
    async fn marks(&self, sql: &str) -> Result<Marks> {
        let r = self.client().await?.query_one(sql, &[]).await.map_err(db)?;
        Ok(Marks {
            report: r.get(0),
            version: r.get(1),
        })
    }
}

#[async_trait::async_trait]
impl MetaStore for PgMeta {
    async fn ping(&self) -> Result<()> {
        self.client()
            .await?
            .execute("SELECT 1", &[])
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        let c = self.client().await?;
        read_keys(&c).await
    }

    async fn change_key(
        &self,
        change: KeyChange,
        now: i64,
        audit: AuditDraft,
    ) -> Result<AuditEntry> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        // The audit lock orders key changes with every other write.
        lock(&tx).await?;
        let w = plan_key_change(&read_keys(&tx).await?, &change, now)
            .map_err(ArchiveError::Conflict)?;
        if let Some(k) = &w.insert {
            insert_key(&tx, k).await?;
        }
        if let Some((id, expires, revoked)) = &w.update {
            tx.execute(
                "UPDATE api_keys SET expires = $2, revoked = $3 WHERE id = $1",
                &[id, expires, revoked],
            )
            .await
            .map_err(db)?;
        }
        let e = append_audit_tx(&tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(e)
    }

    async fn insert_keys_if_none(&self, keys: &[ApiKeyRecord]) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        lock(&tx).await?;
        let n: i64 = tx
            .query_one("SELECT COUNT(*) FROM api_keys", &[])
            .await
            .map_err(db)?
            .get(0);
        if n > 0 {
            return Ok(false);
        }
        for k in keys {
            insert_key(&tx, k).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn record_verification(
        &self,
        doc: &DocumentRecord,
        report: &ReportRecord,
        audit: AuditDraft,
    ) -> Result<AuditEntry> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        lock(&tx).await?;
        insert_doc_report(&tx, doc, report).await?;
        own(&tx, "document", &doc.sha256, &audit.key_id).await?;
        let e = append_audit_tx(&tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(e)
    }

    async fn submit_version(
        &self,
        v: &VersionRecord,
        docs: &[DocumentRecord],
        reports: &[ReportRecord],
        audit: AuditDraft,
    ) -> Result<Submitted> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        lock(&tx).await?;
        let head = tx
            .query_opt(
                "SELECT procedure, applicant FROM dossiers WHERE code = $1",
                &[&v.code],
            )
            .await
            .map_err(db)?
            .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)));
        let versions = match &head {
            Some((p, a)) => load_versions(&tx, &v.code, p, a).await?,
            None => Vec::new(),
        };
        let head = head.as_ref().map(|(p, a)| (p.as_str(), a.as_str()));
        let (v, create, audit) = match plan_submission(head, &versions, v, audit) {
            SubmissionPlan::Conflict { message, audit } => {
                append_audit_tx(&tx, audit).await?;
                tx.commit().await.map_err(db)?;
                return Err(ArchiveError::Conflict(message));
            }
            SubmissionPlan::Replay { version, audit } => {
                own_all(&tx, &version.code, docs, &audit.key_id).await?;
                append_audit_tx(&tx, audit).await?;
                tx.commit().await.map_err(db)?;
                return Ok(Submitted::Replay(version));
            }
            SubmissionPlan::New {
                version,
                create,
                audit,
            } => (version, create, audit),
        };
        if create {
            tx.execute(
                "INSERT INTO dossiers (code, procedure, applicant) VALUES ($1, $2, $3)",
                &[&v.code, &v.procedure, &v.applicant],
            )
            .await
            .map_err(db)?;
        }
        own_all(&tx, &v.code, docs, &audit.key_id).await?;
        for (d, r) in docs.iter().zip(reports) {
            insert_doc_report(&tx, d, r).await?;
        }
        tx.execute(
            "INSERT INTO dossier_versions (code, version, submission_sha256, accepted,
                 decision_sha256, created) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &v.code,
                &(v.version as i32),
                &v.submission_sha256,
                &v.accepted,
                &v.decision_sha256,
                &v.created,
            ],
        )
        .await
        .map_err(db)?;
        for f in &v.files {
            tx.execute(
                "INSERT INTO dossier_files (code, version, idx, role, name, document_sha256,
                     report_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &v.code,
                    &(v.version as i32),
                    &(f.index as i32),
                    &f.role,
                    &f.name,
                    &f.document_sha256,
                    &f.report_sha256,
                ],
            )
            .await
            .map_err(db)?;
        }
        append_audit_tx(&tx, audit).await?;
        tx.commit().await.map_err(db)?;
        Ok(Submitted::New(v))
    }

    async fn dossier(&self, code: &str) -> Result<Option<DossierRecord>> {
        let c = self.client().await?;
        let head = c
            .query_opt(
                "SELECT procedure, applicant FROM dossiers WHERE code = $1",
                &[&code],
            )
            .await
            .map_err(db)?;
        let Some(head) = head else { return Ok(None) };
        let (procedure, applicant): (String, String) = (head.get(0), head.get(1));
        let versions = load_versions(&c, code, &procedure, &applicant).await?;
        Ok(Some(DossierRecord {
            code: code.to_string(),
            procedure,
            applicant,
            versions,
        }))
    }

    async fn document(&self, sha256: &str) -> Result<Option<(DocumentRecord, Vec<ReportRecord>)>> {
        let c = self.client().await?;
        let Some(d) = c
            .query_opt(
                "SELECT sha256, size, media_type FROM documents WHERE sha256 = $1",
                &[&sha256],
            )
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let doc = DocumentRecord {
            sha256: d.get(0),
            size: d.get::<_, i64>(1) as u64,
            media_type: d.get(2),
        };
        let rows = c
            .query(
                &format!(
                    "SELECT {REPORT_COLUMNS} FROM reports WHERE document_sha256 = $1 ORDER BY id"
                ),
                &[&sha256],
            )
            .await
            .map_err(db)?;
        let reports = rows
            .iter()
            .map(|r| report_row(r, 0))
            .collect::<Result<_>>()?;
        Ok(Some((doc, reports)))
    }

    async fn append_audit(&self, d: AuditDraft) -> Result<AuditEntry> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        lock(&tx).await?;
        let e = append_audit_tx(&tx, d).await?;
        tx.commit().await.map_err(db)?;
        Ok(e)
    }

    async fn audit_page(&self, from: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, time, key_id, role, action, object, outcome, prev_hash, hash
                 FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2",
                &[&from, &(limit as i64)],
            )
            .await
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                seq: r.get(0),
                time: r.get(1),
                key_id: r.get(2),
                role: r.get(3),
                action: r.get(4),
                object: r.get(5),
                outcome: r.get(6),
                prev_hash: r.get(7),
                hash: r.get(8),
            })
            .collect())
    }

    async fn document_intakes(&self) -> Result<Vec<(String, String)>> {
        let rows = self
            .client()
            .await?
            .query(DOCUMENT_INTAKES, &[])
            .await
            .map_err(db)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn dossiers_of(&self, sha256: &str) -> Result<Vec<String>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT DISTINCT code FROM dossier_files WHERE document_sha256 = $1 ORDER BY code LIMIT 10",
                &[&sha256],
            )
            .await
            .map_err(db)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn versions_between(
        &self,
        from: &str,
        to: &str,
        limit: usize,
    ) -> Result<Vec<VersionRecord>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT v.code, v.version, d.procedure, d.applicant, v.submission_sha256,
                        v.accepted, v.decision_sha256, v.created
                 FROM dossier_versions v JOIN dossiers d ON d.code = v.code
                 WHERE v.created >= $1 AND v.created < $2 ORDER BY v.created, v.code LIMIT $3",
                &[&from, &to, &(limit as i64)],
            )
            .await
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| VersionRecord {
                code: r.get(0),
                version: r.get::<_, i32>(1) as u32,
                procedure: r.get(2),
                applicant: r.get(3),
                submission_sha256: r.get(4),
                accepted: r.get(5),
                decision_sha256: r.get(6),
                created: r.get(7),
                files: Vec::new(),
            })
            .collect())
    }

    async fn owns(&self, kind: &str, id: &str, key_id: &str) -> Result<bool> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT 1 FROM owners WHERE kind = $1 AND id = $2 AND key_id = $3",
                &[&kind, &id, &key_id],
            )
            .await
            .map_err(db)?;
        Ok(row.is_some())
    }

    async fn cache_get(&self, key: &str) -> Result<Option<CachedAnswer>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT body, fetched_at, fresh_until FROM revocation_cache WHERE key = $1",
                &[&key],
            )
            .await
            .map_err(db)?;
        Ok(row.map(|r| CachedAnswer {
            key: key.to_string(),
            body: r.get(0),
            fetched_at: r.get(1),
            fresh_until: r.get(2),
        }))
    }

    async fn cache_put(&self, a: &CachedAnswer) -> Result<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO revocation_cache (key, body, fetched_at, fresh_until)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body,
                     fetched_at = EXCLUDED.fetched_at, fresh_until = EXCLUDED.fresh_until
                 WHERE EXCLUDED.fetched_at >= revocation_cache.fetched_at",
                &[&a.key, &a.body, &a.fetched_at, &a.fresh_until],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn audit_head(&self) -> Result<Option<(i64, String)>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])
            .await
            .map_err(db)?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    async fn anchored(&self) -> Result<Vec<AnchorMember>> {
        let rows = self
            .client()
            .await?
            .query("SELECT place, sha256, leaf, round FROM anchor_members", &[])
            .await
            .map_err(db)?;
        Ok(rows.iter().map(member_row).collect())
    }

    async fn store_round(&self, r: &RoundRecord, members: &[AnchorMember]) -> Result<Option<i64>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        let got: bool = tx
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&ROUND_LOCK])
            .await
            .map_err(db)?
            .get(0);
        if !got {
            return Ok(None);
        }
        let id = insert_round(&tx, r, members.len()).await?;
        match insert_members(&tx, "anchor_members", id, members).await {
            Ok(()) => {}
            // Anchored by another round meanwhile: this one is dropped whole.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
                return Ok(None);
            }
            Err(e) => return Err(db(e)),
        }
        tx.commit().await.map_err(db)?;
        Ok(Some(id))
    }

    async fn store_hash_renewal(
        &self,
        r: &RoundRecord,
        renewed: &[(i64, usize)],
        members: &[AnchorMember],
    ) -> Result<Option<i64>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        // The same lock as rounds and timestamp renewals take: waited for,
        // as a renewal is rare and must not be lost to a round.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ROUND_LOCK])
            .await
            .map_err(db)?;
        for (round, seen) in renewed {
            let now = tx
                .query_opt(
                    "SELECT renewed_by, (SELECT COUNT(*) FROM anchor_renewals WHERE round = $1)
                     FROM anchor_rounds WHERE id = $1",
                    &[round],
                )
                .await
                .map_err(db)?
                .map(|x| (x.get::<_, i64>(0), x.get::<_, i64>(1)));
            if now != Some((0, *seen as i64)) {
                return Ok(None);
            }
        }
        let r = RoundRecord {
            hash_renewal: true,
            ..r.clone()
        };
        let id = insert_round(&tx, &r, members.len()).await?;
        insert_members(&tx, "anchor_renewed", id, members)
            .await
            .map_err(db)?;
        let ids: Vec<i64> = renewed.iter().map(|(r, _)| *r).collect();
        tx.execute(
            "UPDATE anchor_rounds SET renewed_by = $1 WHERE id = ANY($2)",
            &[&id, &ids],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Some(id))
    }

    async fn rounds(&self) -> Result<Vec<RoundRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, created, digest, root, token, audit_seq, audit_head, members,
                     report_mark, version_mark, hash_renewal, renewed_by
                 FROM anchor_rounds ORDER BY id",
                &[],
            )
            .await
            .map_err(db)?;
        let mut rounds: Vec<RoundRecord> = rows
            .iter()
            .map(|x| RoundRecord {
                id: x.get(0),
                created: x.get(1),
                digest: x.get(2),
                root: x.get(3),
                token: x.get(4),
                audit_seq: x.get(5),
                audit_head: x.get(6),
                members: x.get::<_, i64>(7) as u64,
                marks: Marks {
                    report: x.get(8),
                    version: x.get(9),
                },
                renewals: Vec::new(),
                hash_renewal: x.get(10),
                renewed_by: x.get(11),
            })
            .collect();
        for x in c
            .query(
                "SELECT round, stamp FROM anchor_renewals ORDER BY round, seq",
                &[],
            )
            .await
            .map_err(db)?
        {
            let id: i64 = x.get(0);
            if let Some(r) = rounds.iter_mut().find(|r| r.id == id) {
                r.renewals.push(x.get(1));
            }
        }
        Ok(rounds)
    }

    async fn round_members(&self, round: i64) -> Result<Vec<AnchorMember>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT place, sha256, leaf, round FROM anchor_members WHERE round = $1
                 UNION ALL SELECT place, sha256, leaf, round FROM anchor_renewed WHERE round = $1",
                &[&round],
            )
            .await
            .map_err(db)?;
        Ok(rows.iter().map(member_row).collect())
    }

    async fn anchor_of(&self, place: &str, sha256: &str) -> Result<Option<AnchorMember>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT place, sha256, leaf, round FROM anchor_members WHERE place = $1 AND sha256 = $2",
                &[&place, &sha256],
            )
            .await
            .map_err(db)?;
        Ok(row.as_ref().map(member_row))
    }

    async fn add_renewal(&self, round: i64, stamp: &[u8]) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ROUND_LOCK])
            .await
            .map_err(db)?;
        // Only a round no hash-tree renewal has taken over.
        let added = tx
            .execute(
                "INSERT INTO anchor_renewals (round, seq, stamp)
                 SELECT $1, COALESCE(MAX(seq), 0) + 1, $2 FROM anchor_renewals WHERE round = $1
                 AND EXISTS (SELECT 1 FROM anchor_rounds WHERE id = $1 AND renewed_by = 0)",
                &[&round, &stamp],
            )
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(added == 1)
    }

    async fn count_request(&self, subject: &str, minute: i64) -> Result<Option<u64>> {
        let n: i64 = self
            .client()
            .await?
            .query_one(
                "INSERT INTO request_counts (subject, minute, hits) VALUES ($1, $2, 1)
                 ON CONFLICT (subject, minute) DO UPDATE SET hits = request_counts.hits + 1
                 RETURNING hits",
                &[&subject, &minute],
            )
            .await
            .map_err(db)?
            .get(0);
        Ok(Some(u64::try_from(n).unwrap_or(0)))
    }

    async fn sweep_request_counts(&self, minute: i64) -> Result<()> {
        self.client()
            .await?
            .execute("DELETE FROM request_counts WHERE minute < $1", &[&minute])
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn open_session(
        &self,
        s: &SessionRecord,
        now: i64,
        limits: SessionLimits,
    ) -> Result<std::result::Result<(), SessionRefused>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        // Nodes count the open sessions one at a time.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SESSION_LOCK])
            .await
            .map_err(db)?;
        tx.execute("DELETE FROM signing_sessions WHERE expires <= $1", &[&now])
            .await
            .map_err(db)?;
        let own: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM signing_sessions WHERE key_id = $1",
                &[&s.key_id],
            )
            .await
            .map_err(db)?
            .get(0);
        let refused = if own as usize >= limits.per_key.max(1) {
            Some(SessionRefused::ForKey)
        } else {
            let r = tx
                .query_one(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(doc)), 0)::BIGINT FROM signing_sessions",
                    &[],
                )
                .await
                .map_err(db)?;
            let (all, held): (i64, i64) = (r.get(0), r.get(1));
            (all as usize >= limits.total
                || (held as usize).saturating_add(s.doc.len()) > limits.bytes)
                .then_some(SessionRefused::Full)
        };
        if refused.is_none() {
            insert_session(&tx, s).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(refused.map_or(Ok(()), Err))
    }

    async fn take_session(
        &self,
        id: &str,
        key_id: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<SessionTaken> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(db)?;
        // The row is locked: of two `complete`s at once, one gets the lease.
        let row = tx
            .query_opt(
                "SELECT id, key_id, profile, expires, doc, contents_start, contents_end,
                     signed_attrs, digest, leased_until FROM signing_sessions WHERE id = $1
                     FOR UPDATE",
                &[&id],
            )
            .await
            .map_err(db)?;
        let taken = match row {
            None => SessionTaken::Missing,
            Some(x) => {
                let s = SessionRecord {
                    id: x.get(0),
                    key_id: x.get(1),
                    profile: x.get(2),
                    expires: x.get(3),
                    doc: x.get(4),
                    contents: (x.get(5), x.get(6)),
                    signed_attrs: x.get(7),
                    digest: x.get(8),
                };
                let leased: i64 = x.get(9);
                if s.key_id != key_id {
                    SessionTaken::Forbidden
                } else if s.expires <= now {
                    tx.execute("DELETE FROM signing_sessions WHERE id = $1", &[&id])
                        .await
                        .map_err(db)?;
                    SessionTaken::Expired
                } else if leased > now {
                    SessionTaken::Busy(leased)
                } else {
                    tx.execute(
                        "UPDATE signing_sessions SET leased_until = $2 WHERE id = $1",
                        &[&id, &lease_until],
                    )
                    .await
                    .map_err(db)?;
                    SessionTaken::Ready(s)
                }
            }
        };
        tx.commit().await.map_err(db)?;
        Ok(taken)
    }

    async fn release_session(&self, id: &str) -> Result<()> {
        self.client()
            .await?
            .execute(
                "UPDATE signing_sessions SET leased_until = 0 WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn finish_session(&self, id: &str) -> Result<()> {
        self.client()
            .await?
            .execute("DELETE FROM signing_sessions WHERE id = $1", &[&id])
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn sweep_sessions(&self, now: i64) -> Result<u64> {
        self.client()
            .await?
            .execute("DELETE FROM signing_sessions WHERE expires <= $1", &[&now])
            .await
            .map_err(db)
    }

    async fn blob_refs_since(&self, from: Marks) -> Result<(Vec<(String, String)>, Marks)> {
        let mut c = self.client().await?;
        // One snapshot for every table read.
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db)?;
        let mut out = Vec::new();
        let mut marks = from;
        if from == Marks::default() {
            for r in tx
                .query("SELECT sha256 FROM documents", &[])
                .await
                .map_err(db)?
            {
                let s: String = r.get(0);
                out.push((format!("document {s}"), s));
            }
        }
        for r in tx
            .query(
                &format!("SELECT id, {REPORT_COLUMNS} FROM reports WHERE id > $1 ORDER BY id"),
                &[&from.report],
            )
            .await
            .map_err(db)?
        {
            let id: i64 = r.get(0);
            marks.report = id;
            report_refs(&mut out, id, &report_row(&r, 1)?, from != Marks::default());
        }
        for r in tx
            .query(
                "SELECT seq, code, version, decision_sha256 FROM dossier_versions
                 WHERE seq > $1 ORDER BY seq",
                &[&from.version],
            )
            .await
            .map_err(db)?
        {
            marks.version = r.get(0);
            let code: String = r.get(1);
            let v: i32 = r.get(2);
            out.push((format!("decision of dossier {code} version {v}"), r.get(3)));
        }
        for r in tx
            .query(
                "SELECT f.code, f.version, f.idx, f.document_sha256, f.report_sha256
                 FROM dossier_files f JOIN dossier_versions v
                   ON v.code = f.code AND v.version = f.version
                 WHERE v.seq > $1 AND v.seq <= $2",
                &[&from.version, &marks.version],
            )
            .await
            .map_err(db)?
        {
            let code: String = r.get(0);
            let v: i32 = r.get(1);
            let i: i32 = r.get(2);
            out.push((format!("file {i} of dossier {code} version {v}"), r.get(3)));
            out.push((
                format!("report of file {i} of dossier {code} version {v}"),
                r.get(4),
            ));
        }
        tx.commit().await.map_err(db)?;
        Ok((out, marks))
    }

    async fn round_marks(&self) -> Result<Marks> {
        self.marks(
            "SELECT COALESCE(MAX(report_mark), 0), COALESCE(MAX(version_mark), 0)
             FROM anchor_rounds",
        )
        .await
    }

    async fn row_marks(&self) -> Result<Marks> {
        self.marks(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM reports),
                    (SELECT COALESCE(MAX(seq), 0) FROM dossier_versions)",
        )
        .await
    }

    async fn anchored_among(
        &self,
        keys: Vec<(String, String)>,
    ) -> Result<HashSet<(String, String)>> {
        let c = self.client().await?;
        let mut found = HashSet::new();
        for chunk in keys.chunks(20_000) {
            let places: Vec<&str> = chunk.iter().map(|k| k.0.as_str()).collect();
            let shas: Vec<&str> = chunk.iter().map(|k| k.1.as_str()).collect();
            for r in c
                .query(
                    "SELECT m.place, m.sha256 FROM anchor_members m
                     JOIN UNNEST($1::text[], $2::text[]) AS u(p, s)
                       ON m.place = u.p AND m.sha256 = u.s",
                    &[&places, &shas],
                )
                .await
                .map_err(db)?
            {
                found.insert((r.get(0), r.get(1)));
            }
        }
        Ok(found)
    }
}
