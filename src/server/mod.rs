//! `kyso serve`: the HTTP service the portal, officials and auditors call.
//!
//! Layers, outermost first: request id + log line + metrics, JSON errors for
//! every non-JSON error response, per-request deadline (408), concurrency
//! limit (503 + Retry-After), body limit (413), then per-route API-key
//! roles (401/403, audit-logged) in front of the handlers of [`routes`].

pub mod audit;
pub mod config;
pub mod conn;
pub mod intake;
pub mod keys;
pub mod metrics;
pub mod page;
pub mod policy;
pub mod privacy;
pub mod ratelimit;
pub mod revcache;
pub mod reverify;
pub mod routes;
pub mod signing;
pub mod staff;
pub mod stats;
pub mod verified;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use openssl::x509::X509;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::archive::{
    Archive, AuditDraft, EvidenceRef, blobs::FileBlobs, blobs::S3Blobs, postgres::PgMeta,
    sha256_hex, sqlite::SqliteMeta,
};
use crate::pki::TrustStore;
use crate::revocation::{RevSource, RevocationData};
use config::{Config, Storage};
use metrics::Metrics;
use policy::Policy;

/// The roles an API key can have.
pub const ROLES: [&str; 4] = ["portal", "official", "auditor", "admin"];

/// An error as clients see it: a stable code and messages in both languages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message_vi: String,
    pub message_en: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &str,
        vi: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code: code.into(),
                message_vi: vi.into(),
                message_en: en.into(),
            },
            retry_after: None,
        }
    }
    pub fn bad_request(code: &str, vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, vi, en)
    }
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Không tìm thấy.",
            "Not found.",
        )
    }
    /// An internal failure: logged in full, answered without detail.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!(error = %what, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Lỗi nội bộ; yêu cầu chưa được xử lý, xin thử lại.",
            "Internal error; the request was not carried out, please retry.",
        )
    }
    /// The same error, telling the client when to try again (seconds).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
    pub fn too_large(max: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BODY_TOO_LARGE",
            format!("Nội dung gửi lên vượt quá giới hạn {max} byte."),
            format!("The request body exceeds the limit of {max} bytes."),
        )
    }
}

impl From<crate::archive::ArchiveError> for ApiError {
    fn from(e: crate::archive::ArchiveError) -> Self {
        match e {
            crate::archive::ArchiveError::Conflict(_) => ApiError::new(
                StatusCode::CONFLICT,
                "DOSSIER_CONFLICT",
                "Mã hồ sơ đã được dùng cho thủ tục hoặc người nộp khác.",
                "The dossier code is already used for another procedure or applicant.",
            ),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body)).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

/// A named group of trust anchors with what is kept as evidence for it.
pub struct TrustSet {
    pub anchors: TrustStore,
    pub intermediates: Vec<X509>,
    /// (kind, DER) of every anchor and intermediate.
    pub evidence: Vec<(String, Bytes)>,
}

/// The clock of the service.
/// The service's clock: the system's, or a fixed time (demos, tests) that
/// can be moved.
pub struct Clock {
    fixed: Option<std::sync::atomic::AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Clock { fixed: None }
    }
    /// The configured clock: `fixed_time` when set, else the system's.
    pub fn of(cfg: &Config) -> anyhow::Result<Self> {
        Ok(match &cfg.fixed_time {
            Some(t) => Clock::fixed(
                crate::pki::cert::parse_rfc3339(t)
                    .ok_or_else(|| anyhow::anyhow!("fixed_time {t:?} is not RFC 3339"))?,
            ),
            None => Clock::system(),
        })
    }
    pub fn fixed(t: i64) -> Self {
        Clock {
            fixed: Some(std::sync::atomic::AtomicI64::new(t)),
        }
    }
    /// Move a fixed clock (no effect on the system clock).
    pub fn set(&self, t: i64) {
        if let Some(f) = &self.fixed {
            f.store(t, std::sync::atomic::Ordering::Relaxed);
        }
    }
    pub fn now(&self) -> i64 {
        match &self.fixed {
            Some(t) => t.load(std::sync::atomic::Ordering::Relaxed),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        }
    }
    pub fn now_rfc3339(&self) -> String {
        crate::pki::cert::fmt_unix(self.now())
    }
}

/// The address a request came from (set per connection by the accept loop).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Requests without a valid key, per client address and kind, in the current minute.
#[derive(Default)]
pub struct Denials {
    /// (address, kind) → (minute, counted but not written).
    map: std::sync::Mutex<HashMap<(std::net::IpAddr, &'static str), Unwritten>>,
}

/// The minute, and the requests of it counted but not written.
type Unwritten = (i64, u32);

/// Whether one more unauthenticated request is written to the audit log.
enum Denial {
    /// Write an audit row; `suppressed` requests since the last one were counted only.
    Audit { suppressed: u32 },
    /// Counted, not written.
    Quiet,
}

/// Most client addresses tracked at once (then the table starts again).
const MAX_TRACKED_CLIENTS: usize = 65_536;

impl Denials {
    fn note(&self, ip: std::net::IpAddr, kind: &'static str, now: i64) -> Denial {
        let minute = now.div_euclid(60);
        let Ok(mut m) = self.map.lock() else {
            return Denial::Quiet;
        };
        if m.len() >= MAX_TRACKED_CLIENTS && !m.contains_key(&(ip, kind)) {
            m.clear();
        }
        let e = m.entry((ip, kind)).or_insert((i64::MIN, 0));
        if e.0 != minute {
            let suppressed = e.1;
            *e = (minute, 0);
            return Denial::Audit { suppressed };
        }
        e.1 = e.1.saturating_add(1);
        Denial::Quiet
    }
}

/// Who is calling.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key_id: String,
    pub role: String,
}

