//! The archive: what kyso verified, with the evidence, kept so that an
//! auditor can later prove what was received.
//!
//! Two halves behind two traits: [`BlobStore`] keeps content-addressed bytes
//! (documents, reports, decisions, evidence; the name is the SHA-256), and
//! [`MetaStore`] keeps the rows that tie them together (dossiers, versions,
//! documents, reports, evidence, API keys) and the hash-chained audit log.
//! [`Archive`] is the one interface the service uses over a pair of them:
//! SQLite + files (embedded default) or PostgreSQL + S3 (scale-out).
//!
//! Write order makes every stored dossier all-or-nothing: blobs first (each
//! durable before `put` returns), then one metadata transaction (rows and
//! the audit entry together). A crash between the two leaves unreferenced
//! blobs, never a row pointing at nothing.

pub mod anchor;
pub mod blobs;
pub mod postgres;
pub mod proof;
pub mod sqlite;

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// Errors of the archive. Their text is for logs, never for clients.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("database: {0}")]
    Db(String),
    #[error("object store: {0}")]
    Object(String),
    #[error("integrity: {0}")]
    Integrity(String),
    #[error("conflict: {0}")]
    Conflict(String),
}

pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;

/// Lower-case hex SHA-256 (OpenSSL's, which uses the CPU's SHA extensions).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(openssl::sha::sha256(data))
}

/// True for a 64-character lower-case hex string (a blob name).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Content-addressed bytes. `put` is idempotent and durable when it returns.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, sha256: &str, data: Bytes) -> Result<()>;
    async fn get(&self, sha256: &str) -> Result<Option<Bytes>>;
    /// Every blob name held.
    async fn list(&self) -> Result<Vec<String>>;
    async fn ping(&self) -> Result<()>;
}

/// An API key as stored: only the SHA-256 of the secret is kept.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub role: String,
    pub key_sha256: String,
    pub created: String,
    /// Unix seconds from which the key no longer works (a rotated key's
    /// overlap ends); none: until revoked.
    #[serde(default)]
    pub expires: Option<i64>,
    /// When it was revoked (RFC 3339): it no longer works at all.
    #[serde(default)]
    pub revoked: Option<String>,
}

impl ApiKeyRecord {
    /// Whether the key lets its holder in at `now`.
    pub fn usable(&self, now: i64) -> bool {
        self.revoked.is_none() && self.expires.is_none_or(|e| now < e)
    }
}

/// A change to the stored API keys (each one an audit entry).
#[derive(Clone, Debug)]
pub enum KeyChange {
    Create(ApiKeyRecord),
    Revoke {
        id: String,
        at: String,
    },
    /// A new key of the same role; the old one works until `old_until`.
    Rotate {
        id: String,
        new: ApiKeyRecord,
        old_until: i64,
    },
}

/// What a key change writes: a key added; a key's new (expires, revoked).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct KeyWrites {
    pub insert: Option<ApiKeyRecord>,
    pub update: Option<(String, Option<i64>, Option<String>)>,
}

/// The rules of key changes, for every store: ids are unique; only a key
/// that works now may be rotated, a revoked key is not revoked again; a
/// rotation never lengthens the old key's life.
pub fn plan_key_change(
    keys: &[ApiKeyRecord],
    change: &KeyChange,
    now: i64,
) -> std::result::Result<KeyWrites, String> {
    let find = |id: &str| {
        keys.iter().find(|k| k.id == id).ok_or_else(|| {
            format!("no stored key {id} (keys in the configuration file are changed there)")
        })
    };
    let fresh = |new: &ApiKeyRecord| {
        if keys
            .iter()
            .any(|k| k.id == new.id || k.key_sha256 == new.key_sha256)
        {
            Err(format!("a key {} exists already", new.id))
        } else {
            Ok(Some(new.clone()))
        }
    };
    match change {
        KeyChange::Create(new) => Ok(KeyWrites {
            insert: fresh(new)?,
            update: None,
        }),
        KeyChange::Revoke { id, at } => {
            let k = find(id)?;
            if k.revoked.is_some() {
                return Err(format!("key {id} is revoked already"));
            }
            Ok(KeyWrites {
                insert: None,
                update: Some((id.clone(), k.expires, Some(at.clone()))),
            })
        }
        KeyChange::Rotate { id, new, old_until } => {
            let k = find(id)?;
            if !k.usable(now) {
                return Err(format!("key {id} no longer works; create a new one"));
            }
            if new.role != k.role {
                return Err(format!("a rotation keeps the role ({})", k.role));
            }
            let until = k.expires.map_or(*old_until, |e| e.min(*old_until));
            Ok(KeyWrites {
                insert: fresh(new)?,
                update: Some((id.clone(), Some(until), None)),
            })
        }
    }
}

