//! Reading the archive back, for auditors and the submitters: dossiers,
//! documents and their reports (every read audited; another portal's data
//! reads as absent), re-verification from the evidence kept at intake, the
//! audit log and its chain. Called by the JSON API (and the pages and CLI to
//! come); the handlers in [`super::routes`] only translate HTTP.

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;

use super::intake::load_decision;
use super::policy::{Applicant, Decision};
use super::{ApiError, AppState, Caller, privacy};
use crate::archive::{AuditEntry, ChainCheck, FileRecord, is_sha256_hex};
use crate::revocation::{RevSource, RevocationData};
use crate::validate::VerifyOptions;

/// Whether `who` may read the `kind` named `id`: auditors and admins read
/// everything; other roles what their own key submitted or was handed.
pub async fn may_read(
    state: &AppState,
    who: &Caller,
    kind: &str,
    id: &str,
) -> Result<bool, ApiError> {
    if privacy::privileged(&who.role) {
        return Ok(true);
    }
    Ok(state.archive.meta.owns(kind, id, &who.key_id).await?)
}

/// An archived document and its reports, if `who` may read it; the read is
/// audited either way (another's document reads as absent).
pub async fn readable_document(
    state: &AppState,
    who: &Caller,
    sha: &str,
    action: &str,
) -> Result<
    (
        crate::archive::DocumentRecord,
        Vec<crate::archive::ReportRecord>,
    ),
    ApiError,
> {
    let mut found = if is_sha256_hex(sha) {
        state.archive.meta.document(sha).await?
    } else {
        None
    };
    let mut outcome = if found.is_some() {
        "found"
    } else {
        "not found"
    };
    if found.is_some() && !may_read(state, who, "document", sha).await? {
        found = None;
        outcome = "not found (not the submitter)";
    }
    state.audit(who, action, sha, outcome).await?;
    found.ok_or_else(ApiError::not_found)
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    pub version: u32,
    pub created: String,
    pub accepted_in_lieu_of_originals: bool,
    submission_sha256: String,
    pub files: Vec<FileRecord>,
    pub decision: Decision,
}

#[derive(Serialize, ToSchema)]
pub struct DossierView {
    pub code: String,
    pub procedure: String,
    pub applicant: Applicant,
    /// Oldest first; the last is the current one.
    pub versions: Vec<VersionView>,
}

/// A dossier: every version with its decision and files.
pub async fn dossier(state: &AppState, who: &Caller, code: &str) -> Result<DossierView, ApiError> {
    let mut d = state.archive.meta.dossier(code).await?;
    let mut outcome = if d.is_some() { "found" } else { "not found" };
    // Another portal's dossier reads as absent (its existence is not told).
    if d.is_some() && !may_read(state, who, "dossier", code).await? {
        d = None;
        outcome = "not found (not the submitter)";
    }
    state.audit(who, "dossier.read", code, outcome).await?;
    let d = d.ok_or_else(ApiError::not_found)?;
    let mut versions = Vec::new();
    for v in d.versions {
        versions.push(VersionView {
            version: v.version,
            created: v.created,
            accepted_in_lieu_of_originals: v.accepted,
            submission_sha256: v.submission_sha256,
            decision: load_decision(state, &v.decision_sha256).await?,
            files: v.files,
        });
    }
    let view = DossierView {
        code: d.code,
        procedure: d.procedure,
        applicant: serde_json::from_str(&d.applicant).map_err(ApiError::internal)?,
        versions,
    };
    Ok(view)
}

/// The bytes of an archived document, with its record.
pub async fn document(
    state: &AppState,
    who: &Caller,
    sha: &str,
) -> Result<(crate::archive::DocumentRecord, Bytes), ApiError> {
    let (doc, _) = readable_document(state, who, sha, "document.read").await?;
    let bytes = state
        .archive
        .get_blob(sha)
        .await?
        .ok_or_else(|| ApiError::internal(format!("document blob {sha} missing")))?;
    Ok((doc, bytes))
}