pub struct AppState {
    pub cfg: Config,
    pub archive: Archive,
    pub trust: BTreeMap<String, TrustSet>,
    /// Revocation data the operator configured (files, and CRLs the service
    /// fetches and refreshes itself), with its evidence; swapped on refresh.
    pub revocation: RwLock<Arc<Configured>>,
    /// The configured files alone (the part that never changes).
    pub revocation_files: Arc<Configured>,
    /// OCSP responses and CRLs fetched, shared by requests and nodes.
    pub revcache: Arc<revcache::RevocationCache>,
    /// key SHA-256 → (id, role)
    /// SHA-256 of a secret → the key it opens.
    pub keys: RwLock<HashMap<String, KeyEntry>>,
    /// Requests per minute per subject, shared through the store when it can.
    pub rates: ratelimit::RateLimits,
    pub metrics: Metrics,
    pub limiter: Arc<Semaphore>,
    /// Verifications running at once: one per core (more only thrash the caches).
    pub verify_slots: Arc<Semaphore>,
    pub clock: Arc<Clock>,
    pub default_policy: Policy,
    /// Unauthenticated requests per client address (audit aggregation, limit).
    pub denials: Denials,
    /// Verification settings made once per policy (by policy name).
    pub prepared: HashMap<String, Arc<Prepared>>,
    /// Signing profiles and deferred-signing sessions.
    pub signing: signing::Signing,
    /// Signed-in staff browsers (the staff pages).
    pub staff: staff::Sessions,
}

/// What every verification under one policy starts from.
pub struct Prepared {
    /// Trust, intermediates, algorithms; `at` and the configured revocation
    /// data are set per call.
    pub opts: crate::validate::VerifyOptions,
    /// The evidence the trust settings rely on.
    pub evidence: Vec<EvidenceRef>,
}

/// The operator's revocation data at one moment.
#[derive(Clone, Default)]
pub struct Configured {
    pub data: RevocationData,
    /// Every item as evidence: its reference (digest computed once, when the
    /// snapshot is made — never per verification) and its bytes, stored as a blob.
    pub evidence: Vec<(EvidenceRef, Bytes)>,
}

impl Configured {
    /// The references of its evidence.
    pub fn refs(&self) -> impl Iterator<Item = EvidenceRef> + '_ {
        self.evidence.iter().map(|(r, _)| r.clone())
    }
}

/// A usable API key, as requests are checked against it.
#[derive(Clone, Debug)]
pub struct KeyEntry {
    pub id: String,
    pub role: String,
    /// When a rotated key's overlap ends (Unix seconds).
    pub expires: Option<i64>,
}