/// A stored file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DocumentRecord {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
}

/// One item of evidence kept with a verification (a blob).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EvidenceRef {
    /// `TRUST_ANCHOR`, `INTERMEDIATE`, `CRL` or `OCSP`.
    pub kind: String,
    pub sha256: String,
}

/// One verification of a document, its report kept as a blob.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReportRecord {
    pub document_sha256: String,
    pub report_sha256: String,
    /// When kyso verified it (the clock of the service).
    pub verified_at: String,
    /// The validation time the report was computed at (Unix seconds).
    pub validation_time: i64,
    pub indication: String,
    /// Whether online revocation fetching was allowed at intake.
    pub online: bool,
    pub require_revocation: bool,
    pub evidence: Vec<EvidenceRef>,
    /// The acceptance policy applied (JSON), whose trust groups and algorithm
    /// settings a later re-verification uses again.
    pub policy: String,
}

/// What anchoring reads from report row `id`: the document's reference
/// (with `document_ref`: rounds after the first read documents only through
/// their reports), the report's, each evidence item's, and the row itself.
pub fn report_refs(out: &mut Vec<(String, String)>, id: i64, r: &ReportRecord, document_ref: bool) {
    let doc = &r.document_sha256;
    if document_ref {
        out.push((format!("document {doc}"), doc.clone()));
    }
    out.push((
        format!("report {id} of document {doc}"),
        r.report_sha256.clone(),
    ));
    for e in &r.evidence {
        out.push((
            format!("evidence ({}) of report {id}", e.kind),
            e.sha256.clone(),
        ));
    }
    out.push((intake_place(&r.report_sha256), intake_hash(r)));
}

/// The columns a [`ReportRecord`] is read from, in its fields' order.
pub const REPORT_COLUMNS: &str = "document_sha256, report_sha256, verified_at, validation_time, \
    indication, online, require_revocation, evidence, policy";

/// Each document with its first report's `verified_at`
/// ([`MetaStore::document_intakes`]), the same SQL on both stores.
pub const DOCUMENT_INTAKES: &str = "SELECT r.document_sha256, r.verified_at FROM reports r \
    JOIN (SELECT MIN(id) AS id FROM reports GROUP BY document_sha256) f ON f.id = r.id";

/// Where anchoring puts an intake row: the row itself (validation time,
/// policy, revocation setting, evidence list), named by its report.
pub fn intake_place(report_sha256: &str) -> String {
    format!("{INTAKE_PREFIX}{report_sha256}")
}

const INTAKE_PREFIX: &str = "intake of report ";

/// Whether an anchored place is an intake row (named by its own hash)
/// rather than a reference to a blob.
pub fn is_intake_place(place: &str) -> bool {
    place.starts_with(INTAKE_PREFIX)
}

/// The hash an intake row is anchored under: SHA-256 of its compact JSON
/// (fields in declaration order), what a proof bundle's `intake/*.json`
/// gives again once read and written back.
pub fn intake_hash(r: &ReportRecord) -> String {
    // Serialising plain strings, integers and booleans cannot fail.
    sha256_hex(&serde_json::to_vec(r).unwrap_or_default())
}

