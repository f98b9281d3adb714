//! The acceptance policy of a procedure: may the submitted files stand in
//! for postal originals? Every decision is explained check by check, in
//! Vietnamese and English.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::report::{Indication, Level, Report, SignatureKind};

/// What a procedure asks of a dossier's files.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// File roles that must carry a valid signature; `*` means every file.
    pub signed_roles: Vec<String>,
    /// When set, only these roles may be submitted.
    pub allowed_roles: Option<Vec<String>>,
    /// Lowest PAdES baseline level accepted: `B-B`, `B-T`, `B-LT` or `B-LTA`.
    pub min_level: String,
    /// The signer's CCCD/CMND/passport number or MST must be the applicant's.
    pub signer_must_match_applicant: bool,
    /// An organisation certificate (MST) is accepted on a file of an individual applicant.
    pub organisation_for_individual: bool,
    /// Trust-anchor groups a signature may chain to (`neac`, `vgca`, or configured ones).
    pub trust: Vec<String>,
    pub min_rsa_bits: u32,
    pub min_ec_bits: u32,
    /// `reject`, `warn` or `accept` signatures made with SHA-1.
    pub sha1: String,
    /// Accept PDFs annotated after signing (comments, highlights, stamps)
    /// when the annotations lie over no signed content and no DocMDP/lock
    /// P=1 or P=2 forbids them. False: refused, as paper with notes
    /// scribbled on it would be.
    pub allow_annotations: bool,
    /// Signed XML files: the document profile (`auto`: by the document's
    /// shape — an `HDon` is an e-invoice; `none`; `e-invoice`; `e-form`).
    pub xml_profile: String,
    /// e-form: elements (paths of local names, e.g. `ToKhai/NoiDung`) the
    /// applicant's signature must cover.
    pub xml_must_sign: Vec<String>,
    /// e-form: the element holding the applicant's identity and its kind,
    /// `PATH=KIND` (e.g. `ToKhai/NguoiNop/SoCCCD=CCCD`); it must be an
    /// identity of the signer's certificate.
    pub xml_identity_element: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            signed_roles: vec!["*".into()],
            allowed_roles: None,
            min_level: "B-B".into(),
            signer_must_match_applicant: true,
            organisation_for_individual: false,
            trust: vec!["neac".into(), "vgca".into()],
            min_rsa_bits: 2048,
            min_ec_bits: 256,
            sha1: "reject".into(),
            allow_annotations: false,
            xml_profile: "auto".into(),
            xml_must_sign: Vec::new(),
            xml_identity_element: None,
        }
    }
}

/// The signed-XML profile of a policy (checked by [`Policy::validate`]).
pub fn xml_profile(p: &Policy) -> crate::validate::XmlProfileChoice {
    crate::xml::profile::choice(
        &p.xml_profile,
        Vec::new(),
        &p.xml_must_sign,
        p.xml_identity_element.as_deref(),
    )
    .unwrap_or_default()
}

/// The algorithm settings of a policy.
pub fn algorithms(p: &Policy) -> crate::validate::AlgorithmPolicy {
    use crate::validate::{AlgorithmPolicy, Sha1Policy};
    AlgorithmPolicy {
        min_rsa_bits: p.min_rsa_bits,
        min_ec_bits: p.min_ec_bits,
        sha1: match p.sha1.as_str() {
            "accept" => Sha1Policy::Accept,
            "warn" => Sha1Policy::Warn,
            _ => Sha1Policy::Reject,
        },
        ..AlgorithmPolicy::default()
    }
}

pub fn parse_level(s: &str) -> Option<Level> {
    Some(match s {
        "B-B" => Level::BB,
        "B-T" => Level::BT,
        "B-LT" => Level::BLT,
        "B-LTA" => Level::BLTA,
        _ => return None,
    })
}

impl Policy {
    /// A policy whose settings are understood (checked at start-up).
    pub fn validate(&self, known_groups: &[String]) -> Result<(), String> {
        if parse_level(&self.min_level).is_none() {
            return Err(format!(
                "min_level {:?} is not B-B, B-T, B-LT or B-LTA",
                self.min_level
            ));
        }
        if !matches!(self.sha1.as_str(), "reject" | "warn" | "accept") {
            return Err(format!(
                "sha1 {:?} is not reject, warn or accept",
                self.sha1
            ));
        }
        if self.trust.is_empty() {
            return Err("trust lists no anchor group".into());
        }
        crate::xml::profile::choice(
            &self.xml_profile,
            Vec::new(),
            &self.xml_must_sign,
            self.xml_identity_element.as_deref(),
        )?;
        for g in &self.trust {
            if !known_groups.contains(g) {
                return Err(format!("trust group {g:?} is not configured"));
            }
        }
        Ok(())
    }

