//! Personal data in responses (Decree 13/2023/NĐ-CP): identity numbers of
//! citizens — CCCD, CMND, passport (HC), PID, social insurance (BHXH) — are
//! masked to their last four characters for every role but `auditor` and
//! `admin`; those two read every dossier and document, every read audited.
//! Other roles read only what their own key submitted or was handed.
//! Tax codes (MST, MNS) name organisations and are not masked.

use serde::Serialize;
use serde_json::Value;

/// Roles that see full identity numbers and every record.
pub fn privileged(role: &str) -> bool {
    matches!(role, "auditor" | "admin")
}

/// Identity kinds that are personal data.
const PERSONAL: [&str; 5] = ["CCCD", "CMND", "HC", "PID", "BHXH"];

/// All but the last four characters replaced by `*`.
pub fn mask_value(v: &str) -> String {
    crate::report::plain::shown_identity("CCCD", v, true)
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// Mask identity numbers inside free text: a value after `CCCD:`, `CMND-`,
/// `HC=`… (any of `:`, `-`, `=`, space), and a standalone run of 9 or 12
/// digits (the CMND and CCCD shapes; a run inside a longer word such as a
/// hex digest is left alone).
pub fn mask_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0usize;
    while let Some(&c) = chars.get(i) {
        let before_ok = i == 0 || chars.get(i.wrapping_sub(1)).is_none_or(|p| !is_word(*p));
        // A prefixed identity.
        if before_ok {
            if let Some(p) = PERSONAL.iter().find(|p| {
                let pc: Vec<char> = p.chars().collect();
                chars.get(i..i.saturating_add(pc.len())) == Some(pc.as_slice())
                    && chars
                        .get(i.saturating_add(pc.len()))
                        .is_some_and(|sep| matches!(sep, ':' | '-' | '=' | ' '))
            }) {
                let start = i.saturating_add(p.len()).saturating_add(1);
                let end = (start..chars.len())
                    .find(|k| chars.get(*k).is_none_or(|c| !is_word(*c)))
                    .unwrap_or(chars.len());
                if end > start {
                    out.extend(chars.get(i..start).unwrap_or(&[]));
                    let value: String = chars.get(start..end).unwrap_or(&[]).iter().collect();
                    out.push_str(&mask_value(&value));
                    i = end;
                    continue;
                }
            }
            // A standalone run of digits of an identity's length.
            if c.is_ascii_digit() {
                let end = (i..chars.len())
                    .find(|k| chars.get(*k).is_none_or(|c| !c.is_ascii_digit()))
                    .unwrap_or(chars.len());
                let after_ok = chars.get(end).is_none_or(|c| !is_word(*c));
                let len = end.saturating_sub(i);
                if after_ok && (len == 9 || len == 12) {
                    let value: String = chars.get(i..end).unwrap_or(&[]).iter().collect();
                    out.push_str(&mask_value(&value));
                    i = end;
                    continue;
                }
            }
        }
        out.push(c);
        i = i.saturating_add(1);
    }
    out
}

/// Mask every identity number in a JSON document: `{kind, value}` objects
/// of a personal kind, and identity numbers inside any string.
pub fn mask_json(v: &mut Value) {
    match v {
        Value::String(s) => *s = mask_text(s),
        Value::Array(a) => a.iter_mut().for_each(mask_json),
        Value::Object(o) => {
            let personal = o
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| PERSONAL.contains(&k));
            for (k, x) in o.iter_mut() {
                match (k.as_str(), x) {
                    ("value", Value::String(s)) if personal => *s = mask_value(s),
                    (_, x) => mask_json(x),
                }
            }
        }
        _ => {}
    }
}

/// `value` as JSON for a caller of `role`: masked unless privileged.
pub fn for_role<T: Serialize>(role: &str, value: &T) -> Result<Vec<u8>, serde_json::Error> {
    if privileged(role) {
        return serde_json::to_vec(value);
    }
    let mut v = serde_json::to_value(value)?;
    mask_json(&mut v);
    serde_json::to_vec(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_numbers_are_masked_in_text_and_fields() {
        assert_eq!(mask_text("CCCD:001203004567"), "CCCD:********4567");
        assert_eq!(
            mask_text("CN=Nguyễn Văn An, UID=CCCD:001203004567, O=x"),
            "CN=Nguyễn Văn An, UID=CCCD:********4567, O=x"
        );
        assert_eq!(mask_text("UID=001203004567"), "UID=********4567");
        assert_eq!(mask_text("CMND 123456789 ok"), "CMND *****6789 ok");
        assert_eq!(mask_text("MST:0100686209-001"), "MST:0100686209-001");
        // Digests and dates stay.
        let hex = "a1b2c3001203004567ff";
        assert_eq!(mask_text(hex), hex);
        assert_eq!(mask_text("2026-11-01T00:00:00Z"), "2026-11-01T00:00:00Z");
        let mut v = serde_json::json!({"applicant": {"kind": "CCCD", "value": "001203004567"},
            "identities": [{"kind": "MST", "value": "0100686209"}, {"kind": "HC", "value": "C1234567"}]});
        mask_json(&mut v);
        assert_eq!(v["applicant"]["value"], "********4567");
        assert_eq!(v["identities"][0]["value"], "0100686209");
        assert_eq!(v["identities"][1]["value"], "****4567");
    }
}
