//! Proof bundles: one self-contained ZIP (ASiC-E-style layout) that lets an
//! auditor prove, offline and without the archive, that a file is what was
//! received and that its signatures were valid at intake.
//!
//! ```text
//! mimetype                         application/vnd.etsi.asic-e+zip (stored, first)
//! META-INF/manifest.json           every member with its SHA-256, size and role
//! documents/SHA                    the file(s)
//! reports/SHA.json                 the intake report(s) (archived blobs)
//! intake/SHA.json                  the intake row of each report: validation time,
//!                                  policy, revocation setting, evidence list
//! evidence/SHA.der                 certificates, CRLs, OCSP responses used at intake
//! decisions/SHA.json               dossier decisions (a dossier's bundle)
//! audit/entries.json               the audit entries about the subject and every
//!                                  entry after them up to an anchored head
//! records/SHA.ers                  RFC 4998 evidence record of each archived member
//! records/intake-SHA.ers           the evidence record of each intake row (named by
//!                                  its report), over the row as anchored
//! records/audit-SEQ.ers            the evidence record of the anchored audit head
//! ```
//!
//! [`verify_bundle`] checks, in order: the ZIP (kyso's package reader: no
//! ambiguous structure), the manifest against every member, each archived
//! member's evidence record over its bytes (TSA trust anchors and time as
//! given), the audit entries' hashes and links up to the anchored head and
//! that head's record, each intake row against its own record (its policy,
//! revocation setting and evidence list as they were at intake) and its
//! validation time against the anchored report, and then verifies each
//! file again at its intake time from the bundled evidence only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::*;

pub const MEDIA_TYPE: &str = "application/vnd.etsi.asic-e+zip";
const FORMAT: &str = "kyso-proof-v1";
/// Most audit entries a bundle carries between the subject and its anchor.
pub const MAX_AUDIT_ENTRIES: usize = 100_000;

/// What a bundle proves things about.
#[derive(Clone, Debug)]
pub enum ProofSubject {
    Document(String),
    Dossier(String),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestMember {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    /// `document`, `report`, `intake`, `evidence`, `decision`, `audit`, `record`.
    pub role: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub created: String,
    /// `document SHA` or `dossier CODE`.
    pub subject: String,
    /// The files the bundle is about (SHA-256).
    pub documents: Vec<String>,
    pub members: Vec<ManifestMember>,
}

/// The audit part of a bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditPart {
    pub entries: Vec<AuditEntry>,
    /// The anchored entry the links lead to (its record is `records/audit-SEQ.ers`).
    pub anchor_seq: Option<i64>,
}

struct Builder {
    files: BTreeMap<String, (Vec<u8>, String)>,
}

impl Builder {
    fn add(&mut self, path: String, data: Vec<u8>, role: &str) {
        self.files.entry(path).or_insert((data, role.to_string()));
    }
}