/// One file of a dossier version.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FileRecord {
    pub index: u32,
    pub role: String,
    pub name: String,
    pub document_sha256: String,
    pub report_sha256: String,
}

/// One submission of a dossier.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct VersionRecord {
    pub code: String,
    /// 1 for the first submission; filled in by the store.
    pub version: u32,
    pub procedure: String,
    /// The applicant as JSON (`{"kind":"CCCD","value":"..."}`).
    pub applicant: String,
    /// SHA-256 of the canonical submission (procedure, applicant, files):
    /// the same submission again is a replay, not a new version.
    pub submission_sha256: String,
    pub accepted: bool,
    /// The decision (JSON) kept as a blob.
    pub decision_sha256: String,
    pub created: String,
    pub files: Vec<FileRecord>,
}

/// A dossier and its versions, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DossierRecord {
    pub code: String,
    pub procedure: String,
    pub applicant: String,
    pub versions: Vec<VersionRecord>,
}

/// What storing a dossier version did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// A new version was stored.
    New(VersionRecord),
    /// The same submission was already the latest version: nothing stored.
    Replay(VersionRecord),
}

/// What a submission does to a dossier: the dossier rules, written once for
/// every store. Each adapter reads the stored head (procedure, applicant)
/// and versions inside its transaction, acts on the plan and stores; it
/// decides nothing itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmissionPlan {
    /// The code belongs to another procedure or applicant: nothing is
    /// stored but the audit entry (outcome `conflict`).
    Conflict { message: String, audit: AuditDraft },
    /// The same submission as an earlier version (a delayed retry): that
    /// version, never a new one reverting the dossier.
    Replay {
        version: VersionRecord,
        audit: AuditDraft,
    },
    /// A new version, numbered after the last; `create`: the dossier row
    /// does not exist yet.
    New {
        version: VersionRecord,
        create: bool,
        audit: AuditDraft,
    },
}

/// The plan for submission `v` given the stored `head` and `versions`
/// (in version order); `audit` is the entry to append, its outcome
/// completed here.
pub fn plan_submission(
    head: Option<(&str, &str)>,
    versions: &[VersionRecord],
    v: &VersionRecord,
    mut audit: AuditDraft,
) -> SubmissionPlan {
    if let Some((procedure, applicant)) = head {
        if procedure != v.procedure || applicant != v.applicant {
            audit.outcome = "conflict".into();
            return SubmissionPlan::Conflict {
                message: format!(
                    "dossier {} exists with another procedure or applicant",
                    v.code
                ),
                audit,
            };
        }
    }
    if let Some(same) = versions
        .iter()
        .rev()
        .find(|x| x.submission_sha256 == v.submission_sha256)
    {
        audit.outcome = format!("replay of version {}", same.version);
        return SubmissionPlan::Replay {
            version: same.clone(),
            audit,
        };
    }
    let mut version = v.clone();
    version.version = versions
        .last()
        .map(|l| l.version.saturating_add(1))
        .unwrap_or(1);
    audit.outcome = format!("{} version {}", audit.outcome, version.version);
    SubmissionPlan::New {
        version,
        create: head.is_none(),
        audit,
    }
}

/// An audit entry before it is chained.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditDraft {
    pub time: String,
    pub key_id: String,
    pub role: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
}

/// An audit entry as stored: `hash` = SHA-256 over the entry and `prev_hash`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub time: String,
    pub key_id: String,
    pub role: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The entry's own fields, as they were chained.
    pub fn draft(&self) -> AuditDraft {
        AuditDraft {
            time: self.time.clone(),
            key_id: self.key_id.clone(),
            role: self.role.clone(),
            action: self.action.clone(),
            object: self.object.clone(),
            outcome: self.outcome.clone(),
        }
    }
}

