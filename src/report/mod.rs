//! Report types (stable JSON, see docs/report.md) and text rendering.

pub mod plain;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::pki::cert::CertSummary;

pub const REPORT_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Indication {
    TotalPassed,
    Indeterminate,
    TotalFailed,
}

impl Indication {
    pub fn as_str(self) -> &'static str {
        match self {
            Indication::TotalPassed => "TOTAL_PASSED",
            Indication::Indeterminate => "INDETERMINATE",
            Indication::TotalFailed => "TOTAL_FAILED",
        }
    }
}

/// ETSI EN 319 102-1 sub-indications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubIndication {
    FormatFailure,
    HashFailure,
    SigCryptoFailure,
    Revoked,
    Expired,
    NotYetValid,
    SigConstraintsFailure,
    ChainConstraintsFailure,
    CertificateChainGeneralFailure,
    CryptoConstraintsFailure,
    NoSigningCertificateFound,
    NoCertificateChainFound,
    RevokedNoPoe,
    RevokedCaNoPoe,
    OutOfBoundsNoPoe,
    OutOfBoundsNotRevoked,
    TryLater,
    SignedDataNotFound,
    NoPoe,
    TimestampOrderFailure,
}

impl SubIndication {
    pub fn as_str(self) -> &'static str {
        match self {
            SubIndication::FormatFailure => "FORMAT_FAILURE",
            SubIndication::HashFailure => "HASH_FAILURE",
            SubIndication::SigCryptoFailure => "SIG_CRYPTO_FAILURE",
            SubIndication::Revoked => "REVOKED",
            SubIndication::Expired => "EXPIRED",
            SubIndication::NotYetValid => "NOT_YET_VALID",
            SubIndication::SigConstraintsFailure => "SIG_CONSTRAINTS_FAILURE",
            SubIndication::ChainConstraintsFailure => "CHAIN_CONSTRAINTS_FAILURE",
            SubIndication::CertificateChainGeneralFailure => "CERTIFICATE_CHAIN_GENERAL_FAILURE",
            SubIndication::CryptoConstraintsFailure => "CRYPTO_CONSTRAINTS_FAILURE",
            SubIndication::NoSigningCertificateFound => "NO_SIGNING_CERTIFICATE_FOUND",
            SubIndication::NoCertificateChainFound => "NO_CERTIFICATE_CHAIN_FOUND",
            SubIndication::RevokedNoPoe => "REVOKED_NO_POE",
            SubIndication::RevokedCaNoPoe => "REVOKED_CA_NO_POE",
            SubIndication::OutOfBoundsNoPoe => "OUT_OF_BOUNDS_NO_POE",
            SubIndication::OutOfBoundsNotRevoked => "OUT_OF_BOUNDS_NOT_REVOKED",
            SubIndication::TryLater => "TRY_LATER",
            SubIndication::SignedDataNotFound => "SIGNED_DATA_NOT_FOUND",
            SubIndication::NoPoe => "NO_POE",
            SubIndication::TimestampOrderFailure => "TIMESTAMP_ORDER_FAILURE",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Passed,
    Failed,
    Warning,
    Info,
    Skipped,
}

/// One check with a stable code, its outcome, messages and evidence.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub code: &'static str,
    pub outcome: Outcome,
    pub message_vi: String,
    pub message_en: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<&'static str, Value>,
}