impl AppState {
    /// The operator's revocation data now.
    pub fn configured(&self) -> Arc<Configured> {
        self.revocation
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Who an API key is (stored hashed only); `None` for an unknown,
    /// empty or overlong key. Shared by the API's bearer tokens and the
    /// staff pages' sign-in.
    pub fn caller_for_key(&self, key: &str) -> Option<Caller> {
        if key.is_empty() || key.len() > 256 {
            return None;
        }
        let sha = sha256_hex(key.as_bytes());
        let k = self.keys.read().ok()?.get(&sha).cloned()?;
        // A rotated key's overlap ends at once on every node.
        if k.expires.is_some_and(|e| self.clock.now() >= e) {
            return None;
        }
        Some(Caller {
            key_id: k.id,
            role: k.role,
        })
    }

    pub fn policy_for(&self, procedure: &str) -> (String, &Policy) {
        match self.cfg.policy.procedures.get(procedure) {
            Some(p) => (format!("procedure:{procedure}"), p),
            None => ("default".into(), &self.default_policy),
        }
    }

    /// The prepared settings of a policy (made at start for every configured one).
    pub fn prepared(&self, policy_name: &str, policy: &Policy) -> Arc<Prepared> {
        match self.prepared.get(policy_name) {
            Some(p) => p.clone(),
            None => Arc::new(self.prepare_policy(policy)),
        }
    }

    fn prepare_policy(&self, policy: &Policy) -> Prepared {
        let mut trust = TrustStore::new();
        let mut intermediates = Vec::new();
        for g in &policy.trust {
            if let Some(t) = self.trust.get(g) {
                for a in &t.anchors.anchors {
                    trust.add(a.clone());
                }
                intermediates.extend(t.intermediates.iter().cloned());
            }
        }
        let mut opts = crate::validate::VerifyOptions::new(trust, 0);
        opts.intermediates = intermediates;
        opts.algorithms = policy::algorithms(policy);
        opts.allow_annotations = policy.allow_annotations;
        opts.xml_profile = policy::xml_profile(policy);
        opts.require_revocation = self.cfg.revocation.required;
        Prepared {
            opts,
            evidence: self.evidence_refs(&policy.trust),
        }
    }

    pub async fn audit(
        &self,
        caller: &Caller,
        action: &str,
        object: &str,
        outcome: &str,
    ) -> Result<(), ApiError> {
        self.archive
            .meta
            .append_audit(self.draft(caller, action, object, outcome))
            .await?;
        Ok(())
    }

    pub fn draft(&self, caller: &Caller, action: &str, object: &str, outcome: &str) -> AuditDraft {
        AuditDraft {
            time: self.clock.now_rfc3339(),
            key_id: caller.key_id.clone(),
            role: caller.role.clone(),
            action: action.into(),
            object: object.into(),
            outcome: outcome.into(),
        }
    }

    /// Store the configured evidence (anchors, intermediates, supplied CRL/OCSP)
    /// and return the references of what a verification with `groups` relied on.
    pub fn evidence_refs(&self, groups: &[String]) -> Vec<EvidenceRef> {
        let mut out: Vec<EvidenceRef> = Vec::new();
        let mut push = |kind: &str, data: &Bytes| {
            let sha = sha256_hex(data);
            if !out.iter().any(|e| e.sha256 == sha) {
                out.push(EvidenceRef {
                    kind: kind.into(),
                    sha256: sha,
                });
            }
        };
        for g in groups {
            if let Some(t) = self.trust.get(g) {
                for (k, d) in &t.evidence {
                    push(k, d);
                }
            }
        }
        out
    }
}

/// What starting the service produced.
pub struct Started {
    pub addr: SocketAddr,
    /// Keys created at this first start (role, secret), shown once.
    pub new_keys: Vec<(String, String)>,
    pub shutdown: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    pub state: Arc<AppState>,
}

fn der_of(c: &X509) -> Bytes {
    Bytes::from(c.to_der().unwrap_or_default())
}

fn load_trust(cfg: &Config) -> anyhow::Result<BTreeMap<String, TrustSet>> {
    let mut out = BTreeMap::new();
    for (name, prefix) in [("neac", "root-neac"), ("vgca", "root-vgca")] {
        let (anchors, intermediates) = crate::pki::path::load_bundled(&cfg.certs_dir, Some(prefix))
            .map_err(|e| {
                anyhow::anyhow!(
                    "loading the bundled roots under {}: {e}",
                    cfg.certs_dir.display()
                )
            })?;
        out.insert(name.to_string(), trust_set(anchors, intermediates));
    }
    for (name, g) in &cfg.trust {
        let mut anchors = TrustStore::new();
        for p in &g.anchors {
            anchors
                .load_path(p)
                .map_err(|e| anyhow::anyhow!("trust group {name}: {}: {e}", p.display()))?;
        }
        if !g.pins.is_empty() {
            anchors = anchors.pinned(&g.pins);
        }
        if anchors.anchors.is_empty() {
            anyhow::bail!("trust group {name} has no anchor");
        }
        let mut intermediates = Vec::new();
        for p in &g.intermediates {
            intermediates.extend(
                crate::pki::load_certificates(p)
                    .map_err(|e| anyhow::anyhow!("trust group {name}: {}: {e}", p.display()))?,
            );
        }
        out.insert(name.clone(), trust_set(anchors, intermediates));
    }
    Ok(out)
}

fn trust_set(anchors: TrustStore, intermediates: Vec<X509>) -> TrustSet {
    let mut evidence: Vec<(String, Bytes)> = anchors
        .anchors
        .iter()
        .map(|c| ("TRUST_ANCHOR".to_string(), der_of(c)))
        .collect();
    evidence.extend(
        intermediates
            .iter()
            .map(|c| ("INTERMEDIATE".to_string(), der_of(c))),
    );
    TrustSet {
        anchors,
        intermediates,
        evidence,
    }
}

pub fn load_revocation(cfg: &Config) -> anyhow::Result<(RevocationData, Vec<(String, Bytes)>)> {
    let mut data = RevocationData::default();
    let mut ev = Vec::new();
    for (paths, kind, max) in [
        (
            &cfg.revocation.crls,
            "CRL",
            crate::revocation::MAX_CRL_BYTES,
        ),
        (
            &cfg.revocation.ocsp,
            "OCSP",
            crate::revocation::MAX_OCSP_BYTES,
        ),
    ] {
        for p in paths {
            let len = std::fs::metadata(p)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
                .len();
            if len > max as u64 {
                anyhow::bail!(
                    "{}: larger than the {kind} limit of {max} bytes",
                    p.display()
                );
            }
            let bytes = std::fs::read(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            let der = if kind == "CRL" {
                crate::revocation::crl_der(bytes)
            } else {
                bytes
            };
            let raw: crate::revocation::Raw = der.clone().into();
            if let Some(why) = crate::revocation::unreadable(kind, &raw) {
                anyhow::bail!("{}: {why}", p.display());
            }
            ev.push((kind.to_string(), Bytes::from(der)));
            if kind == "CRL" {
                data.crls.push((RevSource::Caller, raw));
            } else {
                data.ocsps.push((RevSource::Caller, raw));
            }
        }
    }
    Ok((data, ev))
}

/// Open the storage the configuration names.
pub async fn open_archive(cfg: &Config) -> anyhow::Result<Archive> {
    Ok(match &cfg.storage {
        Storage::Embedded => {
            std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
                anyhow::anyhow!("creating data directory {}: {e}", cfg.data_dir.display())
            })?;
            let meta = SqliteMeta::open(&cfg.data_dir.join("kyso.sqlite3"))?;
            let blobs = FileBlobs::open(&cfg.data_dir)?;
            Archive {
                meta: Arc::new(meta),
                blobs: Arc::new(blobs),
            }
        }
        Storage::PostgresS3 { postgres, s3 } => Archive {
            meta: Arc::new(PgMeta::connect(postgres).await?),
            blobs: Arc::new(S3Blobs::new(s3)?),
        },
    })
}