/// The hash of the entry before the first one.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain hash of an entry: SHA-256 of the JSON array of its fields
/// (sequence, time, key id, role, action, object, outcome, previous hash).
pub fn audit_hash(seq: i64, d: &AuditDraft, prev_hash: &str) -> String {
    sha256_hex(&audit_bytes(seq, d, prev_hash))
}

/// The bytes an entry's chain hash is taken over: what a hash-tree renewal
/// of an anchored audit head hashes again with its new algorithm.
pub fn audit_bytes(seq: i64, d: &AuditDraft, prev_hash: &str) -> Vec<u8> {
    let fields = (
        "kyso-audit-v1",
        seq,
        &d.time,
        &d.key_id,
        &d.role,
        &d.action,
        &d.object,
        &d.outcome,
        prev_hash,
    );
    // Serialising a tuple of strings and integers cannot fail.
    serde_json::to_vec(&fields).unwrap_or_default()
}

/// Chain a draft after the entry `(prev_seq, prev_hash)`.
pub fn chain(prev: Option<(i64, String)>, d: AuditDraft) -> AuditEntry {
    let (seq, prev_hash) = match prev {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS_HASH.to_string()),
    };
    let hash = audit_hash(seq, &d, &prev_hash);
    AuditEntry {
        seq,
        time: d.time,
        key_id: d.key_id,
        role: d.role,
        action: d.action,
        object: d.object,
        outcome: d.outcome,
        prev_hash,
        hash,
    }
}

/// An OCSP response or CRL fetched by one node, kept for every node until
/// it is no longer fresh (the shared revocation cache).
#[derive(Clone, Debug)]
pub struct CachedAnswer {
    /// What it answers (`fetch::CacheKey::id`).
    pub key: String,
    pub body: Vec<u8>,
    /// Unix seconds.
    pub fetched_at: i64,
    /// Unix seconds: its nextUpdate, bounded by the cache's maximum age.
    pub fresh_until: i64,
}

/// One anchoring round (RFC 4998 archive timestamp): a hash tree over
/// what was archived since the last round and the audit chain's head, its
/// root stamped by a TSA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoundRecord {
    /// Assigned by the store (1, 2, …).
    pub id: i64,
    pub created: String,
    /// Hash algorithm of the tree (`SHA-256`…).
    pub digest: String,
    /// The root (hex): the timestamp's imprint.
    pub root: String,
    /// The RFC 3161 TimeStampToken over the root (DER).
    #[serde(skip)]
    pub token: Vec<u8>,
    /// The audit entry whose hash the round anchors.
    pub audit_seq: i64,
    pub audit_head: String,
    pub members: u64,
    /// Where the round's read of the rows stopped; the next round reads on
    /// from there.
    pub marks: Marks,
    /// Timestamp renewals, oldest first: ArchiveTimeStamp DER each (the
    /// round's last timestamp stamped again).
    #[serde(skip)]
    pub renewals: Vec<Vec<u8>>,
    /// A hash-tree renewal (RFC 4998 §5.2) of earlier rounds rather than an
    /// anchoring round: its members are those rounds' members again, each
    /// leaf `H'(H'(data) ‖ H'(its record so far))`.
    pub hash_renewal: bool,
    /// The hash-tree renewal that took this round over (0: none). A round
    /// taken over is never renewed again: its members' records go on in
    /// the new round's chain.
    pub renewed_by: i64,
}

/// How far an anchoring round read the rows: the last report id and the
/// last dossier version (in store order) it saw. Every write takes the
/// audit lock before it is given an id, so ids become visible in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Marks {
    pub report: i64,
    pub version: i64,
}

/// One leaf of a round: a blob (`blob SHA`), a row's reference to a blob
/// (the place `blob_refs` names), or the audit head (`audit SEQ`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnchorMember {
    pub place: String,
    pub sha256: String,
    /// The leaf hash (hex).
    pub leaf: String,
    pub round: i64,
}