impl Check {
    pub fn new(
        code: &'static str,
        outcome: Outcome,
        vi: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Check {
            code,
            outcome,
            message_vi: vi.into(),
            message_en: en.into(),
            evidence: BTreeMap::new(),
        }
    }
    pub fn with(mut self, key: &'static str, v: impl Into<Value>) -> Self {
        self.evidence.insert(key, v.into());
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignatureKind {
    /// A signature in a PDF (PAdES / PKCS#7 detached).
    PdfSignature,
    /// A PDF document timestamp (ETSI.RFC3161).
    PdfDocumentTimestamp,
    /// A SignerInfo of a CMS file (.p7s / .p7m).
    Cms,
    /// An RFC 3161 timestamp over a signature value (CMS unsigned attribute).
    SignatureTimestamp,
    /// A standalone RFC 3161 timestamp token or response.
    Timestamp,
    /// An XMLDSig `Signature` in an XML document (e-form, e-invoice).
    XmlSignature,
    /// A XAdES `ArchiveTimeStamp` (B-LTA): an RFC 3161 timestamp over a
    /// signature, its timestamps and validation data.
    ArchiveTimestamp,
    /// A signature of an OOXML (.docx/.xlsx/.pptx) or ODF (.odt/.ods)
    /// package: an XMLDSig/XAdES signature over the package's parts, with
    /// the coverage of the package.
    PackageSignature,
    /// A certificate checked on its own (no document): path, validity,
    /// revocation and key usage of a document signer's certificate.
    Certificate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CoverageKind {
    EntireFile,
    EntireRevision,
    Partial,
    Invalid,
}

/// Baseline level reached (ETSI EN 319 142-1 §6 for PAdES).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Level {
    #[serde(rename = "B-B")]
    BB,
    #[serde(rename = "B-T")]
    BT,
    #[serde(rename = "B-LT")]
    BLT,
    #[serde(rename = "B-LTA")]
    BLTA,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::BB => "B-B",
            Level::BT => "B-T",
            Level::BLT => "B-LT",
            Level::BLTA => "B-LTA",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    pub kind: CoverageKind,
    pub byte_range: Vec<i64>,
    pub signed_end: u64,
    pub file_size: u64,
    /// Bytes after the signed range.
    pub bytes_after: u64,
    /// How far later incremental updates modified the document (when there are any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modification_level: Option<crate::pdf::changes::ModLevel>,
    /// The objects changed after signing, each classified (at most 200 listed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<crate::pdf::changes::Change>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SignatureReport {
    pub index: usize,
    pub kind: SignatureKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_filter: Option<String>,
    pub indication: Indication,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_indication: Option<SubIndication>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<CertSummary>,
    /// Subjects of the validated chain, end entity first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_signing_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_algorithm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_algorithm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// PDF certification signature: the DocMDP permission /P (1 no changes,
    /// 2 form filling and signing, 3 also annotations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_mdp: Option<u8>,
    /// PDF: the fields this signature locks (FieldMDP / field /Lock), as
    /// `ALL`, `INCLUDE: a, b` or `EXCLUDE: a, b`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub field_locks: Vec<String>,
    /// A signature of the document a CMS signature envelops (a signed PDF
    /// inside a .p7m), not of the file itself.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enveloped: bool,
    /// PDF 2.0: the permission /P of the signature field's lock dictionary
    /// (ISO 32000-2 §12.7.5.5): once this signature is applied the document
    /// is locked at that level, as by a certification's DocMDP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_permission: Option<u8>,
    /// PDF: the revision (1 = oldest) whose end the ByteRange reaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<usize>,
    /// Baseline level reached (PDF signatures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Baseline level the signature's form claims, whether or not it validates
    /// (what the document contains: timestamps, validation data, document timestamps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format_level: Option<Level>,
    /// The proof of existence used (earliest valid signature or document timestamp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poe: Option<String>,
    /// Revocation data looked at for the certificates of the path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revocation: Vec<crate::revocation::Evidence>,
    /// For timestamps: the time they attest (TSTInfo genTime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gen_time: Option<String>,
    /// Timestamps over this signature, each checked on its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timestamps: Vec<SignatureReport>,
    /// XML signatures: where the signature is and what each reference signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xml: Option<Box<XmlSignatureInfo>>,
    /// What was positively proven; the indication rests on it
    /// ([`crate::core::proofs::indication`]).
    pub proven: crate::core::Proofs,
    pub checks: Vec<Check>,
    /// The failures recorded, with what each means (indication, sub-indication).
    #[serde(skip)]
    failures: Vec<(Indication, SubIndication)>,
    /// Facts the level derivation needs, typed (not read back from check codes).
    #[serde(skip)]
    pub facts: Facts,
}

/// An XMLDSig signature: where it is, how it was canonicalized, and every
/// reference with the element it signed (path, name, ID) and the SHA-256 of
/// the exact bytes digested — so that the caller can check that the element
/// it will use *is* one that was signed.
#[derive(Clone, Debug, Serialize)]
pub struct XmlSignatureInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Path of the `Signature` element, e.g. `/HDon/DSCKS/NBan/Signature`.
    pub path: String,
    /// The document profile checked (`e-invoice`, `e-form`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The role this signature plays in it (`seller`, `tax_authority`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonicalization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_method: Option<String>,
    pub references: Vec<crate::xml::dsig::RefOutcome>,
    /// The references of the Manifests the signature signs (an OOXML
    /// signature's package parts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifest_references: Vec<crate::xml::dsig::RefOutcome>,
    /// Which key verified the signature value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_source: Option<String>,
    /// KeyInfo forms present that kyso takes no key from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_info_ignored: Vec<String>,
}

/// Typed facts about a signature besides its proofs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts {
    /// The CMS carries revocation data (RevocationInfoChoices, adbe-revocationInfoArchival).
    pub embedded_revocation: bool,
}