/// A new random API key for `role`.
pub fn new_key(role: &str) -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    format!(
        "kyso_{role}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Build the state: storage, trust, keys (first start creates them).
pub async fn prepare(cfg: Config) -> anyhow::Result<(Arc<AppState>, Vec<(String, String)>)> {
    let archive = open_archive(&cfg).await?;
    let trust = load_trust(&cfg)?;
    let (files, files_evidence) = load_revocation(&cfg)?;
    let files = Configured {
        data: files,
        evidence: files_evidence
            .into_iter()
            .map(|(kind, d)| {
                let sha256 = sha256_hex(&d);
                (EvidenceRef { kind, sha256 }, d)
            })
            .collect(),
    };
    let groups: Vec<String> = trust.keys().cloned().collect();
    let default_policy = cfg.policy.default.clone().unwrap_or_default();
    default_policy
        .validate(&groups)
        .map_err(|e| anyhow::anyhow!("default policy: {e}"))?;
    for (code, p) in &cfg.policy.procedures {
        p.validate(&groups)
            .map_err(|e| anyhow::anyhow!("policy of procedure {code}: {e}"))?;
    }
    for k in &cfg.keys {
        if !ROLES.contains(&k.role.as_str()) {
            anyhow::bail!("key {}: role {:?} is not one of {ROLES:?}", k.id, k.role);
        }
        if !crate::archive::is_sha256_hex(&k.sha256) {
            anyhow::bail!("key {}: sha256 must be 64 lower-case hex digits", k.id);
        }
    }
    let clock = Arc::new(Clock::of(&cfg)?);
    for u in &cfg.revocation.crl_urls {
        if !u.starts_with("http://") {
            anyhow::bail!("revocation.crl_urls: {u:?} is not an http:// URL");
        }
    }
    let revcache = Arc::new(revcache::RevocationCache::new(
        archive.meta.clone(),
        clock.clone(),
        i64::try_from(cfg.revocation.cache_max_age_secs).unwrap_or(i64::MAX),
    ));
    // Evidence configured once is stored once.
    for t in trust.values() {
        for (_, d) in &t.evidence {
            archive.put_blob(d.clone()).await?;
        }
    }
    for (r, d) in &files.evidence {
        archive.blobs.put(&r.sha256, d.clone()).await?;
    }
    let mut new_keys = Vec::new();
    if cfg.keys.is_empty() && archive.meta.api_keys().await?.is_empty() {
        let created = clock.now_rfc3339();
        let mut records = Vec::new();
        for role in ROLES {
            let (rec, secret) = keys::new_record(role, &created);
            records.push(rec);
            new_keys.push((role.to_string(), secret));
        }
        if !archive.meta.insert_keys_if_none(&records).await? {
            // Another node created them first.
            new_keys.clear();
        }
    }
    let mut state = AppState {
        limiter: Arc::new(Semaphore::new(cfg.limits.max_concurrent.max(1))),
        verify_slots: Arc::new(Semaphore::new(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        )),
        cfg,
        archive,
        trust,
        revocation: RwLock::new(Arc::new(files.clone())),
        revocation_files: Arc::new(files),
        revcache,
        keys: RwLock::new(HashMap::new()),
        rates: Default::default(),
        metrics: Metrics::default(),
        clock,
        default_policy,
        denials: Denials::default(),
        prepared: HashMap::new(),
        signing: signing::Signing::default(),
        staff: staff::Sessions::default(),
    };
    state.signing = signing::load(&state.cfg.signing)?;
    if let Some(name) = &state.cfg.certificate.profile {
        match state.signing.profiles.get(name) {
            Some(p) if p.key.is_some() => {}
            Some(_) => anyhow::bail!(
                "[certificate] profile {name}: its key is remote; certificates need a local key"
            ),
            None => anyhow::bail!("[certificate] profile {name}: no such signing profile"),
        }
    }
    let mut prepared = HashMap::new();
    prepared.insert(
        "default".to_string(),
        Arc::new(state.prepare_policy(&state.default_policy)),
    );
    for (code, p) in &state.cfg.policy.procedures {
        prepared.insert(
            format!("procedure:{code}"),
            Arc::new(state.prepare_policy(p)),
        );
    }
    state.prepared = prepared;
    let state = Arc::new(state);
    reload_keys(&state).await?;
    // The CRLs the service fetches itself: now (a failure is logged, the
    // refresher tries again), then before each one's nextUpdate.
    refresh_configured(&state).await;
    Ok((state, new_keys))
}

/// Fetch the configured CRL URLs (and the CRLs recently used online) that
/// go stale within the refresh margin, and swap the configured revocation
/// data when one of them changed. Runs on a blocking thread.
pub async fn refresh_configured(state: &Arc<AppState>) {
    let st = state.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || refresh_blocking(&st)).await {
        tracing::warn!(error = %e, "revocation refresh");
    }
}

fn refresh_blocking(state: &AppState) {
    use crate::revocation::fetch::{self, CacheKey, Kind};
    let rc = &state.cfg.revocation;
    let margin = i64::try_from(rc.refresh_margin_secs).unwrap_or(i64::MAX);
    let timeout = Duration::from_millis(rc.fetch_timeout_ms.max(1));
    let crl_key = |url: &str| CacheKey {
        kind: Kind::Crl,
        url: url.to_string(),
        subject: None,
    };
    let mut changed = false;
    for url in &rc.crl_urls {
        let mut get = || fetch::http(url, None, timeout, crate::revocation::MAX_CRL_BYTES);
        match state
            .revcache
            .refresh_if_due(&crl_key(url), margin, &mut get)
        {
            Ok(Some(_)) => changed = true,
            Ok(None) => {}
            Err(e) => tracing::warn!(%url, error = %e, "configured CRL not refreshed"),
        }
    }
    for key in state.revcache.recent_crls() {
        if rc.crl_urls.contains(&key.url) {
            continue;
        }
        let mut get = || fetch::http(&key.url, None, timeout, crate::revocation::MAX_CRL_BYTES);
        if let Err(e) = state.revcache.refresh_if_due(&key, margin, &mut get) {
            tracing::warn!(url = %key.url, error = %e, "CRL not refreshed");
        }
    }
    let current = state.configured();
    let have_urls = current.evidence.len() > state.revocation_files.evidence.len();
    if !changed && (have_urls || rc.crl_urls.is_empty()) {
        return;
    }
    let mut next = Configured::clone(&state.revocation_files);
    let rt = tokio::runtime::Handle::current();
    for url in &rc.crl_urls {
        let Some(raw) = state.revcache.current(&crl_key(url)) else {
            continue;
        };
        if let Some(why) = crate::revocation::unreadable("CRL", &raw) {
            tracing::warn!(%url, %why, "configured CRL unusable");
            continue;
        }
        let bytes = Bytes::from(raw.to_vec());
        // The item's SHA-256 is known already (its memo key).
        let sha256 = hex::encode(raw.key());
        // Evidence is kept before it is relied on.
        if let Err(e) = rt.block_on(state.archive.blobs.put(&sha256, bytes.clone())) {
            tracing::warn!(error = %e, "storing a configured CRL");
            continue;
        }
        next.data.crls.push((RevSource::Caller, raw));
        let kind = "CRL".to_string();
        next.evidence.push((EvidenceRef { kind, sha256 }, bytes));
    }
    if let Ok(mut w) = state.revocation.write() {
        *w = Arc::new(next);
    }
}