#[derive(Serialize, ToSchema)]
pub struct ReportView {
    pub document: DocumentView,
    /// Every verification of this document, oldest first.
    pub verifications: Vec<VerificationView>,
}

#[derive(Serialize, ToSchema)]
pub struct DocumentView {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct VerificationView {
    pub verified_at: String,
    pub validation_time: String,
    pub indication: String,
    report_sha256: String,
    pub evidence: Vec<EvidenceView>,
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceView {
    pub kind: String,
    pub sha256: String,
}

/// The reports kept for an archived document, with the evidence each relied on.
pub async fn reports(state: &AppState, who: &Caller, sha: &str) -> Result<ReportView, ApiError> {
    let (doc, reports) = readable_document(state, who, sha, "report.read").await?;
    let mut verifications = Vec::new();
    for r in reports {
        let b = state
            .archive
            .get_blob(&r.report_sha256)
            .await?
            .ok_or_else(|| ApiError::internal("report blob missing"))?;
        verifications.push(VerificationView {
            verified_at: r.verified_at,
            validation_time: crate::pki::cert::fmt_unix(r.validation_time),
            indication: r.indication,
            report_sha256: r.report_sha256,
            evidence: r
                .evidence
                .into_iter()
                .map(|e| EvidenceView {
                    kind: e.kind,
                    sha256: e.sha256,
                })
                .collect(),
            report: serde_json::from_slice(&b).map_err(ApiError::internal)?,
        });
    }
    let view = ReportView {
        document: DocumentView {
            sha256: doc.sha256,
            size: doc.size,
            media_type: doc.media_type,
        },
        verifications,
    };
    Ok(view)
}

#[derive(Serialize, ToSchema)]
pub struct Difference {
    /// Signature index (as in the reports).
    pub signature: usize,
    pub at_original_time: String,
    pub now: String,
    /// The checks whose outcome changed, with the reason now.
    pub changed_checks: Vec<ChangedCheck>,
}

#[derive(Serialize, ToSchema)]
pub struct ChangedCheck {
    pub code: String,
    pub at_original_time: String,
    pub now: String,
    pub message_vi: String,
    pub message_en: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReverifyResponse {
    pub sha256: String,
    /// The validation time of the intake verification.
    pub original_time: String,
    pub now: String,
    /// Evidence items used (kept at intake); nothing was fetched.
    pub evidence_used: usize,
    /// The verdict at the original time equals the one recorded at intake.
    pub same_as_intake: bool,
    pub intake_indication: String,
    #[schema(value_type = Object)]
    pub at_original_time: serde_json::Value,
    #[schema(value_type = Object)]
    pub at_now: serde_json::Value,
    /// Per-signature differences between the two results, explained.
    pub differences: Vec<Difference>,
    pub explanation_vi: String,
    pub explanation_en: String,
}

fn outcome_name(o: crate::report::Outcome) -> String {
    serde_json::to_value(o)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn sig_text(s: &crate::report::SignatureReport) -> String {
    match s.sub_indication {
        Some(sub) => format!("{}/{}", s.indication.as_str(), sub.as_str()),
        None => s.indication.as_str().to_string(),
    }
}

/// An archived document with what its intake verification used — the
/// evidence kept (anchors, intermediates, CRLs, OCSP responses, detached
/// content) and the intake policy's settings — to verify it again offline.
pub struct Replay {
    pub intake: crate::archive::ReportRecord,
    data: Bytes,
    pub trust: crate::pki::TrustStore,
    intermediates: Vec<openssl::x509::X509>,
    revocation: RevocationData,
    detached: Option<Bytes>,
    policy: super::policy::Policy,
}

impl Replay {
    /// The document and its intake evidence; `None` when it is not archived.
    async fn load(state: &AppState, sha: &str) -> Result<Option<Replay>, ApiError> {
        Replay::load_from(&state.archive, &state.default_policy, sha)
            .await
            .map_err(ApiError::internal)
    }

    /// The document `sha` and its intake evidence from `archive`; `None`
    /// when it is not archived.
    pub async fn load_from(
        archive: &crate::archive::Archive,
        default_policy: &super::policy::Policy,
        sha: &str,
    ) -> Result<Option<Replay>, String> {
        match intake_parts(archive, sha, None).await? {
            None => Ok(None),
            Some((intake, data, items)) => {
                Replay::from_parts(intake, data, items, default_policy).map(Some)
            }
        }
    }

    /// Add revocation data known now (a CRL published later may show a
    /// revocation dated before the signing time).
    pub fn add_revocation(&mut self, extra: &RevocationData) {
        self.revocation.extend(extra);
    }

    /// A replay from the intake row, the document and its evidence items
    /// (kind, bytes) — read from the archive, or from a proof bundle.
    pub fn from_parts(
        intake: crate::archive::ReportRecord,
        data: Bytes,
        items: Vec<(String, Bytes)>,
        default_policy: &super::policy::Policy,
    ) -> Result<Replay, String> {
        Self::from_parts_sharing(intake, data, items, default_policy, None)
    }

    /// [`Replay::from_parts`] with the revocation items of earlier
    /// documents of a run kept in `shared`, by the SHA-256 the intake row
    /// names them with (`items` in the row's evidence order, as
    /// [`intake_parts`] gives them): a CRL that every document carries is
    /// then hashed for the per-thread tables once per run, not once per
    /// document (a CA's CRL can be megabytes).
    pub fn from_parts_sharing(
        intake: crate::archive::ReportRecord,
        data: Bytes,
        items: Vec<(String, Bytes)>,
        default_policy: &super::policy::Policy,
        mut shared: Option<&mut SharedItems>,
    ) -> Result<Replay, String> {
        let named: Vec<String> = if shared.is_some() && items.len() == intake.evidence.len() {
            intake.evidence.iter().map(|e| e.sha256.clone()).collect()
        } else {
            Vec::new()
        };
        let mut raw = |i: usize, b: Bytes| -> crate::revocation::Raw {
            match (shared.as_deref_mut(), named.get(i)) {
                (Some(s), Some(sha)) => s.raw(sha, b),
                _ => b.into(),
            }
        };
        let mut trust = crate::pki::TrustStore::new();
        let mut intermediates = Vec::new();
        let mut revocation = RevocationData::default();
        let mut detached = None;
        for (i, (kind, b)) in items.into_iter().enumerate() {
            match kind.as_str() {
                "TRUST_ANCHOR" | "INTERMEDIATE" => {
                    // Parsed once per thread (a re-verification of many
                    // documents meets the same anchors again and again).
                    let c = crate::memo::x509(&b)
                        .ok_or_else(|| format!("{kind}: not a certificate"))?;
                    if kind == "TRUST_ANCHOR" {
                        trust.add(c);
                    } else {
                        intermediates.push(c);
                    }
                }
                "CRL" => revocation.crls.push((RevSource::Caller, raw(i, b))),
                "OCSP" => revocation.ocsps.push((RevSource::Caller, raw(i, b))),
                "DETACHED_CONTENT" => detached = Some(b),
                _ => {}
            }
        }
        // The algorithm settings of the policy applied at intake.
        let policy: super::policy::Policy =
            serde_json::from_str(&intake.policy).unwrap_or_else(|_| default_policy.clone());
        Ok(Replay {
            intake,
            data,
            trust,
            intermediates,
            revocation,
            detached,
            policy,
        })
    }

    /// The options of a verification at `at` from the kept evidence only.
    fn options(&self, at: i64) -> VerifyOptions {
        let mut opts = VerifyOptions::new(self.trust.clone(), at);
        opts.intermediates = self.intermediates.clone();
        opts.revocation = self.revocation.clone();
        opts.require_revocation = self.intake.require_revocation;
        opts.algorithms = super::policy::algorithms(&self.policy);
        opts.allow_annotations = self.policy.allow_annotations;
        opts.xml_profile = super::policy::xml_profile(&self.policy);
        opts
    }

    /// Verify again at `at`, here and now (blocking).
    pub fn run_blocking(&self, at: i64, name: &str) -> crate::report::Report {
        let opts = self.options(at);
        crate::validate::verify_bytes(&self.data, self.detached.as_deref(), name, &opts).0
    }

    /// Verify again at `at`, on the blocking pool.
    async fn run(&self, at: i64, name: &str) -> Result<crate::report::Report, ApiError> {
        let opts = self.options(at);
        let data = self.data.clone();
        let det = self.detached.clone();
        let name = name.to_string();
        tokio::task::spawn_blocking(move || {
            crate::validate::verify_bytes(&data, det.as_deref(), &name, &opts).0
        })
        .await
        .map_err(ApiError::internal)
    }
}

/// Revocation items of the documents of one run (one thread), by the
/// SHA-256 the archive names them with, up to a bound.
#[derive(Default)]
pub struct SharedItems {
    items: std::collections::HashMap<String, crate::revocation::Raw>,
    bytes: usize,
}

impl SharedItems {
    /// The item named `sha`, or `b` kept under that name. The name comes
    /// from the intake row and the bytes from the blob store, which checks
    /// that they hash to it; the per-thread tables key on the bytes' own
    /// hash in any case, so a wrong name could never reach another item's
    /// parse.
    fn raw(&mut self, sha: &str, b: Bytes) -> crate::revocation::Raw {
        if let Some(r) = self.items.get(sha) {
            // The same blob read once (the same bytes), or equal bytes.
            if (r.as_ptr() == b.as_ptr() && r.len() == b.len()) || **r == *b {
                return r.clone();
            }
        }
        let r = crate::revocation::Raw::from(b);
        if self.bytes.saturating_add(r.len()) <= BLOBS_READ_ONCE_BYTES {
            self.bytes = self.bytes.saturating_add(r.len());
            self.items.insert(sha.to_string(), r.clone());
        }
        r
    }
}

/// Evidence blobs already read (the same anchors and CRLs recur across
/// documents), kept up to a bound: for a run over many documents.
#[derive(Default)]
pub struct BlobsReadOnce {
    blobs: std::sync::Mutex<(std::collections::HashMap<String, Bytes>, usize)>,
}

const BLOBS_READ_ONCE_BYTES: usize = 256 << 20;

impl BlobsReadOnce {
    async fn get(
        &self,
        archive: &crate::archive::Archive,
        sha: &str,
    ) -> Result<Option<Bytes>, String> {
        if let Some(b) = self.blobs.lock().ok().and_then(|m| m.0.get(sha).cloned()) {
            return Ok(Some(b));
        }
        let b = archive.get_blob(sha).await.map_err(|e| e.to_string())?;
        if let (Some(b), Ok(mut m)) = (&b, self.blobs.lock()) {
            if m.1.saturating_add(b.len()) <= BLOBS_READ_ONCE_BYTES {
                m.1 = m.1.saturating_add(b.len());
                m.0.insert(sha.to_string(), b.clone());
            }
        }
        Ok(b)
    }
}

/// The intake row of the document `sha`, its bytes and its evidence items
/// (kind, bytes), read from `archive` (evidence through `shared` when
/// given); `None` when it is not archived.
pub async fn intake_parts(
    archive: &crate::archive::Archive,
    sha: &str,
    shared: Option<&BlobsReadOnce>,
) -> Result<Option<(crate::archive::ReportRecord, Bytes, Vec<(String, Bytes)>)>, String> {
    let found = if is_sha256_hex(sha) {
        archive
            .meta
            .document(sha)
            .await
            .map_err(|e| e.to_string())?
    } else {
        None
    };
    let Some((_, reports)) = found else {
        return Ok(None);
    };
    let intake = reports
        .into_iter()
        .next()
        .ok_or("document without report")?;
    let data = archive
        .get_blob(sha)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("document blob missing")?;
    let mut items = Vec::new();
    for e in &intake.evidence {
        let b = match shared {
            Some(c) => c.get(archive, &e.sha256).await?,
            None => archive
                .get_blob(&e.sha256)
                .await
                .map_err(|e| e.to_string())?,
        }
        .ok_or_else(|| format!("evidence blob {} missing", e.sha256))?;
        items.push((e.kind.clone(), b));
    }
    Ok(Some((intake, data, items)))
}

/// The verification certificate (Phiếu kết quả) of an archived document:
/// its intake verdict, recomputed offline from the evidence kept at intake
/// at the original validation time, signed with the service's key. The
/// read is audited; another portal's document reads as absent; identity
/// numbers are masked unless the caller is privileged.
pub async fn certificate(
    state: &Arc<AppState>,
    who: &Caller,
    sha: &str,
) -> Result<Bytes, ApiError> {
    let (doc, reports) = readable_document(state, who, sha, "document.certificate").await?;
    let replay = Replay::load(state, sha)
        .await?
        .ok_or_else(ApiError::not_found)?;
    // The name the file came with, as its intake report says.
    let name = match reports.first() {
        Some(r) => state
            .archive
            .get_blob(&r.report_sha256)
            .await?
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["document"]["name"].as_str().map(str::to_string)),
        None => None,
    }
    .unwrap_or_else(|| sha.to_string());
    let report = replay.run(replay.intake.validation_time, &name).await?;
    // The dossiers it came in, those this caller may read.
    let mut dossiers = Vec::new();
    for code in state.archive.meta.dossiers_of(sha).await? {
        if may_read(state, who, "dossier", &code).await? {
            dossiers.push(code);
        }
    }
    let facts = super::signing::CertificateFacts {
        file_name: name,
        size: doc.size,
        sha256: sha.to_string(),
        policy:
            "chính sách áp dụng khi tiếp nhận / the intake policy (evidence kept in the archive)"
                .into(),
        anchors: crate::certificate::anchor_names(&replay.trust.anchors),
        dossier: (!dossiers.is_empty()).then(|| dossiers.join(", ")),
        mask_identities: !privacy::privileged(&who.role),
    };
    super::signing::certificate_pdf(state, facts, report).await
}

/// For auditors: validate an archived document again, offline, from the
/// evidence kept at intake (anchors, intermediates, CRLs, OCSP responses),
/// at the original validation time and at now; both results and every
/// difference explained.
pub async fn reverify(
    state: &Arc<AppState>,
    who: &Caller,
    sha: &str,
) -> Result<ReverifyResponse, ApiError> {
    let Some(replay) = Replay::load(state, sha).await? else {
        state
            .audit(who, "document.reverify", sha, "not found")
            .await?;
        return Err(ApiError::not_found());
    };
    let now = state.clock.now();
    let intake = replay.intake.clone();
    let orig = replay.run(intake.validation_time, sha).await?;
    let at_now = replay.run(now, sha).await?;
    let same = orig.summary.indication.as_str() == intake.indication;
    let mut differences = Vec::new();
    for (a, b) in orig.signatures.iter().zip(&at_now.signatures) {
        if sig_text(a) == sig_text(b) {
            continue;
        }
        let mut changed = Vec::new();
        for cb in &b.checks {
            let before = a.checks.iter().find(|c| c.code == cb.code);
            let differs = before.is_none_or(|ca| ca.outcome != cb.outcome);
            if differs {
                changed.push(ChangedCheck {
                    code: cb.code.to_string(),
                    at_original_time: before
                        .map(|c| outcome_name(c.outcome))
                        .unwrap_or_else(|| "-".into()),
                    now: outcome_name(cb.outcome),
                    message_vi: cb.message_vi.clone(),
                    message_en: cb.message_en.clone(),
                });
            }
        }
        differences.push(Difference {
            signature: a.index,
            at_original_time: sig_text(a),
            now: sig_text(b),
            changed_checks: changed,
        });
    }
    let (vi, en) = if differences.is_empty() {
        (
            "Kết quả tại thời điểm tiếp nhận và hiện tại giống nhau.".to_string(),
            "The result at the original time and now are the same.".to_string(),
        )
    } else {
        (
            format!(
                "{} chữ ký có kết quả khác nhau giữa thời điểm tiếp nhận và hiện tại; kết quả có giá trị pháp lý là kết quả tại thời điểm tiếp nhận, dựa trên bằng chứng đã lưu.",
                differences.len()
            ),
            format!(
                "{} signature(s) differ between the original time and now; the verdict that counts is the one at the original time, from the evidence kept.",
                differences.len()
            ),
        )
    };
    state
        .audit(
            who,
            "document.reverify",
            sha,
            &format!(
                "original {} now {}",
                orig.summary.indication.as_str(),
                at_now.summary.indication.as_str()
            ),
        )
        .await?;
    Ok(ReverifyResponse {
        sha256: sha.to_string(),
        original_time: crate::pki::cert::fmt_unix(intake.validation_time),
        now: crate::pki::cert::fmt_unix(now),
        evidence_used: intake.evidence.len(),
        same_as_intake: same,
        intake_indication: intake.indication,
        at_original_time: serde_json::to_value(&orig).map_err(ApiError::internal)?,
        at_now: serde_json::to_value(&at_now).map_err(ApiError::internal)?,
        differences,
        explanation_vi: vi,
        explanation_en: en,
    })
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// `from` for the next page, when there may be more.
    pub next: Option<i64>,
}

/// A page of the audit log, in order (from sequence `from`, default 1; at
/// most `limit` entries, default 100, at most 1000); the read is audited.
pub async fn log(
    state: &AppState,
    who: &Caller,
    from: Option<i64>,
    limit: Option<usize>,
) -> Result<AuditPage, ApiError> {
    let from = from.unwrap_or(1).max(1);
    let limit = limit.unwrap_or(100).clamp(1, 1000);
    let entries = state.archive.meta.audit_page(from, limit).await?;
    state
        .audit(
            who,
            "audit.read",
            &format!("from {from}"),
            &format!("{} entries", entries.len()),
        )
        .await?;
    let next = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.seq + 1))
        .flatten();
    Ok(AuditPage { entries, next })
}

/// The audit chain recomputed: every entry's hash and link; the check is audited.
pub async fn chain(state: &AppState, who: &Caller) -> Result<ChainCheck, ApiError> {
    let c = state.archive.verify_chain().await?;
    state
        .audit(
            who,
            "audit.verify",
            "audit chain",
            &format!("{} entries, intact={}", c.entries, c.intact),
        )
        .await?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_items_shared_across_documents() {
        let crl = Bytes::from(vec![0x30u8; 4096]);
        let mut s = SharedItems::default();
        let a = s.raw("n1", crl.clone());
        // The next document's copy of the same blob: the same item.
        let b = s.raw("n1", Bytes::from(crl.to_vec()));
        assert_eq!(a.as_ptr(), b.as_ptr());
        assert_eq!(a.key(), openssl::sha::sha256(&crl));
        // Other bytes under that name are never handed the kept item.
        let c = s.raw("n1", Bytes::from_static(b"other"));
        assert_eq!(&*c, b"other");
        assert_eq!(c.key(), openssl::sha::sha256(b"other"));
        // Nothing kept past the bound.
        s.bytes = BLOBS_READ_ONCE_BYTES;
        let d = s.raw("n2", crl.clone());
        assert!(!s.items.contains_key("n2"));
        assert_eq!(d.len(), 4096);
    }
}