    fn requires_signature(&self, role: &str) -> bool {
        self.signed_roles.iter().any(|r| r == "*" || r == role)
    }
}

/// Who submits the dossier.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    /// `CCCD`, `CMND`, `HC` (passport) for a person; `MST` (tax code) for an organisation.
    pub kind: String,
    pub value: String,
}

impl Applicant {
    pub fn validate(&self) -> Result<(), (String, String)> {
        let ok_chars = |s: &str, extra: &[u8]| {
            !s.is_empty()
                && s.len() <= 20
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
        };
        let ok = match self.kind.as_str() {
            "CCCD" => self.value.len() == 12 && self.value.bytes().all(|b| b.is_ascii_digit()),
            "CMND" => {
                matches!(self.value.len(), 9 | 12) && self.value.bytes().all(|b| b.is_ascii_digit())
            }
            "HC" => ok_chars(&self.value, &[]),
            "MST" => ok_chars(&self.value, b"-") && self.value.as_bytes()[0].is_ascii_digit(),
            _ => {
                return Err((
                    format!(
                        "Loại giấy tờ {:?} không được hỗ trợ (CCCD, CMND, HC, MST).",
                        self.kind
                    ),
                    format!(
                        "Identity kind {:?} is not supported (CCCD, CMND, HC, MST).",
                        self.kind
                    ),
                ));
            }
        };
        if ok {
            Ok(())
        } else {
            Err((
                format!("Số {} không đúng định dạng.", self.kind),
                format!("The {} number is malformed.", self.kind),
            ))
        }
    }

    pub fn is_organisation(&self) -> bool {
        self.kind == "MST"
    }
}

/// One check of the policy, with its outcome and reason.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PolicyCheck {
    /// Stable code: `FILE_SIGNED`, `SIGNATURES_VALID`, `SIGNATURE_LEVEL`,
    /// `SIGNER_IS_APPLICANT`, `ROLE_ALLOWED`, `SIGNATURE_NOT_REQUIRED`, `FILE_READABLE`.
    pub code: String,
    pub passed: bool,
    pub message_vi: String,
    pub message_en: String,
}

/// A signer as the decision shows it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SignerSummary {
    pub name: Option<String>,
    pub organization: Option<String>,
    /// The CA that issued the signer's certificate (its CN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `KIND:value` identities found in the certificate (CCCD, CMND, MST, ...).
    pub identities: Vec<String>,
}

/// The decision for one file.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FileDecision {
    /// 1-based, in submission order.
    pub index: u32,
    pub role: String,
    pub name: String,
    pub sha256: String,
    /// The file's format as read (`PDF`, `CMS`, `XML`, `OOXML`, `ODF`, …).
    #[serde(default)]
    pub format: String,
    /// Signatures found (document timestamps not counted).
    pub signatures: usize,
    /// The worst indication over the file's signatures.
    pub indication: String,
    pub sub_indication: Option<String>,
    /// The lowest level among the file's signatures.
    pub level: Option<String>,
    pub signers: Vec<SignerSummary>,
    pub accepted: bool,
    pub checks: Vec<PolicyCheck>,
}

/// The decision on a dossier.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    /// True when every file meets the procedure's policy: no paper originals are needed.
    pub accepted_in_lieu_of_originals: bool,
    pub procedure: String,
    /// Which policy applied (`procedure:CODE` or `default`).
    pub policy: String,
    /// The reasons for refusal (empty when accepted).
    pub reasons_vi: Vec<String>,
    pub reasons_en: Vec<String>,
    pub files: Vec<FileDecision>,
}

fn check(code: &str, passed: bool, vi: String, en: String) -> PolicyCheck {
    PolicyCheck {
        code: code.into(),
        passed,
        message_vi: vi,
        message_en: en,
    }
}

/// Does a certificate identity match the applicant?
fn identity_matches(kind: &str, value: &str, a: &Applicant) -> bool {
    crate::pki::cert::identity_matches(kind, value, &a.kind, &a.value)
}