/// Refresh the key table from the configuration and the store.
pub async fn reload_keys(state: &AppState) -> anyhow::Result<()> {
    let mut map = HashMap::new();
    let now = state.clock.now();
    for k in state.archive.meta.api_keys().await? {
        if k.usable(now) {
            let e = KeyEntry {
                id: k.id,
                role: k.role,
                expires: k.expires,
            };
            map.insert(k.key_sha256, e);
        }
    }
    for k in &state.cfg.keys {
        let e = KeyEntry {
            id: k.id.clone(),
            role: k.role.clone(),
            expires: None,
        };
        map.insert(k.sha256.clone(), e);
    }
    if let Ok(mut w) = state.keys.write() {
        *w = map;
    }
    Ok(())
}

/// What the archive's round timestamps are judged with: the configured TSA
/// trust anchors (`[anchoring] trust`, `intermediates`), at `at`,
/// revocation not required (a TSA's revocation is not kept with a round).
pub fn anchoring_options(cfg: &Config, at: i64) -> anyhow::Result<crate::VerifyOptions> {
    use anyhow::Context;
    let mut store = crate::pki::TrustStore::new();
    for t in &cfg.anchoring.trust {
        store
            .load_path(t)
            .with_context(|| format!("anchoring.trust {}", t.display()))?;
    }
    let mut opts = crate::VerifyOptions::new(store, at);
    opts.require_revocation = false;
    for p in &cfg.anchoring.intermediates {
        opts.intermediates.extend(
            crate::pki::load_certificates(p)
                .with_context(|| format!("anchoring.intermediates {}", p.display()))?,
        );
    }
    Ok(opts)
}

/// One scheduled anchoring step: a round over what is new, then (with
/// `renew`) a hash-tree renewal of the rounds on another algorithm than
/// `alg` (the configured one was replaced) and the timestamp renewal of
/// rounds whose TSA certificates expire within the margin. Failures are
/// logged and tried again at the next tick.
pub async fn anchoring_tick(
    st: &AppState,
    alg: crate::crypto::DigestAlg,
    stamper: crate::archive::anchor::SharedStamper,
    renew: bool,
) {
    match st
        .archive
        .anchor_round(alg, &st.clock.now_rfc3339(), stamper.clone())
        .await
    {
        Ok(o) => tracing::info!(outcome = ?o, "anchoring round"),
        Err(e) => tracing::warn!(error = %e, "anchoring round"),
    }
    if !renew {
        return;
    }
    match st
        .archive
        .renew_hash_trees(alg, &st.clock.now_rfc3339(), stamper.clone())
        .await
    {
        Ok(crate::archive::anchor::RoundOutcome::Nothing) => {}
        Ok(o) => tracing::info!(outcome = ?o, "hash-tree renewal"),
        Err(e) => tracing::warn!(error = %e, "hash-tree renewal"),
    }
    let margin = i64::try_from(st.cfg.anchoring.renew_margin_days)
        .unwrap_or(i64::MAX / 86_400)
        .saturating_mul(86_400);
    match st
        .archive
        .renew_rounds(st.clock.now().saturating_add(margin), stamper)
        .await
    {
        Ok(r) if !r.is_empty() => tracing::info!(rounds = ?r, "anchoring renewal"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "anchoring renewal"),
    }
}

/// Start serving on `cfg.listen` (port 0 picks one); returns at once.
pub async fn start(cfg: Config) -> anyhow::Result<Started> {
    let listen = cfg.listen.clone();
    let (state, new_keys) = prepare(cfg).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| anyhow::anyhow!("listening on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    // Background work (CRL refresh, anchoring, key reload, sweeps) ends
    // with the server: a stopped server embedded in a process that goes on
    // (tests, a restart in place) leaves nothing running on its store.
    let mut bg = tokio::task::JoinSet::new();
    // Configured and recently used CRLs, fetched again before their nextUpdate.
    if state.cfg.revocation.refresh_check_secs > 0 {
        let st = state.clone();
        let every = Duration::from_secs(state.cfg.revocation.refresh_check_secs);
        bg.spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                refresh_configured(&st).await;
            }
        });
    }
    // Anchoring rounds on schedule (every N minutes, or as soon as N rows
    // were written), and timestamp renewals when due (checked hourly).
    let a = &state.cfg.anchoring;
    if let (Some(stamper), true) = (a.stamper(), a.every_minutes > 0 || a.every_items > 0) {
        let alg = a.algorithm()?;
        let st = state.clone();
        let every =
            (a.every_minutes > 0).then(|| Duration::from_secs(a.every_minutes.saturating_mul(60)));
        let items = a.every_items;
        // The item trigger looks at two row counters every few seconds.
        let poll = match (every, items) {
            (Some(e), 0) => e,
            (Some(e), _) => e.min(Duration::from_secs(5)),
            (None, _) => Duration::from_secs(5),
        };
        bg.spawn(async move {
            let mut last_round = tokio::time::Instant::now();
            let mut last_renewal: Option<tokio::time::Instant> = None;
            loop {
                tokio::time::sleep(poll).await;
                let due_time = every.is_some_and(|e| last_round.elapsed() >= e);
                let due_items = items > 0
                    && st
                        .archive
                        .rows_since_round()
                        .await
                        .is_ok_and(|n| n >= i64::try_from(items).unwrap_or(i64::MAX));
                if !(due_time || due_items) {
                    continue;
                }
                let renew = last_renewal.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600));
                anchoring_tick(&st, alg, stamper.clone(), renew).await;
                last_round = tokio::time::Instant::now();
                if renew {
                    last_renewal = Some(last_round);
                }
            }
        });
    }
    // Keys created, rotated or revoked on other nodes (or by the CLI) take
    // effect here within 10 s.
    let st = state.clone();
    bg.spawn(async move {
        let mut ticks = 0u64;
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            ticks += 1;
            if let Err(e) = reload_keys(&st).await {
                tracing::warn!(error = %e, "reloading API keys");
            }
            if ticks % 6 != 0 {
                continue;
            }
            if let Err(e) = st
                .archive
                .meta
                .sweep_request_counts(st.clock.now().div_euclid(60) - 1)
                .await
            {
                tracing::warn!(error = %e, "sweeping request counts");
            }
            // Expired signing sessions (with their documents) swept.
            if let Err(e) = st.archive.meta.sweep_sessions(st.clock.now()).await {
                tracing::warn!(error = %e, "sweeping signing sessions");
            }
        }
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let limits = state.cfg.limits.clone();
    let task = tokio::spawn(async move {
        let served = serve_connections(listener, app, rx, limits).await;
        bg.abort_all();
        served
    });
    Ok(Started {
        addr,
        new_keys,
        shutdown: tx,
        task,
        state,
    })
}

