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
        _ => lang.t("Chữ ký", "Signature"),
    }
}

/// The one sentence that says why: for a valid signature what was proven,
/// else the first failed check's message (then the first warning).
pub fn why(lang: Lang, s: &SignatureReport) -> String {
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
    let first = s
        .checks
        .iter()
        .find(|c| c.outcome == Outcome::Failed)
        .or_else(|| s.checks.iter().find(|c| c.outcome == Outcome::Warning));
    match first {
        Some(c) => capitalized(lang.t(&c.message_vi, &c.message_en)),
        None => lang
            .t("Không có lý do cụ thể.", "No specific reason.")
            .to_string(),
    }
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