/// Apply `policy` to one verified file.
pub fn decide_file(
    policy: &Policy,
    applicant: &Applicant,
    index: u32,
    role: &str,
    name: &str,
    sha256: &str,
    report: &Report,
) -> FileDecision {
    let n = index;
    let sigs: Vec<_> = report
        .signatures
        .iter()
        .filter(|s| {
            !matches!(
                s.kind,
                SignatureKind::PdfDocumentTimestamp | SignatureKind::Timestamp
            )
        })
        .collect();
    let worst = sigs.iter().map(|s| s.indication).max();
    let worst_sig = sigs.iter().max_by_key(|s| s.indication);
    let level = sigs.iter().map(|s| s.level.unwrap_or(Level::BB)).min();
    let signers: Vec<SignerSummary> = sigs
        .iter()
        .filter_map(|s| s.signer.as_ref())
        .map(|c| SignerSummary {
            name: c.common_name.clone(),
            organization: c.organization.clone(),
            issuer: Some(crate::report::plain::cn_of(&c.issuer)),
            identities: c
                .identities
                .iter()
                .map(|i| format!("{}:{}", i.kind, i.value))
                .collect(),
        })
        .collect();
    let mut checks = Vec::new();

    if let Some(allowed) = &policy.allowed_roles {
        let ok = allowed.iter().any(|r| r == role);
        checks.push(check(
            "ROLE_ALLOWED",
            ok,
            if ok {
                format!("Tệp {n}: loại giấy tờ '{role}' thuộc thủ tục.")
            } else {
                format!("Tệp {n}: loại giấy tờ '{role}' không thuộc thủ tục này.")
            },
            if ok {
                format!("File {n}: role '{role}' belongs to the procedure.")
            } else {
                format!("File {n}: role '{role}' is not part of this procedure.")
            },
        ));
    }

    if let Some(err) = &report.document.error {
        checks.push(check(
            "FILE_READABLE",
            false,
            format!("Tệp {n} ({name}) không đọc được: {}", err.message_vi),
            format!("File {n} ({name}) could not be read: {}", err.message_en),
        ));
    }

    // A signature that is proven invalid is refused whatever the role.
    if worst == Some(Indication::TotalFailed) && !policy.requires_signature(role) {
        let s = worst_sig
            .map(|s| sub_text(s.indication, s.sub_indication))
            .unwrap_or_default();
        checks.push(check(
            "SIGNATURES_VALID",
            false,
            format!("Tệp {n} ({name}) mang chữ ký số không hợp lệ ({s}): tệp đã bị sửa đổi hoặc chữ ký bị giả mạo."),
            format!("File {n} ({name}) carries an invalid signature ({s}): the file was altered or the signature forged."),
        ));
    }

    if !policy.requires_signature(role) {
        checks.push(check(
            "SIGNATURE_NOT_REQUIRED",
            true,
            format!("Tệp {n}: thủ tục không yêu cầu ký số loại giấy tờ '{role}'."),
            format!("File {n}: the procedure does not require role '{role}' to be signed."),
        ));
    } else if sigs.is_empty() {
        checks.push(check(
            "FILE_SIGNED",
            false,
            format!("Tệp {n} ({name}) chưa được ký số — cần gửi bản sao chứng thực qua bưu điện."),
            format!(
                "File {n} ({name}) is not digitally signed — a certified copy must be sent by post."
            ),
        ));
    } else {
        checks.push(check(
            "FILE_SIGNED",
            true,
            format!("Tệp {n} có {} chữ ký số.", sigs.len()),
            format!("File {n} carries {} signature(s).", sigs.len()),
        ));
        let all_ok = worst == Some(Indication::TotalPassed) && report.document.error.is_none();
        let s = worst_sig
            .map(|s| sub_text(s.indication, s.sub_indication))
            .unwrap_or_default();
        checks.push(check(
            "SIGNATURES_VALID",
            all_ok,
            if all_ok {
                format!("Tệp {n}: mọi chữ ký số hợp lệ.")
            } else {
                format!("Tệp {n} ({name}): chữ ký số không được xác nhận là hợp lệ ({s}) — cần gửi bản sao chứng thực qua bưu điện.")
            },
            if all_ok {
                format!("File {n}: every signature is valid.")
            } else {
                format!("File {n} ({name}): the signature could not be confirmed as valid ({s}) — a certified copy must be sent by post.")
            },
        ));
        let min = parse_level(&policy.min_level).unwrap_or(Level::BB);
        let lvl_ok = level.is_some_and(|l| l >= min);
        let got = level.map(|l| l.as_str()).unwrap_or("-");
        checks.push(check(
            "SIGNATURE_LEVEL",
            lvl_ok,
            if lvl_ok {
                format!(
                    "Tệp {n}: mức chữ ký {got} đạt mức tối thiểu {}.",
                    policy.min_level
                )
            } else {
                format!(
                    "Tệp {n}: mức chữ ký {got} thấp hơn mức tối thiểu {} của thủ tục.",
                    policy.min_level
                )
            },
            if lvl_ok {
                format!(
                    "File {n}: signature level {got} meets the minimum {}.",
                    policy.min_level
                )
            } else {
                format!(
                    "File {n}: signature level {got} is below the procedure's minimum {}.",
                    policy.min_level
                )
            },
        ));
        if policy.signer_must_match_applicant {
            checks.push(signer_check(policy, applicant, n, &sigs));
        }
    }
    let accepted = checks.iter().all(|c| c.passed);
    FileDecision {
        index,
        role: role.into(),
        name: name.into(),
        sha256: sha256.into(),
        format: report.document.format.into(),
        signatures: sigs.len(),
        indication: worst.unwrap_or(Indication::Indeterminate).as_str().into(),
        sub_indication: worst_sig
            .and_then(|s| s.sub_indication)
            .map(|s| s.as_str().into()),
        level: level.map(|l| l.as_str().into()),
        signers,
        accepted,
        checks,
    }
}