/// Accept connections until `stop`, then drain those in flight (at most 60 s).
/// Request headers must arrive within the header timeout (slow-loris); a
/// connection idle for the idle timeout is closed (first byte, HTTP/2
/// preface, keep-alive); one address holds a bounded number of connections;
/// accept errors (out of descriptors) back off.
async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: Router,
    mut stop: tokio::sync::oneshot::Receiver<()>,
    limits: config::ServerLimits,
) -> std::io::Result<()> {
    let header_timeout = Duration::from_secs(limits.header_timeout_secs.max(1));
    let idle_timeout = Duration::from_secs(limits.idle_timeout_secs.max(1));
    let per_client = conn::PerClient::default();
    let mut backoff = Duration::from_millis(10);
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => {
                        backoff = Duration::from_millis(10);
                        a
                    }
                    Err(e) => {
                        // Out of descriptors and the like: wait longer each
                        // time (up to a second), do not spin.
                        tracing::warn!(error = %e, wait_ms = backoff.as_millis() as u64, "accept failed");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                };
                let Some(slot) = per_client.admit(peer.ip(), limits.max_connections_per_client.max(1)) else {
                    tracing::warn!(client = %peer.ip(), "too many connections from one address: closed");
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                // A second handle on the socket, for a lingering close.
                let linger = socket2::SockRef::from(&stream).try_clone().ok();
                let ip = ClientAddr(peer.ip());
                let activity = conn::Activity::new();
                let (a_in, a_out) = (activity.clone(), activity.clone());
                let svc = tower::ServiceExt::map_request(
                    app.clone(),
                    move |mut r: Request<hyper::body::Incoming>| {
                        a_in.in_flight.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        r.extensions_mut().insert(ip);
                        r
                    },
                );
                let svc = TowerToHyperService::new(tower::ServiceExt::map_response(
                    svc,
                    move |r: Response| {
                        a_out.in_flight.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                        r
                    },
                ));
                let io = conn::IdleIo { inner: stream, activity: activity.clone() };
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), svc);
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    tokio::select! {
                        _ = conn => {}
                        _ = activity.idle(idle_timeout) => {
                            tracing::debug!(client = %peer.ip(), "idle connection closed");
                        }
                    }
                    drop(slot);
                    if let Some(sock) = linger {
                        linger_close(sock).await;
                    }
                });
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(60), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 60 s; closing");
    }
    Ok(())
}

/// Most bytes read and thrown away after a connection's last answer.
const LINGER_MAX_BYTES: usize = 8 << 20;
/// Longest wait for the client to stop sending after the last answer.
const LINGER_TIME: Duration = Duration::from_secs(2);

/// Lingering close (as Apache and nginx do): after the last answer, stop
/// writing and read what the client is still sending, within a time and a
/// byte limit, before the socket is closed. Closing a socket with unread
/// data sends a reset, which makes the client lose the answer already sent:
/// a portal uploading a body over the limit would see "broken pipe"
/// instead of the 413 that says why.
async fn linger_close(sock: socket2::Socket) {
    use tokio::io::AsyncReadExt;
    let _ = sock.shutdown(std::net::Shutdown::Write);
    if sock.set_nonblocking(true).is_err() {
        return;
    }
    let Ok(mut s) = tokio::net::TcpStream::from_std(std::net::TcpStream::from(sock)) else {
        return;
    };
    let _ = tokio::time::timeout(LINGER_TIME, async {
        let mut buf = vec![0u8; 16 << 10];
        let mut total = 0usize;
        while total < LINGER_MAX_BYTES {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total = total.saturating_add(n),
            }
        }
    })
    .await;
}

/// The whole application.
pub fn router(state: Arc<AppState>) -> Router {
    let (api, _spec) = routes::api(state.clone());
    let max_body = state.cfg.limits.max_body_bytes;
    api.layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit_concurrency,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            deadline,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn_with_state(state, observe))
}

/// A handler that panicked (a bug: untrusted input must never panic) still
/// answers: a JSON 500, the panic logged, the connection kept usable.
fn panicked(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    ApiError::internal(format_args!("handler panicked: {what}")).into_response()
}