/// A deferred-signing session kept in the metadata store, so that
/// `complete` may reach any node: the laid-out document, where the
/// signature goes, and what is to be signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub key_id: String,
    pub profile: String,
    /// Unix seconds.
    pub expires: i64,
    pub doc: Vec<u8>,
    /// Where the signature value goes in `doc` (start, end).
    pub contents: (i64, i64),
    /// DER SET of the signed attributes.
    pub signed_attrs: Vec<u8>,
    /// `sha256`, `sha384` or `sha512`.
    pub digest: String,
}

/// Bounds on open sessions, checked when one is opened.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    pub per_key: usize,
    pub total: usize,
    pub bytes: usize,
}

/// Why a session was not opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionRefused {
    /// This key holds `per_key` sessions already.
    ForKey,
    /// All keys together hold `total` sessions or `bytes` of documents.
    Full,
}

/// What taking a session for `complete` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionTaken {
    Missing,
    /// It belongs to another key (left in place).
    Forbidden,
    /// It had expired (now removed).
    Expired,
    /// Another `complete` holds its lease until this time (Unix seconds).
    Busy(i64),
    /// Leased and handed over: it stays stored until
    /// [`MetaStore::finish_session`], and a node that dies with it leaves
    /// it to be taken again once the lease ends.
    Ready(SessionRecord),
}