impl Archive {
    /// Build the proof bundle of a document or a dossier; `None` when the
    /// subject is not archived.
    pub async fn proof_bundle(
        &self,
        subject: &ProofSubject,
        created: &str,
    ) -> Result<Option<Vec<u8>>> {
        let mut b = Builder {
            files: BTreeMap::new(),
        };
        let (docs, decisions, object) = match subject {
            ProofSubject::Document(sha) => {
                if !is_sha256_hex(sha) || self.meta.document(sha).await?.is_none() {
                    return Ok(None);
                }
                (vec![sha.clone()], Vec::new(), sha.clone())
            }
            ProofSubject::Dossier(code) => {
                let Some(d) = self.meta.dossier(code).await? else {
                    return Ok(None);
                };
                let mut docs = Vec::new();
                let mut decisions = Vec::new();
                for v in &d.versions {
                    decisions.push(v.decision_sha256.clone());
                    for f in &v.files {
                        if !docs.contains(&f.document_sha256) {
                            docs.push(f.document_sha256.clone());
                        }
                    }
                }
                (docs, decisions, code.clone())
            }
        };
        let mut blobs: Vec<(String, String)> = Vec::new(); // (sha, role)
        let mut records = super::anchor::Records::new(self);
        for sha in &docs {
            let Some((_, reports)) = self.meta.document(sha).await? else {
                continue;
            };
            blobs.push((sha.clone(), "document".into()));
            for r in &reports {
                blobs.push((r.report_sha256.clone(), "report".into()));
                let row = serde_json::to_vec_pretty(r)
                    .map_err(|e| ArchiveError::Integrity(e.to_string()))?;
                b.add(format!("intake/{}.json", r.report_sha256), row, "intake");
                if let Some((_, er)) = records
                    .record(&intake_place(&r.report_sha256), &intake_hash(r))
                    .await?
                {
                    b.add(
                        format!("records/intake-{}.ers", r.report_sha256),
                        er.to_der(),
                        "record",
                    );
                }
                for e in &r.evidence {
                    blobs.push((e.sha256.clone(), "evidence".into()));
                }
            }
        }
        for d in decisions {
            blobs.push((d, "decision".into()));
        }
        for (sha, role) in &blobs {
            let data = self
                .get_blob(sha)
                .await?
                .ok_or_else(|| ArchiveError::Integrity(format!("blob {sha} is missing")))?;
            let path = match role.as_str() {
                "document" => format!("documents/{sha}"),
                "report" => format!("reports/{sha}.json"),
                "decision" => format!("decisions/{sha}.json"),
                _ => format!("evidence/{sha}.der"),
            };
            b.add(path, data.to_vec(), role);
            if let Some((_, er)) = records.record("blob", sha).await? {
                b.add(format!("records/{sha}.ers"), er.to_der(), "record");
            }
        }
        // Audit: the entries about the subject, then every entry up to the
        // first anchored head at or after the last of them.
        let mut about = Vec::new();
        let mut from = 1;
        loop {
            let page = self.meta.audit_page(from, 1000).await?;
            let Some(last) = page.last() else { break };
            from = last.seq + 1;
            about.extend(
                page.into_iter()
                    .filter(|e| e.object == object)
                    .map(|e| e.seq),
            );
        }
        let mut audit = AuditPart {
            entries: Vec::new(),
            anchor_seq: None,
        };
        if let (Some(first), Some(last)) = (about.first(), about.last()) {
            // The latest anchored head at or after the first entry about the
            // subject; entries after it (the export's own, say) are carried,
            // linked, and said to be not anchored yet.
            let rounds = self.meta.rounds().await?;
            let anchor = rounds
                .iter()
                .map(|r| r.audit_seq)
                .filter(|s| *s >= *first)
                .max();
            let upto = anchor.unwrap_or(*last).max(*last);
            if (upto - first) as usize >= MAX_AUDIT_ENTRIES {
                return Err(ArchiveError::Integrity(format!(
                    "more than {MAX_AUDIT_ENTRIES} audit entries between the subject and its anchor"
                )));
            }
            let mut seq = *first;
            while seq <= upto {
                let page = self.meta.audit_page(seq, 1000).await?;
                let Some(l) = page.last() else { break };
                seq = l.seq + 1;
                audit
                    .entries
                    .extend(page.into_iter().filter(|e| e.seq <= upto));
            }
            if let Some(a) = anchor {
                if let Some(head) = audit.entries.iter().find(|e| e.seq == a) {
                    if let Some((_, er)) = records.record(&format!("audit {a}"), &head.hash).await?
                    {
                        b.add(format!("records/audit-{a}.ers"), er.to_der(), "record");
                        audit.anchor_seq = Some(a);
                    }
                }
            }
        }
        let audit_json = serde_json::to_vec_pretty(&audit)
            .map_err(|e| ArchiveError::Integrity(e.to_string()))?;
        b.add("audit/entries.json".into(), audit_json, "audit");

        let manifest = Manifest {
            format: FORMAT.into(),
            created: created.into(),
            subject: match subject {
                ProofSubject::Document(s) => format!("document {s}"),
                ProofSubject::Dossier(c) => format!("dossier {c}"),
            },
            documents: docs,
            members: b
                .files
                .iter()
                .map(|(path, (data, role))| ManifestMember {
                    path: path.clone(),
                    sha256: sha256_hex(data),
                    size: data.len() as u64,
                    role: role.clone(),
                })
                .collect(),
        };
        let manifest = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| ArchiveError::Integrity(e.to_string()))?;
        write_zip(&manifest, &b.files).map(Some)
    }
}