impl SignatureReport {
    pub fn new(index: usize, kind: SignatureKind) -> Self {
        SignatureReport {
            index,
            kind,
            field_name: None,
            sub_filter: None,
            // Nothing passes by default: the indication is derived from what
            // was proven ([`SignatureReport::conclude`]).
            indication: Indication::Indeterminate,
            sub_indication: None,
            signer: None,
            chain: Vec::new(),
            coverage: None,
            claimed_signing_time: None,
            digest_algorithm: None,
            signature_algorithm: None,
            reason: None,
            location: None,
            gen_time: None,
            poe: None,
            level: None,
            format_level: None,
            revision: None,
            doc_mdp: None,
            field_locks: Vec::new(),
            lock_permission: None,
            enveloped: false,
            revocation: Vec::new(),
            timestamps: Vec::new(),
            xml: None,
            proven: crate::core::Proofs::default(),
            checks: Vec::new(),
            failures: Vec::new(),
            facts: Facts::default(),
        }
    }

    /// Record a check that is not a failure (passed, warning, info).
    pub fn pass(&mut self, c: Check) {
        self.checks.push(c);
    }

    /// Record a failed check and what it means for the indication.
    pub fn fail(&mut self, ind: Indication, sub: SubIndication, c: Check) {
        self.checks.push(c);
        self.failures.push((ind, sub));
        self.conclude();
    }

    /// The indication, with its sub-indication when there is one
    /// (`TOTAL_FAILED/HASH_FAILURE`).
    pub fn verdict(&self) -> String {
        match self.sub_indication {
            Some(x) => format!("{}/{}", self.indication.as_str(), x.as_str()),
            None => self.indication.as_str().to_string(),
        }
    }

    /// How many failures were recorded so far.
    pub fn failure_count(&self) -> usize {
        self.failures.len()
    }