/// Rows and the audit log.
#[async_trait::async_trait]
pub trait MetaStore: Send + Sync {
    async fn ping(&self) -> Result<()>;
    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>>;
    /// Insert the keys only when no key exists yet (first start); false if some did.
    async fn insert_keys_if_none(&self, keys: &[ApiKeyRecord]) -> Result<bool>;
    /// Store one verified document with its report, and the audit entry, in one transaction.
    async fn record_verification(
        &self,
        doc: &DocumentRecord,
        report: &ReportRecord,
        audit: AuditDraft,
    ) -> Result<AuditEntry>;
    /// Store a dossier version with its documents and reports, and the audit
    /// entry, in one transaction. The same submission as the latest version
    /// is a replay (nothing stored but the audit entry); a different procedure
    /// or applicant under an existing code is a conflict.
    async fn submit_version(
        &self,
        v: &VersionRecord,
        docs: &[DocumentRecord],
        reports: &[ReportRecord],
        audit: AuditDraft,
    ) -> Result<Submitted>;
    async fn dossier(&self, code: &str) -> Result<Option<DossierRecord>>;
    /// A document and its reports, oldest first.
    async fn document(&self, sha256: &str) -> Result<Option<(DocumentRecord, Vec<ReportRecord>)>>;
    async fn append_audit(&self, d: AuditDraft) -> Result<AuditEntry>;
    /// Entries with `seq >= from`, at most `limit`, in order.
    async fn audit_page(&self, from: i64, limit: usize) -> Result<Vec<AuditEntry>>;
    /// The codes of the dossiers a document was submitted in (at most 10).
    async fn dossiers_of(&self, sha256: &str) -> Result<Vec<String>>;
    /// Dossier submissions created in `[from, to)` (RFC 3339 strings, which
    /// order as times), oldest first, at most `limit`; without their files.
    async fn versions_between(
        &self,
        from: &str,
        to: &str,
        limit: usize,
    ) -> Result<Vec<VersionRecord>>;
    /// Every archived document's SHA-256 with its first report's
    /// `verified_at` (its intake), in no particular order.
    async fn document_intakes(&self) -> Result<Vec<(String, String)>>;
    /// Every blob a row points at: (where, sha256).
    async fn blob_refs(&self) -> Result<Vec<(String, String)>> {
        Ok(self.blob_refs_since(Marks::default()).await?.0)
    }
    /// The blobs rows written after `from` point at, each intake row's own
    /// hash ([`intake_place`], not a blob), and where this read stopped. A
    /// document's own reference (`document SHA`) comes with each report of
    /// it (a document is only ever stored with a report), so it may repeat
    /// what an earlier round anchored: see [`MetaStore::anchored_among`].
    async fn blob_refs_since(&self, from: Marks) -> Result<(Vec<(String, String)>, Marks)>;
    /// The furthest any round read the rows (zero before the first round).
    async fn round_marks(&self) -> Result<Marks>;
    /// The last report id and dossier version written (store order).
    async fn row_marks(&self) -> Result<Marks>;
    /// Which of these (place, sha256) are anchored already.
    async fn anchored_among(
        &self,
        keys: Vec<(String, String)>,
    ) -> Result<HashSet<(String, String)>>;
    /// Whether the API key `key_id` submitted (or was handed) the `kind`
    /// (`document` or `dossier`) named `id`: what a portal key may read.
    async fn owns(&self, kind: &str, id: &str, key_id: &str) -> Result<bool>;
    /// The shared revocation cache: the answer kept under `key`, if any.
    async fn cache_get(&self, key: &str) -> Result<Option<CachedAnswer>>;
    /// Keep an answer; an older one under the same key never replaces a newer one.
    async fn cache_put(&self, a: &CachedAnswer) -> Result<()>;
    /// The last audit entry: (sequence, hash).
    async fn audit_head(&self) -> Result<Option<(i64, String)>>;
    /// Every anchored leaf (place, blob, leaf, round).
    async fn anchored(&self) -> Result<Vec<AnchorMember>>;
    /// Store a round and its members in one transaction; its id, or `None`
    /// when another round ran meanwhile (another node holds the round lock,
    /// or anchored one of these members): nothing is stored then.
    async fn store_round(&self, r: &RoundRecord, members: &[AnchorMember]) -> Result<Option<i64>>;
    /// Store a hash-tree renewal round and its members, and mark the rounds
    /// it renews as taken over, in one transaction. `renewed` names each
    /// renewed round with the number of timestamp renewals its records were
    /// read with: when one of them was renewed or taken over meanwhile,
    /// nothing is stored (`None`).
    async fn store_hash_renewal(
        &self,
        r: &RoundRecord,
        renewed: &[(i64, usize)],
        members: &[AnchorMember],
    ) -> Result<Option<i64>>;
    /// Every round, oldest first, with its renewals.
    async fn rounds(&self) -> Result<Vec<RoundRecord>>;
    /// The members of a round (of a hash-tree renewal round: the renewed
    /// members with their new leaves).
    async fn round_members(&self, round: i64) -> Result<Vec<AnchorMember>>;
    /// The member anchoring `place` → `sha256`, if any.
    async fn anchor_of(&self, place: &str, sha256: &str) -> Result<Option<AnchorMember>>;
    /// Append a timestamp renewal (ArchiveTimeStamp DER) to a round; false
    /// (nothing written) when a hash-tree renewal has taken the round over.
    async fn add_renewal(&self, round: i64, stamp: &[u8]) -> Result<bool>;
    /// Apply a key change with its audit entry, in one transaction; a
    /// change [`plan_key_change`] refuses is `Conflict` (nothing written).
    async fn change_key(
        &self,
        change: KeyChange,
        now: i64,
        audit: AuditDraft,
    ) -> Result<AuditEntry>;
    /// Count one request of `subject` in `minute` across every node sharing
    /// this store; the count with it, or `None` when the store is not shared
    /// (each node then counts alone).
    async fn count_request(&self, _subject: &str, _minute: i64) -> Result<Option<u64>> {
        Ok(None)
    }
    /// Forget the request counts of minutes before `minute`.
    async fn sweep_request_counts(&self, _minute: i64) -> Result<()> {
        Ok(())
    }
    /// Open a deferred-signing session: expired sessions are swept, the
    /// limits checked and the session stored, in one transaction.
    async fn open_session(
        &self,
        s: &SessionRecord,
        now: i64,
        limits: SessionLimits,
    ) -> Result<std::result::Result<(), SessionRefused>>;
    /// Take the session `id` for `key_id` under a lease until `lease_until`
    /// (an expired one is removed): one `complete` at a time gets it.
    async fn take_session(
        &self,
        id: &str,
        key_id: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<SessionTaken>;
    /// End a taken session's lease (its signature value did not verify, or
    /// the signature could not be finished): it can be taken again.
    async fn release_session(&self, id: &str) -> Result<()>;
    /// Remove a session whose signed document was made.
    async fn finish_session(&self, id: &str) -> Result<()>;
    /// Remove expired sessions; how many.
    async fn sweep_sessions(&self, now: i64) -> Result<u64>;
}

/// The archive the service uses: a metadata store and a blob store.
#[derive(Clone)]
pub struct Archive {
    pub meta: Arc<dyn MetaStore>,
    pub blobs: Arc<dyn BlobStore>,
}

/// The result of walking the audit chain.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ChainCheck {
    pub intact: bool,
    pub entries: u64,
    /// Hash of the last entry (what an auditor writes down to detect truncation later).
    pub head: String,
    pub problems: Vec<String>,
}