fn write_zip(manifest: &[u8], files: &BTreeMap<String, (Vec<u8>, String)>) -> Result<Vec<u8>> {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let zerr = |e: zip::result::ZipError| ArchiveError::Integrity(e.to_string());
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("mimetype", stored).map_err(zerr)?;
    w.write_all(MEDIA_TYPE.as_bytes())?;
    w.start_file("META-INF/manifest.json", deflated)
        .map_err(zerr)?;
    w.write_all(manifest)?;
    for (path, (data, _)) in files {
        w.start_file(path.as_str(), deflated).map_err(zerr)?;
        w.write_all(data)?;
    }
    Ok(w.finish().map_err(zerr)?.into_inner())
}

/// One file's result in a bundle.
#[derive(Debug, Serialize)]
pub struct DocumentProof {
    pub sha256: String,
    /// When the file is proven to have existed unchanged (RFC 3339), if it is.
    pub existed_at: Option<String>,
    /// The intake verifications, each verified again at its time.
    pub intakes: Vec<IntakeProof>,
}

#[derive(Debug, Serialize)]
pub struct IntakeProof {
    pub validation_time: String,
    /// The verdict recorded at intake.
    pub recorded: String,
    /// The verdict now, from the bundled evidence, at the intake time.
    pub replayed: String,
}

/// The verdict on a bundle.
#[derive(Debug, Serialize)]
pub struct ProofVerdict {
    /// Everything checked held.
    pub ok: bool,
    pub subject: String,
    pub documents: Vec<DocumentProof>,
    /// The audit entries about the subject, linked to an anchored head that
    /// a valid record proves (the head's sequence and proven time).
    pub audit_anchor: Option<(i64, String)>,
    /// Entries after the anchored head (linked to it, not anchored yet).
    pub audit_unanchored: usize,
    /// The trust anchors the archive timestamps were checked against (the
    /// checker's own: `--trust`), and the validation time.
    pub tsa_roots: Vec<String>,
    pub checked_at: String,
    /// The trust anchors recorded at intake (in the bundle) that the
    /// signatures were verified again against.
    pub intake_roots: Vec<String>,
    /// What is proven and what is not, in Vietnamese and in English.
    pub lines_vi: Vec<String>,
    pub lines_en: Vec<String>,
    pub problems: Vec<String>,
}