    /// Derive the indication from what was proven and what failed. Called
    /// when a signature's checks are done (and again by [`Report::new`]);
    /// cheap and idempotent.
    pub fn conclude(&mut self) {
        let failed_check = self.checks.iter().any(|c| c.outcome == Outcome::Failed);
        let (i, s) = crate::core::proofs::indication(&self.proven, &self.failures, failed_check);
        self.indication = i;
        self.sub_indication = s;
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct DocumentInfo {
    pub name: String,
    pub size: u64,
    pub format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Check>,
    /// Document-level observations (repairs, encryption, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Check>,
    /// CMS enveloping a signed format (a PDF, as many signing tools wrap
    /// one in a .p7m): that document as read on its own. Its signatures
    /// follow the CMS signatures in the report's list, marked `enveloped`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enveloped: Option<Box<DocumentInfo>>,
    /// PDF: the cross-reference sections of the `/Prev` chain, oldest first
    /// (one per revision; a hybrid file's /XRefStm is part of its table's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<Revision>,
}

impl DocumentInfo {
    /// A document read as `format`, with nothing found yet.
    pub fn new(name: impl Into<String>, size: u64, format: &'static str) -> Self {
        DocumentInfo {
            name: name.into(),
            size,
            format,
            error: None,
            notes: Vec::new(),
            enveloped: None,
            revisions: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Revision {
    /// 1 = the original document.
    pub number: usize,
    pub xref_offset: u64,
    pub xref_kind: crate::pdf::document::XrefKind,
    /// Objects its cross-reference section lists.
    pub objects: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub signatures: usize,
    pub passed: usize,
    pub failed: usize,
    pub indeterminate: usize,
    /// The worst indication over all signatures (INDETERMINATE when there are none).
    pub indication: Indication,
    /// True when there is at least one signature and every one is TOTAL_PASSED.
    pub all_passed: bool,
    pub message_vi: String,
    pub message_en: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub report_version: u32,
    pub kyso_version: &'static str,
    /// The OpenSSL the signature checks and path building ran on (its
    /// version string), so that a re-verification years later can show it
    /// runs the same checks.
    pub openssl_version: &'static str,
    /// The settings the verdict was reached under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<ValidationPolicy>,
    pub validation_time: String,
    pub document: DocumentInfo,
    pub summary: Summary,
    pub signatures: Vec<SignatureReport>,
}

impl Report {
    pub fn new(
        document: DocumentInfo,
        validation_time: String,
        mut signatures: Vec<SignatureReport>,
    ) -> Self {
        for s in &mut signatures {
            for t in &mut s.timestamps {
                t.conclude();
            }
            s.conclude();
        }
        // A document-level finding that failed (e.g. signatures removed by a
        // later revision) keeps the document from passing as a whole.
        let failed_doc = |d: &DocumentInfo| {
            d.error.is_some() || d.notes.iter().any(|n| n.outcome == Outcome::Failed)
        };
        let doc_failed =
            failed_doc(&document) || document.enveloped.as_deref().is_some_and(failed_doc);
        let passed = signatures
            .iter()
            .filter(|s| s.indication == Indication::TotalPassed)
            .count();
        let failed = signatures
            .iter()
            .filter(|s| s.indication == Indication::TotalFailed)
            .count();
        let indeterminate = signatures.len() - passed - failed;
        let all_passed = !signatures.is_empty() && passed == signatures.len() && !doc_failed;
        let indication = if signatures.is_empty() || doc_failed {
            signatures
                .iter()
                .map(|s| s.indication)
                .max()
                .unwrap_or(Indication::Indeterminate)
                .max(Indication::Indeterminate)
        } else {
            signatures
                .iter()
                .map(|s| s.indication)
                .max()
                .unwrap_or(Indication::Indeterminate)
        };
        let (message_vi, message_en) = if document.error.is_some() {
            (
                "Không đọc được tệp; không xác nhận được chữ ký số.".to_string(),
                "The file could not be read; no signature could be confirmed.".to_string(),
            )
        } else if signatures.is_empty() {
            (
                "Tệp không có chữ ký số.".to_string(),
                "The file carries no digital signature.".to_string(),
            )
        } else if doc_failed && passed == signatures.len() {
            let notes: Vec<&str> = document
                .notes
                .iter()
                .filter(|n| n.outcome == Outcome::Failed)
                .map(|n| n.code)
                .collect();
            (
                format!(
                    "{} chữ ký còn trong tệp hợp lệ, nhưng tệp có phát hiện không đạt ({}): không xác nhận.",
                    signatures.len(),
                    notes.join(", ")
                ),
                format!(
                    "The {} signature(s) still in the file are valid, but the file has a failed finding ({}): not confirmed.",
                    signatures.len(),
                    notes.join(", ")
                ),
            )
        } else if all_passed {
            (
                format!("Tất cả {} chữ ký số hợp lệ.", signatures.len()),
                format!("All {} signature(s) are valid.", signatures.len()),
            )
        } else {
            (
                format!(
                    "{} chữ ký hợp lệ, {} không hợp lệ, {} chưa xác định được trên tổng số {}.",
                    passed,
                    failed,
                    indeterminate,
                    signatures.len()
                ),
                format!(
                    "{passed} valid, {failed} invalid, {indeterminate} indeterminate out of {} signature(s).",
                    signatures.len()
                ),
            )
        };
        Report {
            report_version: REPORT_VERSION,
            kyso_version: env!("CARGO_PKG_VERSION"),
            openssl_version: openssl::version::version(),
            policy: None,
            validation_time,
            summary: Summary {
                signatures: signatures.len(),
                passed,
                failed,
                indeterminate,
                indication,
                all_passed,
                message_vi,
                message_en,
            },
            document,
            signatures,
        }
    }
}

/// The settings a report was made under (what a re-verification must match).
#[derive(Clone, Debug, Serialize)]
pub struct ValidationPolicy {
    pub min_rsa_bits: u32,
    pub min_ec_bits: u32,
    /// `ACCEPT`, `WARN` or `REJECT`.
    pub sha1: &'static str,
    pub reject_md5: bool,
    pub allow_dsa: bool,
    pub revocation_required: bool,
    /// Annotations added after signing, over no signed content, accepted.
    pub allow_annotations: bool,
    pub online_revocation: bool,
    /// SHA-256 fingerprints of the trust anchors.
    pub trust_anchors: Vec<String>,
}

/// Which language(s) the text report uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
    Both,
}

fn indication_vi(i: Indication) -> &'static str {
    match i {
        Indication::TotalPassed => "HỢP LỆ",
        Indication::TotalFailed => "KHÔNG HỢP LỆ",
        Indication::Indeterminate => "CHƯA XÁC ĐỊNH",
    }
}

/// The text a clerk reads: one block per signature, Vietnamese first.
/// An XML signature's place, role and what each reference signed: the
/// element a reader must find among them (signature wrapping).
fn render_xml(s: &mut String, x: &XmlSignatureInfo, vi: bool, en: bool) {
    use std::fmt::Write;
    let role = x.role.as_deref().unwrap_or("-");
    if vi {
        let _ = writeln!(s, "  Vị trí chữ ký: {}   vai trò: {role}", x.path);
    }
    if en {
        let _ = writeln!(s, "  Signature at: {}   role: {role}", x.path);
    }
    for r in &x.references {
        let what = match &r.signed {
            Some(n) => {
                let id =
                    n.id.as_deref()
                        .map(|i| format!(" Id={i}"))
                        .unwrap_or_default();
                format!("{}{id}", n.path)
            }
            None => r.uri.clone().unwrap_or_else(|| "?".into()),
        };
        let status = match &r.status {
            crate::xml::dsig::RefStatus::Valid => "ok",
            crate::xml::dsig::RefStatus::DigestMismatch => "DIGEST MISMATCH",
            crate::xml::dsig::RefStatus::NotFound(_) => "NOT FOUND",
            crate::xml::dsig::RefStatus::Unsupported(_) => "UNSUPPORTED",
            crate::xml::dsig::RefStatus::Malformed(_) => "MALFORMED",
        };
        let sha = r
            .digested_sha256
            .as_deref()
            .map(|h| format!(" sha256 {}…", h.get(..16).unwrap_or(h)))
            .unwrap_or_default();
        let label = match (vi, en) {
            (true, true) => "đã ký / signed",
            (true, false) => "đã ký",
            _ => "signed",
        };
        let _ = writeln!(s, "  {label}: {what} [{status}]{sha}");
    }
}

pub fn render_text(r: &Report, lang: Lang) -> String {
    use std::fmt::Write;
    let vi = lang != Lang::En;
    let en = lang != Lang::Vi;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} ({} bytes, {})",
        r.document.name, r.document.size, r.document.format
    );
    if vi {
        let _ = writeln!(s, "Thời điểm kiểm tra: {}", r.validation_time);
    }
    if en {
        let _ = writeln!(s, "Validation time: {}", r.validation_time);
    }
    for n in &r.document.notes {
        if vi {
            let _ = writeln!(s, "[{}] {}", n.code, n.message_vi);
        }
        if en {
            let _ = writeln!(s, "[{}] {}", n.code, n.message_en);
        }
    }
    if let Some(e) = &r.document.error {
        if vi {
            let _ = writeln!(s, "LỖI: {}", e.message_vi);
        }
        if en {
            let _ = writeln!(s, "ERROR: {}", e.message_en);
        }
    }
    for sig in &r.signatures {
        let _ = writeln!(s);
        let sub = sig
            .sub_indication
            .map(|x| format!(" / {}", x.as_str()))
            .unwrap_or_default();
        let who = sig
            .signer
            .as_ref()
            .and_then(|c| c.common_name.clone())
            .unwrap_or_else(|| "?".into());
        let (label_vi, label_en) = if sig.kind == SignatureKind::Certificate {
            ("Chứng thư số", "Certificate")
        } else {
            ("Chữ ký", "Signature")
        };
        if vi {
            let _ = writeln!(
                s,
                "{label_vi} #{}: {} ({}{}) — người ký: {}",
                sig.index + 1,
                indication_vi(sig.indication),
                sig.indication.as_str(),
                sub,
                who
            );
        }
        if en {
            let _ = writeln!(
                s,
                "{label_en} #{}: {}{} — signer: {}",
                sig.index + 1,
                sig.indication.as_str(),
                sub,
                who
            );
        }
        if let Some(f) = &sig.field_name {
            let _ = writeln!(
                s,
                "  field: {f}   sub-filter: {}",
                sig.sub_filter.as_deref().unwrap_or("-")
            );
        }
        if let Some(c) = &sig.signer {
            for id in &c.identities {
                let _ = writeln!(s, "  {}: {}", id.kind, id.value);
            }
            let _ = writeln!(
                s,
                "  {} {} ({} bits); {} → {}",
                c.subject, c.key_type, c.key_bits, c.not_before, c.not_after
            );
        }
        if let Some(t) = &sig.claimed_signing_time {
            if vi {
                let _ = writeln!(s, "  Thời gian ký (tự khai): {t}");
            }
            if en {
                let _ = writeln!(s, "  Claimed signing time: {t}");
            }
        }
        if let Some(l) = sig.level {
            if vi {
                let _ = writeln!(s, "  Mức chữ ký đạt được: {}", l.as_str());
            }
            if en {
                let _ = writeln!(s, "  Level reached: {}", l.as_str());
            }
        }
        if let Some(p) = &sig.poe {
            if vi {
                let _ = writeln!(s, "  Thời điểm tồn tại được chứng minh (POE): {p}");
            }
            if en {
                let _ = writeln!(s, "  Proof of existence used: {p}");
            }
        }
        if let Some(m) = sig.coverage.as_ref().and_then(|c| c.modification_level) {
            let _ = writeln!(s, "  modification level: {}", m.as_str());
        }
        if let Some(x) = &sig.xml {
            render_xml(&mut s, x, vi, en);
        }
        for t in &sig.timestamps {
            let _ = writeln!(
                s,
                "  timestamp: {} {} — {}{}",
                t.gen_time.as_deref().unwrap_or("?"),
                t.signer.as_ref().map(|c| c.subject.as_str()).unwrap_or("?"),
                t.indication.as_str(),
                t.sub_indication
                    .map(|x| format!(" / {}", x.as_str()))
                    .unwrap_or_default()
            );
        }
        for e in sig.revocation.iter().filter(|e| e.used) {
            let _ = writeln!(
                s,
                "  revocation: {} {:?} {} — {}{}{}",
                e.kind,
                e.source,
                e.certificate,
                e.status,
                e.produced_at
                    .as_deref()
                    .map(|p| format!(", producedAt {p}"))
                    .unwrap_or_default(),
                format_args!(
                    ", thisUpdate {}{}",
                    e.this_update,
                    e.next_update
                        .as_deref()
                        .map(|n| format!(", nextUpdate {n}"))
                        .unwrap_or_default()
                )
            );
        }
        for c in &sig.checks {
            let mark = match c.outcome {
                Outcome::Passed => "[ok]",
                Outcome::Failed => "[FAIL]",
                Outcome::Warning => "[warn]",
                Outcome::Info => "[info]",
                Outcome::Skipped => "[skip]",
            };
            if vi {
                let _ = writeln!(s, "  {mark} {} — {}", c.code, c.message_vi);
            }
            if en {
                let pad = if vi { "       " } else { "" };
                let code = if vi {
                    String::new()
                } else {
                    format!("{} — ", c.code)
                };
                let _ = writeln!(s, "  {pad}{mark} {code}{}", c.message_en);
            }
        }
    }
    let _ = writeln!(s);
    if vi {
        let _ = writeln!(s, "Kết luận: {}", r.summary.message_vi);
    }
    if en {
        let _ = writeln!(s, "Summary: {}", r.summary.message_en);
    }
    s
}
