//! A report said in plain words, for people: the verdict word, one
//! sentence saying why, names out of distinguished names, the time a
//! timestamp proves, what changed after signing. Shared by the public page
//! and the verification certificate (Phiếu kết quả), so that both say the
//! same thing.

use super::{Indication, Outcome, SignatureKind, SignatureReport};
use crate::pdf::changes::ModLevel;

/// The language of a plain sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    /// Pick the text in this language.
    pub fn t<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// The verdict in one or three words.
pub fn verdict(lang: Lang, i: Indication) -> &'static str {
    match i {
        Indication::TotalPassed => lang.t("Hợp lệ", "Valid"),
        Indication::TotalFailed => lang.t("Không hợp lệ", "Not valid"),
        Indication::Indeterminate => lang.t("Chưa xác định được", "Could not be determined"),
    }
}

/// What kind of signature it is.
pub fn kind(lang: Lang, k: SignatureKind) -> &'static str {
    match k {
        SignatureKind::PdfDocumentTimestamp => {
            lang.t("Dấu thời gian tài liệu", "Document timestamp")
        }
        SignatureKind::XmlSignature => lang.t("Chữ ký XML", "XML signature"),
        SignatureKind::Cms => lang.t("Chữ ký CMS", "CMS signature"),
        SignatureKind::Certificate => lang.t("Chứng thư số", "Certificate"),
        SignatureKind::PackageSignature => lang.t(
            "Chữ ký tài liệu Office/ODF",
            "Office/ODF document signature",
        ),
        _ => lang.t("Chữ ký", "Signature"),
    }
}

/// The one sentence that says why: for a valid signature what was proven,
/// else the first failed check's message (then the first warning).
pub fn why(lang: Lang, s: &SignatureReport) -> String {
    if s.indication == Indication::TotalPassed && s.kind == SignatureKind::Certificate {
        let root = s.chain.last().map(|r| cn_of(r)).unwrap_or_default();
        return match lang {
            Lang::Vi => format!(
                "Chứng thư số chuỗi đến tổ chức tin cậy ({root}), còn hiệu lực, không bị thu hồi và được dùng để ký tài liệu."
            ),
            Lang::En => format!(
                "The certificate chains to a trusted root ({root}), is within its validity, is not revoked and may sign documents."
            ),
        };
    }
    if s.indication == Indication::TotalPassed {
        let root = s.chain.last().map(|r| cn_of(r)).unwrap_or_default();
        return match lang {
            Lang::Vi => format!(
                "Tài liệu không bị thay đổi sau khi ký; chứng thư số của người ký được cấp bởi tổ chức tin cậy ({root}) và không bị thu hồi tại thời điểm ký."
            ),
            Lang::En => format!(
                "The document was not changed after signing; the signer's certificate chains to a trusted root ({root}) and was not revoked when it was signed."
            ),
        };
    }
    // What the reader sees is not what was signed: said first, before a
    // chain or revocation problem the same signature may also have.
    let first = s
        .checks
        .iter()
        .find(|c| c.outcome == Outcome::Failed && SAID_FIRST.contains(&c.code))
        .or_else(|| s.checks.iter().find(|c| c.outcome == Outcome::Failed))
        .or_else(|| s.checks.iter().find(|c| c.outcome == Outcome::Warning));
    match first {
        Some(c) => capitalized(lang.t(&c.message_vi, &c.message_en)),
        None => lang
            .t("Không có lý do cụ thể.", "No specific reason.")
            .to_string(),
    }
}

/// Failures that mean the document shown is not what was signed.
const SAID_FIRST: [&str; 3] = [
    "PACKAGE_PARTS_NOT_SIGNED",
    "PACKAGE_STRUCTURE_AMBIGUOUS",
    "OOXML_CONTENT_TYPE_MISMATCH",
];