fn sub_text(i: Indication, s: Option<crate::report::SubIndication>) -> String {
    match s {
        Some(s) => format!("{}/{}", i.as_str(), s.as_str()),
        None => i.as_str().to_string(),
    }
}

fn signer_check(
    policy: &Policy,
    applicant: &Applicant,
    n: u32,
    sigs: &[&crate::report::SignatureReport],
) -> PolicyCheck {
    let who = format!("{}:{}", applicant.kind, applicant.value);
    let mut org_signed = false;
    for s in sigs {
        let Some(c) = &s.signer else { continue };
        if c.identities
            .iter()
            .any(|i| identity_matches(&i.kind, &i.value, applicant))
        {
            return check(
                "SIGNER_IS_APPLICANT",
                true,
                format!("Tệp {n}: người ký có số định danh {who} của người nộp hồ sơ."),
                format!("File {n}: the signer carries the applicant's identity {who}."),
            );
        }
        if c.identities
            .iter()
            .any(|i| i.kind == "MST" || i.kind == "MNS")
        {
            org_signed = true;
        }
    }
    if org_signed && !applicant.is_organisation() && policy.organisation_for_individual {
        return check(
            "SIGNER_IS_APPLICANT",
            true,
            format!(
                "Tệp {n}: ký bằng chứng thư số của tổ chức; thủ tục chấp nhận thay cho người nộp {who}."
            ),
            format!(
                "File {n}: signed with an organisation certificate, which the procedure accepts for applicant {who}."
            ),
        );
    }
    if org_signed && !applicant.is_organisation() {
        return check(
            "SIGNER_IS_APPLICANT",
            false,
            format!(
                "Tệp {n}: ký bằng chứng thư số của tổ chức, thủ tục không chấp nhận cho người nộp là cá nhân ({who})."
            ),
            format!(
                "File {n}: signed with an organisation certificate, which the procedure does not accept for an individual applicant ({who})."
            ),
        );
    }
    check(
        "SIGNER_IS_APPLICANT",
        false,
        format!(
            "Tệp {n}: người ký không phải người nộp hồ sơ ({who}) — chữ ký không thay được bản gốc."
        ),
        format!(
            "File {n}: the signer is not the applicant ({who}) — the signature cannot replace the original."
        ),
    )
}

/// Combine the file decisions.
pub fn decide(procedure: &str, policy_name: &str, files: Vec<FileDecision>) -> Decision {
    let mut reasons_vi = Vec::new();
    let mut reasons_en = Vec::new();
    for f in &files {
        for c in f.checks.iter().filter(|c| !c.passed) {
            reasons_vi.push(c.message_vi.clone());
            reasons_en.push(c.message_en.clone());
        }
    }
    if files.is_empty() {
        reasons_vi.push("Hồ sơ không có tệp nào.".into());
        reasons_en.push("The dossier has no file.".into());
    }
    Decision {
        accepted_in_lieu_of_originals: !files.is_empty() && files.iter().all(|f| f.accepted),
        procedure: procedure.into(),
        policy: policy_name.into(),
        reasons_vi,
        reasons_en,
        files,
    }
}