/// Request id, one log line per request, metrics.
async fn observe(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
    // Logged and counted from fixed sets: a client picks the method string.
    let method = metrics::method_label(req.method().as_str());
    let is_v1 = req.uri().path().starts_with("/v1/");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert("x-request-id", v);
    }
    let span = tracing::info_span!("request", request_id = %id, %method, %route);
    let mut resp = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    let status = resp.status().as_u16();
    let took = started.elapsed();
    state.metrics.request(method, &route, status, took);
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = took.as_secs_f64() * 1e3,
            "request done"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Anything under /v1 may carry personal data (names, CCCD, documents):
    // never kept by a browser or a proxy.
    if is_v1 {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Every error response is JSON `{code, message_vi, message_en}`: framework
/// rejections (bad multipart, unknown route, wrong method, 413) are rewritten.
async fn json_errors(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        resp = close_after(resp);
    }
    // JSON errors of the API and the pages' own HTML answers pass as they are.
    let written = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if written {
        return resp;
    }
    let retry = resp.headers().get(header::RETRY_AFTER).cloned();
    let (code, vi, en) = match status {
        StatusCode::NOT_FOUND => ("NOT_FOUND", "Không tìm thấy.", "Not found."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "METHOD_NOT_ALLOWED",
            "Phương thức không được hỗ trợ cho địa chỉ này.",
            "Method not allowed for this path.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "BODY_TOO_LARGE",
            "Nội dung gửi lên vượt quá giới hạn.",
            "The request body exceeds the limit.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "UNSUPPORTED_MEDIA_TYPE",
            "Kiểu nội dung không được hỗ trợ.",
            "Unsupported content type.",
        ),
        s if s.is_server_error() => (
            "INTERNAL",
            "Lỗi nội bộ; yêu cầu chưa được xử lý, xin thử lại.",
            "Internal error; the request was not carried out, please retry.",
        ),
        _ => (
            "BAD_REQUEST",
            "Yêu cầu không hợp lệ.",
            "The request is malformed.",
        ),
    };
    let mut r = ApiError::new(status, code, vi, en).into_response();
    if let Some(v) = retry {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        r = close_after(r);
    }
    r
}

/// The body was not read to its end: the connection cannot carry another request.
fn close_after(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// The whole request, body included, within the deadline; else 408.
async fn deadline(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let limit = Duration::from_secs(state.cfg.limits.request_timeout_secs.max(1));
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => close_after(
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                "Yêu cầu không hoàn tất trong thời hạn cho phép.",
                "The request did not complete within the time allowed.",
            )
            .into_response(),
        ),
    }
}

/// At most `max_concurrent` requests at once under /v1; the rest get 503.
async fn limit_concurrency(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    // The API, and the pages' forms (a verification, a signature): what
    // does work counts; health, metrics and the pages' static files do not.
    let counted = req.uri().path().starts_with("/v1/") || req.method() == axum::http::Method::POST;
    if !counted {
        return next.run(req).await;
    }
    // A body announced above the limit is refused before it is read.
    let max = state.cfg.limits.max_body_bytes;
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > max as u64) {
        return close_after(ApiError::too_large(max).into_response());
    }
    let Ok(permit) = state.limiter.clone().try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "OVERLOADED",
            "Máy chủ đang bận; xin thử lại sau.",
            "The server is busy; please retry later.",
        )
        .retry_after(1)
        .into_response();
    };
    let r = next.run(req).await;
    drop(permit);
    r
}

/// Which roles may call a route (none: not an endpoint).
pub fn allowed_roles(method: &str, route: &str) -> &'static [&'static str] {
    match (method, route) {
        ("POST", "/v1/verify") => &["portal", "official", "admin"],
        ("POST", "/v1/certificates/verify") => &["portal", "official", "auditor", "admin"],
        ("POST", "/v1/dossiers") => &["portal", "admin"],
        ("GET", "/v1/dossiers/{code}") => &["portal", "auditor", "admin"],
        ("GET", "/v1/documents/{sha256}")
        | ("GET", "/v1/documents/{sha256}/report")
        | ("GET", "/v1/documents/{sha256}/certificate") => &["portal", "auditor", "admin"],
        ("POST", "/v1/documents/{sha256}/reverify") | ("GET", "/v1/documents/{sha256}/proof") => {
            &["auditor", "admin"]
        }
        ("GET", "/v1/audit") | ("GET", "/v1/audit/verify") | ("GET", "/v1/stats") => {
            &["auditor", "admin"]
        }
        ("POST", "/v1/sign")
        | ("POST", "/v1/sign/prepare")
        | ("POST", "/v1/sign/{id}/complete") => &["official", "admin"],
        ("GET", "/v1/keys")
        | ("POST", "/v1/keys")
        | ("POST", "/v1/keys/{id}/revoke")
        | ("POST", "/v1/keys/{id}/rotate") => &["admin"],
        // Not in this table: nobody (default deny).
        _ => &[],
    }
}