/// Why a record does not prove its data (English).
fn why(r: &crate::ers::RecordVerdict) -> String {
    r.checks
        .iter()
        .map(|c| c.message_en.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether `zip` is a kyso proof bundle (ASiC-E layout with a kyso
/// manifest), as opposed to a signed ASiC-E container or anything else:
/// what the verification page checks before it chooses how to judge a file.
pub fn is_bundle(zip: &[u8]) -> bool {
    if !zip.starts_with(b"PK\x03\x04") {
        return false;
    }
    let Ok(pkg) = crate::package::Package::read(zip, &crate::package::PackageLimits::default())
    else {
        return false;
    };
    let read = |name: &str| pkg.part(name).and_then(|p| pkg.open(p).ok());
    read("mimetype").as_deref() == Some(MEDIA_TYPE.as_bytes())
        && read("META-INF/manifest.json")
            .and_then(|m| serde_json::from_slice::<Manifest>(&m).ok())
            .is_some_and(|m| m.format == FORMAT)
}

/// Check a bundle offline: `opts` carries the TSA trust anchors and the
/// validation time; `default_policy` stands in for an unreadable intake
/// policy.
pub fn verify_bundle(
    zip: &[u8],
    opts: &crate::VerifyOptions,
    default_policy: &crate::server::policy::Policy,
) -> crate::Result<ProofVerdict> {
    let limits = crate::package::PackageLimits::default();
    let pkg = crate::package::Package::read(zip, &limits)?;
    let mut v = ProofVerdict {
        ok: false,
        subject: String::new(),
        documents: Vec::new(),
        audit_anchor: None,
        audit_unanchored: 0,
        tsa_roots: crate::certificate::anchor_names(&opts.trust.anchors),
        checked_at: crate::pki::cert::fmt_unix(opts.at),
        intake_roots: Vec::new(),
        lines_vi: Vec::new(),
        lines_en: Vec::new(),
        problems: Vec::new(),
    };
    if let Some(f) = pkg.findings.first() {
        v.problems.push(format!(
            "the ZIP structure is ambiguous: {} {}",
            f.code, f.detail
        ));
        return Ok(v);
    }
    let read = |name: &str| -> Option<Vec<u8>> { pkg.part(name).and_then(|p| pkg.open(p).ok()) };
    if read("mimetype").as_deref() != Some(MEDIA_TYPE.as_bytes()) {
        v.problems.push("not a kyso proof bundle (mimetype)".into());
        return Ok(v);
    }
    let Some(manifest) = read("META-INF/manifest.json")
        .and_then(|m| serde_json::from_slice::<Manifest>(&m).ok())
        .filter(|m| m.format == FORMAT)
    else {
        v.problems
            .push("the manifest is missing or unreadable".into());
        return Ok(v);
    };
    v.subject = manifest.subject.clone();
    // Every member listed, every listed member present and unchanged.
    let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for m in &manifest.members {
        match read(&m.path) {
            Some(b) if sha256_hex(&b) == m.sha256 && b.len() as u64 == m.size => {
                data.insert(m.path.clone(), b);
            }
            Some(_) => v
                .problems
                .push(format!("{}: does not match the manifest", m.path)),
            None => v
                .problems
                .push(format!("{}: listed in the manifest, missing", m.path)),
        }
    }
    for p in &pkg.parts {
        if p.name != "mimetype"
            && p.name != "META-INF/manifest.json"
            && !data.contains_key(&p.name)
            && !manifest.members.iter().any(|m| m.path == p.name)
        {
            v.problems
                .push(format!("{}: not listed in the manifest", p.name));
        }
    }
    // Each archived member's evidence record over its bytes.
    let mut existed: BTreeMap<String, String> = BTreeMap::new();
    for m in &manifest.members {
        if !matches!(
            m.role.as_str(),
            "document" | "report" | "evidence" | "decision"
        ) {
            continue;
        }
        let Some(bytes) = data.get(&m.path) else {
            continue;
        };
        // An archived member is named by its SHA-256: the name says which
        // archived object it claims to be, and which record is its.
        let named = m
            .path
            .rsplit('/')
            .next()
            .and_then(|f| f.split('.').next())
            .unwrap_or_default()
            .to_string();
        if named != m.sha256 {
            v.problems.push(format!(
                "{}: its content is not the archived object it names",
                m.path
            ));
        }
        let rec_path = format!("records/{named}.ers");
        let Some(rec) = data.get(&rec_path) else {
            v.problems.push(format!(
                "{}: no evidence record (not anchored when the bundle was made)",
                m.path
            ));
            continue;
        };
        match crate::ers::EvidenceRecord::parse(rec) {
            Err(e) => v.problems.push(format!("{rec_path}: {e}")),
            Ok(er) => {
                let r = crate::ers::verify(&er, &|alg| alg.digest(bytes), opts);
                match (&r.existed_at, r.valid) {
                    (Some(t), true) => {
                        existed.insert(named.clone(), t.clone());
                    }
                    _ => v.problems.push(format!(
                        "{}: its evidence record does not prove it: {}",
                        m.path,
                        why(&r)
                    )),
                }
            }
        }
    }
    // Audit entries: hashes, links, the anchored head's record.
    let audit: Option<AuditPart> = data
        .get("audit/entries.json")
        .and_then(|b| serde_json::from_slice(b).ok());
    match audit {
        None => v
            .problems
            .push("audit/entries.json is missing or unreadable".into()),
        Some(a) => {
            let mut linked = true;
            for (i, e) in a.entries.iter().enumerate() {
                let d = e.draft();
                let prev_ok = i == 0
                    || (a.entries[i - 1].seq + 1 == e.seq && a.entries[i - 1].hash == e.prev_hash);
                if audit_hash(e.seq, &d, &e.prev_hash) != e.hash || !prev_ok {
                    v.problems.push(format!(
                        "audit entry {}: its hash or link does not hold",
                        e.seq
                    ));
                    linked = false;
                }
            }
            match a.anchor_seq.and_then(|s| a.entries.iter().find(|e| e.seq == s)) {
                None => v.problems.push("the audit entries lead to no anchored head (not anchored when the bundle was made)".into()),
                Some(head) => {
                    let rec_path = format!("records/audit-{}.ers", head.seq);
                    // The head's data is its chained fields (with SHA-256:
                    // its hash; after a hash-tree renewal, hashed again).
                    let fields = audit_bytes(head.seq, &head.draft(), &head.prev_hash);
                    let r = data
                        .get(&rec_path)
                        .and_then(|b| crate::ers::EvidenceRecord::parse(b).ok())
                        .map(|er| crate::ers::verify(&er, &|alg| alg.digest(&fields), opts));
                    match r {
                        Some(r) if r.valid && linked => {
                            v.audit_anchor = Some((head.seq, r.existed_at.unwrap_or_default()));
                            v.audit_unanchored =
                                a.entries.iter().filter(|e| e.seq > head.seq).count();
                        }
                        Some(r) if !r.valid => v.problems.push(format!(
                            "{rec_path}: does not prove the audit head: {}",
                            why(&r)
                        )),
                        Some(_) => {}
                        None => v.problems.push(format!("{rec_path}: missing or unreadable")),
                    }
                }
            }
        }
    }
    // Each file verified again at its intake time from the bundled evidence.
    for sha in &manifest.documents {
        let mut dp = DocumentProof {
            sha256: sha.clone(),
            existed_at: existed.get(sha).cloned(),
            intakes: Vec::new(),
        };
        let Some(doc) = data.get(&format!("documents/{sha}")) else {
            v.problems.push(format!("documents/{sha}: missing"));
            continue;
        };
        for m in manifest.members.iter().filter(|m| m.role == "intake") {
            let Some(row) = data
                .get(&m.path)
                .and_then(|b| serde_json::from_slice::<ReportRecord>(b).ok())
            else {
                v.problems.push(format!("{}: unreadable", m.path));
                continue;
            };
            if row.document_sha256 != *sha {
                continue;
            }
            // The row itself (policy, revocation setting, evidence list) as
            // anchored at intake.
            let rec_path = format!("records/intake-{}.ers", row.report_sha256);
            let text = super::anchor::reference_text(
                &intake_place(&row.report_sha256),
                &intake_hash(&row),
            );
            match data
                .get(&rec_path)
                .and_then(|b| crate::ers::EvidenceRecord::parse(b).ok())
                .map(|er| crate::ers::verify(&er, &|alg| alg.digest(text.as_bytes()), opts))
            {
                Some(r) if r.valid => {}
                Some(r) => v.problems.push(format!(
                    "{}: its evidence record does not prove it (the row is not the one anchored at intake): {}",
                    m.path,
                    why(&r)
                )),
                None => v.problems.push(format!(
                    "{}: no evidence record (not anchored when the bundle was made)",
                    m.path
                )),
            }
            // The replay time must be the one the anchored report states.
            let report_time = data
                .get(&format!("reports/{}.json", row.report_sha256))
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|r| {
                    r["validation_time"]
                        .as_str()
                        .and_then(crate::pki::cert::parse_rfc3339)
                });
            if report_time != Some(row.validation_time) {
                v.problems.push(format!(
                    "{}: its validation time is not the one of the anchored report",
                    m.path
                ));
                continue;
            }
            let mut items = Vec::new();
            for e in &row.evidence {
                match data.get(&format!("evidence/{}.der", e.sha256)) {
                    Some(b) => items.push((e.kind.clone(), bytes::Bytes::from(b.clone()))),
                    None => v
                        .problems
                        .push(format!("evidence {} of {}: missing", e.sha256, m.path)),
                }
            }
            let recorded = row.indication.clone();
            let at = row.validation_time;
            match crate::server::audit::Replay::from_parts(
                row,
                bytes::Bytes::from(doc.clone()),
                items,
                default_policy,
            ) {
                Err(e) => v.problems.push(format!("{}: {e}", m.path)),
                Ok(replay) => {
                    for n in crate::certificate::anchor_names(&replay.trust.anchors) {
                        if !v.intake_roots.contains(&n) {
                            v.intake_roots.push(n);
                        }
                    }
                    let rep = replay.run_blocking(at, sha);
                    let replayed = rep.summary.indication.as_str().to_string();
                    if replayed != recorded {
                        v.problems.push(format!(
                            "document {sha}: recorded {recorded} at intake, {replayed} when verified again from the bundled evidence"
                        ));
                    }
                    dp.intakes.push(IntakeProof {
                        validation_time: crate::pki::cert::fmt_unix(at),
                        recorded,
                        replayed,
                    });
                }
            }
        }
        v.documents.push(dp);
    }
    v.ok = v.problems.is_empty();
    for d in &v.documents {
        match &d.existed_at {
            Some(t) => {
                v.lines_vi.push(format!(
                    "Tệp {}: tồn tại, không thay đổi, từ thời điểm {t}",
                    d.sha256
                ));
                v.lines_en
                    .push(format!("File {}: existed, unchanged, since {t}", d.sha256));
            }
            None => {
                v.lines_vi.push(format!(
                    "Tệp {}: KHÔNG chứng minh được thời điểm tồn tại",
                    d.sha256
                ));
                v.lines_en.push(format!(
                    "File {}: its existence in time is NOT proven",
                    d.sha256
                ));
            }
        }
        for i in &d.intakes {
            if i.replayed == "TOTAL_PASSED" {
                v.lines_vi.push(format!("  chữ ký hợp lệ tại thời điểm tiếp nhận {} (kiểm tra lại từ bằng chứng trong gói)", i.validation_time));
                v.lines_en.push(format!("  signatures valid at intake time {} (verified again from the bundled evidence)", i.validation_time));
            } else {
                v.lines_vi.push(format!(
                    "  kết quả tại thời điểm tiếp nhận {}: {} (ghi nhận: {})",
                    i.validation_time, i.replayed, i.recorded
                ));
                v.lines_en.push(format!(
                    "  result at intake time {}: {} (recorded: {})",
                    i.validation_time, i.replayed, i.recorded
                ));
            }
        }
    }
    match &v.audit_anchor {
        Some((seq, t)) => {
            v.lines_vi.push(format!(
                "Nhật ký kiểm toán: các mục về hồ sơ liên kết tới mục {seq}, được neo lúc {t}"
            ));
            v.lines_en.push(format!(
                "Audit log: the entries about it link to entry {seq}, anchored at {t}"
            ));
            if v.audit_unanchored > 0 {
                let n = v.audit_unanchored;
                v.lines_vi
                    .push(format!("  {n} mục sau đó (có liên kết, chưa được neo)"));
                v.lines_en
                    .push(format!("  {n} later entries (linked, not anchored yet)"));
            }
        }
        None => {
            v.lines_vi
                .push("Nhật ký kiểm toán: KHÔNG chứng minh được".into());
            v.lines_en.push("Audit log: NOT proven".into());
        }
    }
    let none = |l: &[String], vi: bool| match (l.is_empty(), vi) {
        (true, true) => "(không có)".to_string(),
        (true, false) => "(none)".to_string(),
        _ => l.join("; "),
    };
    v.lines_vi.push(format!(
        "Kiểm tra lúc {}; dấu thời gian lưu trữ được tin cậy theo chứng thư gốc: {}",
        v.checked_at,
        none(&v.tsa_roots, true)
    ));
    v.lines_en.push(format!(
        "Checked at {}; archive timestamps trusted through the roots: {}",
        v.checked_at,
        none(&v.tsa_roots, false)
    ));
    if !v.documents.is_empty() {
        v.lines_vi.push(format!(
            "Chữ ký được kiểm tra lại theo chứng thư gốc ghi nhận khi tiếp nhận (trong gói): {}",
            none(&v.intake_roots, true)
        ));
        v.lines_en.push(format!(
            "Signatures verified again against the roots recorded at intake (in the bundle): {}",
            none(&v.intake_roots, false)
        ));
    }
    Ok(v)
}