/// A package signature's coverage in words: every part signed, or the
/// parts left unsigned (those the document reaches, or only properties).
pub fn package_coverage(lang: Lang, s: &SignatureReport) -> Option<String> {
    if s.kind != SignatureKind::PackageSignature {
        return None;
    }
    let parts = |code: &str| -> Option<Vec<String>> {
        s.checks
            .iter()
            .find(|c| c.code == code)
            .and_then(|c| c.evidence.get("parts"))
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
    };
    let list = |v: &[String]| {
        let mut l = v.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
        if v.len() > 10 {
            l.push_str(", …");
        }
        l
    };
    if let Some(p) = parts("PACKAGE_PARTS_NOT_SIGNED") {
        return Some(match lang {
            Lang::Vi => format!(
                "Tệp có {} phần chưa được ký: {} — nội dung hiển thị không hoàn toàn là nội dung đã ký.",
                p.len(),
                list(&p)
            ),
            Lang::En => format!(
                "{} part(s) of the file are not signed: {} — what is shown is not all what was signed.",
                p.len(),
                list(&p)
            ),
        });
    }
    if let Some(p) = parts("PACKAGE_PARTS_OUTSIDE_SIGNATURE") {
        return Some(match lang {
            Lang::Vi => format!(
                "Toàn bộ nội dung hiển thị đã được ký; {} phần thuộc tính tài liệu không được ký: {}.",
                p.len(),
                list(&p)
            ),
            Lang::En => format!(
                "Everything shown is signed; {} document-property part(s) are not: {}.",
                p.len(),
                list(&p)
            ),
        });
    }
    s.checks
        .iter()
        .any(|c| c.code == "PACKAGE_ALL_PARTS_SIGNED")
        .then(|| {
            lang.t(
                "Chữ ký bao trùm mọi phần của tệp.",
                "The signature covers every part of the file.",
            )
            .to_string()
        })
}

fn capitalized(m: &str) -> String {
    let mut cs = m.chars();
    cs.next()
        .map(|f| f.to_uppercase().chain(cs).collect())
        .unwrap_or_default()
}

/// The CN of a distinguished name as kyso prints it (`CN=…, O=…`), else the name.
pub fn cn_of(dn: &str) -> String {
    dn.split(", ")
        .find_map(|p| p.strip_prefix("CN="))
        .unwrap_or(dn)
        .to_string()
}

/// The earliest time a valid timestamp proves, else the proof of existence used.
pub fn proven_time(s: &SignatureReport) -> Option<String> {
    s.timestamps
        .iter()
        .filter(|t| t.indication == Indication::TotalPassed)
        .filter_map(|t| t.gen_time.clone())
        .min()
        .or_else(|| s.poe.clone())
}

/// The pages a check found changed after signing.
pub fn pages_changed(s: &SignatureReport) -> Vec<u64> {
    s.checks
        .iter()
        .filter(|c| c.code == "PAGES_CHANGED_AFTER_SIGNING")
        .filter_map(|c| c.evidence.get("pages"))
        .filter_map(|v| v.as_array())
        .flat_map(|a| a.iter().filter_map(|p| p.as_u64()))
        .collect()
}

/// What changed after signing, in words.
pub fn changes(lang: Lang, m: ModLevel) -> &'static str {
    match m {
        ModLevel::None => lang.t("không có", "none"),
        ModLevel::LtaUpdates => lang.t(
            "chỉ thêm dữ liệu kiểm tra và dấu thời gian",
            "validation data and timestamps only",
        ),
        ModLevel::FormFilling => lang.t("thêm chữ ký sau", "later signatures"),
        ModLevel::Annotations => lang.t("thêm ghi chú trên trang", "annotations added"),
        ModLevel::Other => lang.t("thay đổi không được phép", "changes that are not allowed"),
    }
}

/// An identity as a public answer shows it: personal numbers (CCCD, CMND,
/// passport…) masked but the last 4 characters, tax codes in full.
pub fn shown_identity(kind: &str, value: &str, mask: bool) -> String {
    if !mask || matches!(kind, "MST" | "MNS") {
        return value.to_string();
    }
    let n = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i.saturating_add(4) < n { '*' } else { c })
        .collect()
}

/// Where a revocation item came from, in words.
pub fn revocation_source(lang: Lang, s: crate::revocation::RevSource) -> &'static str {
    use crate::revocation::RevSource as R;
    match s {
        R::Cms | R::AdbeArchival | R::Dss | R::Xades => {
            lang.t("kèm trong tài liệu", "in the document")
        }
        R::Caller => lang.t("do cơ quan cung cấp", "supplied by the agency"),
        R::Online => lang.t("tải trực tuyến", "fetched online"),
        R::Cache => lang.t("bộ nhớ đệm", "cache"),
    }
}

/// The revocation items a verdict rests on, one line each: whose, what,
/// from where, the status and when it was issued.
pub fn revocation_lines(lang: Lang, s: &SignatureReport) -> Vec<String> {
    s.revocation
        .iter()
        .filter(|e| e.used)
        .take(10)
        .map(|e| {
            format!(
                "{}: {} {} ({}) — {}, {}",
                cn_of(&e.certificate),
                e.kind,
                lang.t("cập nhật", "issued"),
                revocation_source(lang, e.source),
                e.status,
                e.produced_at.as_deref().unwrap_or(&e.this_update)
            )
        })
        .collect()
}