/// The API key of the request, its role checked against the route's.
pub async fn authorize(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let method = req.method().to_string();
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .map(str::to_string);
    let allowed = allowed_roles(&method, &route);
    // What the audit log keeps of a refused request: bounded facts — the
    // route template, a digest of the path, the client address — never the
    // path itself (an anonymous client chooses it, up to 64 KB).
    let client = req.extensions().get::<ClientAddr>().map(|c| c.0);
    let path_hash = sha256_hex(req.uri().path().as_bytes());
    let object = format!(
        "{} {route} path-sha256:{} client {}",
        metrics::method_label(&method),
        path_hash.get(..16).unwrap_or(""),
        client.map_or_else(|| "-".to_string(), |c| c.to_string())
    );
    let route_listed = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        .iter()
        .any(|m| !allowed_roles(m, &route).is_empty());
    if allowed.is_empty() && route_listed {
        // Another method of a listed route: the router answers 405.
        return next.run(req).await;
    }
    if allowed.is_empty() {
        // A route under /v1 that the role table does not name: refused, so
        // that a new endpoint is closed until someone decides who may call it.
        tracing::error!(%method, %route, "route without a role set: refused");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "ROUTE_NOT_AUTHORIZED",
            "Địa chỉ này chưa được cấp quyền cho vai trò nào.",
            "No role may call this route.",
        )
        .into_response();
    }
    let Some(key) = presented.filter(|k| !k.is_empty() && k.len() <= 256) else {
        let anon = Caller {
            key_id: "-".into(),
            role: "-".into(),
        };
        if let Some(r) = denied(&state, &anon, client, "401 no key", &object).await {
            return r;
        }
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Thiếu khóa API (Authorization: Bearer ...).",
            "An API key is required (Authorization: Bearer ...).",
        )
        .into_response();
    };
    let Some(caller) = state.caller_for_key(&key) else {
        let sha = sha256_hex(key.as_bytes());
        let unknown = Caller {
            key_id: format!("unknown:{}", &sha[..12]),
            role: "-".into(),
        };
        if let Some(r) = denied(&state, &unknown, client, "401 unknown key", &object).await {
            return r;
        }
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Khóa API không hợp lệ.",
            "The API key is not valid.",
        )
        .into_response();
    };
    if !allowed.contains(&caller.role.as_str()) {
        let _ = state
            .audit(&caller, "auth.forbidden", &object, "403 role not allowed")
            .await;
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            format!(
                "Vai trò '{}' không được phép gọi chức năng này.",
                caller.role
            ),
            format!("Role '{}' may not call this endpoint.", caller.role),
        )
        .into_response();
    }
    let per_key = state.cfg.limits.per_key_per_minute;
    let now = state.clock.now();
    if per_key > 0
        && state
            .rates
            .over(
                &*state.archive.meta,
                &format!("key {}", caller.key_id),
                now,
                per_key,
            )
            .await
    {
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "Khóa API này đã gửi quá nhiều yêu cầu trong một phút; xin thử lại sau.",
            "This API key made too many requests in one minute; retry later.",
        )
        .retry_after(ratelimit::retry_after(now))
        .into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// The token of `Authorization: Bearer TOKEN` (RFC 6750 §2.1): the scheme
/// (any case), one space, a b64token — nothing else is a key.
fn bearer_token(v: &str) -> Option<&str> {
    let (scheme, token) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 256 {
        return None;
    }
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    ok.then_some(token)
}

/// An unauthenticated request: an audit row for the first of a minute from
/// its address (with how many the previous row stood for), the others only
/// counted; over the per-address limit a 429 (returned).
async fn denied(
    state: &AppState,
    who: &Caller,
    client: Option<std::net::IpAddr>,
    kind: &'static str,
    object: &str,
) -> Option<Response> {
    let ip = client.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let limit = state.cfg.limits.max_unauthenticated_per_minute.max(1);
    let now = state.clock.now();
    // Which requests become audit rows is this node's (`denials`, every
    // request counted); the limit is every node's (`rates`).
    let written = state.denials.note(ip, kind, now);
    if state
        .rates
        .over(
            &*state.archive.meta,
            &format!("anon {ip} {kind}"),
            now,
            limit,
        )
        .await
    {
        return Some(
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_UNAUTHENTICATED",
                "Quá nhiều yêu cầu không có khóa hợp lệ từ địa chỉ này; xin thử lại sau.",
                "Too many requests without a valid key from this address; retry later.",
            )
            .retry_after(ratelimit::retry_after(now))
            .into_response(),
        );
    }
    match written {
        Denial::Audit { suppressed } => {
            let outcome = if suppressed > 0 {
                format!("{kind}; {suppressed} more of these from this address before, counted only")
            } else {
                kind.to_string()
            };
            let _ = state.audit(who, "auth.denied", object, &outcome).await;
            None
        }
        Denial::Quiet => None,
    }
}

/// Logging for `kyso serve`.
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KYSO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::string_slice
)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// A panic inside a handler is answered as JSON 500 by the same layers
    /// `router` puts around every route, never a dropped connection.
    #[tokio::test]
    async fn a_panicking_handler_answers_json_500() {
        let app = Router::new()
            .route(
                "/boom",
                axum::routing::post(|| async {
                    let v: Vec<u8> = Vec::new();
                    // An out-of-bounds index, as a parser bug would do.
                    #[allow(clippy::indexing_slicing)]
                    let b = v[usize::from(v.is_empty())];
                    b.to_string()
                }),
            )
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
            .layer(axum::middleware::from_fn(json_errors));
        let resp = app
            .oneshot(
                Request::builder()
                    .method("POST")
                    .uri("/boom")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], "INTERNAL");
    }

    /// Regression: a /v1 route missing from the role table was let through
    /// unauthenticated. Now it is refused, even to an admin.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_route_missing_from_the_role_table_is_refused() {
        let dir = std::env::temp_dir().join(format!("kyso-deny-{}", rand::random::<u64>()));
        let secret = "test-key-admin";
        let cfg = Config {
            data_dir: dir.clone(),
            certs_dir: std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs"),
            keys: vec![config::KeyConfig {
                id: "admin-1".into(),
                role: "admin".into(),
                sha256: sha256_hex(secret.as_bytes()),
            }],
            ..Config::default()
        };
        let (state, _) = prepare(cfg).await.unwrap();
        let app = Router::new()
            .route("/v1/new-endpoint", axum::routing::get(|| async { "open" }))
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                authorize,
            ))
            .with_state(state);
        for key in [None, Some(secret)] {
            let mut req = Request::builder().uri("/v1/new-endpoint");
            if let Some(k) = key {
                req = req.header("authorization", format!("Bearer {k}"));
            }
            let resp = app
                .clone()
                .oneshot(req.body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{key:?}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