/// The result of `kyso archive check`.
#[derive(Clone, Debug, Serialize)]
pub struct ArchiveCheck {
    pub blobs: u64,
    pub references: u64,
    /// Blobs no row points at (left by a crash between blob and row writes; harmless).
    pub unreferenced: u64,
    pub chain: ChainCheck,
    pub problems: Vec<String>,
    /// The blobs read and found to match their names, for
    /// [`Archive::check_anchoring_given`] not to read them again.
    #[serde(skip)]
    pub held: HashSet<String>,
}

impl ArchiveCheck {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.chain.intact
    }
}

impl Archive {
    /// Store bytes and return their SHA-256.
    pub async fn put_blob(&self, data: Bytes) -> Result<String> {
        let sha = sha256_hex(&data);
        self.blobs.put(&sha, data).await?;
        Ok(sha)
    }

    /// Read a blob and check it still has its name's hash.
    pub async fn get_blob(&self, sha256: &str) -> Result<Option<Bytes>> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        match self.blobs.get(sha256).await? {
            Some(b) if sha256_hex(&b) == sha256 => Ok(Some(b)),
            Some(_) => Err(ArchiveError::Integrity(format!(
                "blob {sha256} does not match its hash"
            ))),
            None => Ok(None),
        }
    }

    /// Walk the whole audit chain.
    pub async fn verify_chain(&self) -> Result<ChainCheck> {
        let mut prev_hash = GENESIS_HASH.to_string();
        let mut expect_seq = 1i64;
        let mut problems = Vec::new();
        let mut entries = 0u64;
        loop {
            let page = self.meta.audit_page(expect_seq, 1000).await?;
            if page.is_empty() {
                break;
            }
            for e in &page {
                entries += 1;
                if e.seq != expect_seq {
                    problems.push(format!(
                        "entry {}: expected sequence number {expect_seq} (an entry is missing)",
                        e.seq
                    ));
                }
                if e.prev_hash != prev_hash {
                    problems.push(format!(
                        "entry {}: previous hash does not match entry {}",
                        e.seq,
                        e.seq - 1
                    ));
                }
                if audit_hash(e.seq, &e.draft(), &e.prev_hash) != e.hash {
                    problems.push(format!("entry {}: content does not match its hash", e.seq));
                }
                prev_hash = e.hash.clone();
                expect_seq = e.seq + 1;
                if problems.len() > 1000 {
                    break;
                }
            }
            if problems.len() > 1000 {
                problems.push("more than 1000 problems; stopped".into());
                break;
            }
        }
        Ok(ChainCheck {
            intact: problems.is_empty(),
            entries,
            head: prev_hash,
            problems,
        })
    }

    /// Re-hash every blob, check every row's blob exists, verify the audit chain.
    pub async fn check(&self) -> Result<ArchiveCheck> {
        let mut problems = Vec::new();
        let names = self.blobs.list().await?;
        let mut held = HashSet::new();
        for name in &names {
            if !is_sha256_hex(name) {
                problems.push(format!("blob store: unexpected object {name}"));
                continue;
            }
            match self.blobs.get(name).await? {
                Some(b) if sha256_hex(&b) == *name => {
                    held.insert(name.clone());
                }
                Some(_) => problems.push(format!("blob {name}: content does not match its name")),
                None => problems.push(format!("blob {name}: listed but unreadable")),
            }
        }
        let mut refs = self.meta.blob_refs().await?;
        refs.retain(|(place, _)| !is_intake_place(place));
        let mut referenced = HashSet::new();
        for (place, sha) in &refs {
            referenced.insert(sha.clone());
            if !held.contains(sha) {
                problems.push(format!("{place}: blob {sha} is missing"));
            }
        }
        let unreferenced = held.iter().filter(|h| !referenced.contains(*h)).count() as u64;
        let chain = self.verify_chain().await?;
        Ok(ArchiveCheck {
            blobs: names.len() as u64,
            references: refs.len() as u64,
            unreferenced,
            chain,
            problems,
            held,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(code: &str, n: u32, submission: &str) -> VersionRecord {
        VersionRecord {
            code: code.into(),
            version: n,
            procedure: "1.004227".into(),
            applicant: r#"{"kind":"CCCD","value":"001203004567"}"#.into(),
            submission_sha256: submission.into(),
            accepted: true,
            decision_sha256: "d".into(),
            created: "2026-12-02T00:00:00Z".into(),
            files: Vec::new(),
        }
    }

    fn draft() -> AuditDraft {
        AuditDraft {
            time: "2026-12-02T00:00:00Z".into(),
            key_id: "portal".into(),
            role: "portal".into(),
            action: "dossier.submit".into(),
            object: "HS-1".into(),
            outcome: "accepted".into(),
        }
    }

    #[test]
    fn dossier_rules() {
        let new = version("HS-1", 0, "s1");
        // A new dossier: version 1, its row created.
        match plan_submission(None, &[], &new, draft()) {
            SubmissionPlan::New {
                version,
                create,
                audit,
            } => {
                assert_eq!((version.version, create), (1, true));
                assert_eq!(audit.outcome, "accepted version 1");
            }
            p => panic!("{p:?}"),
        }
        let stored = [version("HS-1", 1, "s1"), version("HS-1", 2, "s2")];
        let head = Some((stored[0].procedure.as_str(), stored[0].applicant.as_str()));
        // The first submission again (a delayed retry): a replay of version
        // 1, not a version 3 reverting the dossier.
        match plan_submission(head, &stored, &new, draft()) {
            SubmissionPlan::Replay { version, audit } => {
                assert_eq!(version.version, 1);
                assert_eq!(audit.outcome, "replay of version 1");
            }
            p => panic!("{p:?}"),
        }
        // Something new: numbered after the last.
        match plan_submission(head, &stored, &version("HS-1", 0, "s3"), draft()) {
            SubmissionPlan::New {
                version, create, ..
            } => assert_eq!((version.version, create), (3, false)),
            p => panic!("{p:?}"),
        }
        // The code of another applicant's dossier: a conflict, audited.
        let mut other = version("HS-1", 0, "s4");
        other.applicant = r#"{"kind":"CCCD","value":"079000000001"}"#.into();
        match plan_submission(head, &stored, &other, draft()) {
            SubmissionPlan::Conflict { message, audit } => {
                assert!(message.contains("another procedure or applicant"));
                assert_eq!(audit.outcome, "conflict");
            }
            p => panic!("{p:?}"),
        }
        let mut moved = version("HS-1", 0, "s1");
        moved.procedure = "2.001234".into();
        assert!(matches!(
            plan_submission(head, &stored, &moved, draft()),
            SubmissionPlan::Conflict { .. }
        ));
    }
}
