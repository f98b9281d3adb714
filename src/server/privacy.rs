//! Personal data in responses (Decree 13/2023/NĐ-CP): identity numbers of
//! citizens — CCCD, CMND, passport (HC), PID, social insurance (BHXH) — are
//! masked to their last four characters for every role but `auditor` and
//! `admin`; those two read every dossier and document, every read audited.
//! Other roles read only what their own key submitted or was handed.
//! Tax codes (MST, MNS) name organisations and are not masked.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::CompactFormatter as Compact;

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
/// hex digest is left alone). Text with nothing to mask is returned as it
/// is, without a copy: every string of every report passes here.
pub fn mask_text(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let mut out: Option<String> = None;
    // Bytes of `s` before this are in `out` (or replaced there).
    let mut copied = 0usize;
    let mut i = 0usize;
    // Only where a digit or a prefix's first letter starts a word can an
    // identity start: the bytes between are skipped unread (ASCII bytes are
    // never inside a multi-byte character, so each is a character boundary).
    while let Some(at) = bytes.get(i..).and_then(|b| {
        b.iter()
            .position(|b| b.is_ascii_digit() || matches!(b, b'C' | b'H' | b'P' | b'B'))
            .map(|o| o.saturating_add(i))
    }) {
        i = at.saturating_add(1);
        let prev_word = s
            .get(..at)
            .and_then(|t| t.chars().next_back())
            .is_some_and(is_word);
        if prev_word {
            continue;
        }
        let rest = s.get(at..).unwrap_or("");
        // A prefixed identity.
        let prefixed = PERSONAL.iter().find(|p| {
            rest.starts_with(**p)
                && matches!(
                    rest.as_bytes().get(p.len()),
                    Some(b':' | b'-' | b'=' | b' ')
                )
        });
        let value = prefixed.and_then(|p| {
            let start = at.saturating_add(p.len()).saturating_add(1);
            let len = s
                .get(start..)
                .unwrap_or("")
                .chars()
                .take_while(|c| is_word(*c))
                .map(char::len_utf8)
                .sum::<usize>();
            (len > 0).then(|| (start, start.saturating_add(len)))
        });
        // A standalone run of digits of an identity's length.
        let value = value.or_else(|| {
            let len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let end = at.saturating_add(len);
            let after_ok = s
                .get(end..)
                .and_then(|t| t.chars().next())
                .is_none_or(|c| !is_word(c));
            (after_ok && (len == 9 || len == 12)).then_some((at, end))
        });
        if let Some((start, end)) = value {
            let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
            o.push_str(s.get(copied..start).unwrap_or(""));
            o.push_str(&mask_value(s.get(start..end).unwrap_or("")));
            copied = end;
            i = end;
        }
    }
    match out {
        None => Cow::Borrowed(s),
        Some(mut o) => {
            o.push_str(s.get(copied..).unwrap_or(""));
            Cow::Owned(o)
        }
    }
}

/// Mask every identity number in a JSON document: `{kind, value}` objects
/// of a personal kind, and identity numbers inside any string.
pub fn mask_json(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Cow::Owned(m) = mask_text(s) {
                *s = m;
            }
        }
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
///
/// Written in one pass by [`Masking`], a JSON formatter that masks as it
/// writes (every response of every verification goes through here; going
/// through a `serde_json::Value` tree cost a tenth of the service's CPU).
/// The one case a single pass cannot do — an identity's `value` written
/// before its personal `kind` — is detected and done again the slow way.
pub fn for_role<T: Serialize>(role: &str, value: &T) -> Result<Vec<u8>, serde_json::Error> {
    if privileged(role) {
        return serde_json::to_vec(value);
    }
    let mut out = Vec::with_capacity(4096);
    let redo = std::cell::Cell::new(false);
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out,
        Masking::new(&redo),
    ))?;
    if !redo.get() {
        return Ok(out);
    }
    let mut v = serde_json::to_value(value)?;
    mask_json(&mut v);
    serde_json::to_vec(&v)
}

/// Where the formatter is: the JSON containers open around it.
enum Frame {
    Array,
    Object {
        /// The key being written or whose value is being written.
        key: String,
        in_key: bool,
        /// Its `kind` is a personal identity kind.
        personal: bool,
        /// A `value` string was written as plain text before any `kind`.
        value_written: bool,
    },
}

/// What the string being written is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InString {
    /// Outside a string, or a string written as masked text.
    Text,
    /// An object key (captured, written as it is).
    Key,
    /// The value of `kind` (captured and written).
    Kind,
    /// The value of `value` under a personal `kind` (held, then masked).
    Identity,
}

/// A compact JSON formatter applying [`mask_json`]'s rules while writing:
/// string contents through [`mask_text`] (serde_json cuts a string into
/// fragments only at escaped characters, which are never part of a word,
/// so masking fragment by fragment masks what the whole string would), and
/// `value` strings of objects whose `kind` is personal through
/// [`mask_value`].
struct Masking<'a> {
    frames: Vec<Frame>,
    string: Option<InString>,
    held: String,
    /// Set when the single pass could not mask exactly: do it the slow way.
    redo: &'a std::cell::Cell<bool>,
}

impl<'a> Masking<'a> {
    fn new(redo: &'a std::cell::Cell<bool>) -> Self {
        Masking {
            frames: Vec::new(),
            string: None,
            held: String::new(),
            redo,
        }
    }
}

impl serde_json::ser::Formatter for Masking<'_> {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.frames.push(Frame::Array);
        Compact.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.frames.pop();
        Compact.end_array(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.frames.push(Frame::Object {
            key: String::new(),
            in_key: false,
            personal: false,
            value_written: false,
        });
        Compact.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.frames.pop();
        Compact.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if let Some(Frame::Object { key, in_key, .. }) = self.frames.last_mut() {
            key.clear();
            *in_key = true;
        }
        Compact.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        if let Some(Frame::Object { in_key, .. }) = self.frames.last_mut() {
            *in_key = false;
        }
        Compact.end_object_key(w)
    }
    fn begin_string<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        let what = match self.frames.last() {
            Some(Frame::Object { in_key: true, .. }) => InString::Key,
            Some(Frame::Object { key, .. }) if key == "kind" => InString::Kind,
            Some(Frame::Object {
                key,
                personal: true,
                ..
            }) if key == "value" => InString::Identity,
            _ => InString::Text,
        };
        self.held.clear();
        self.string = Some(what);
        Compact.begin_string(w)
    }
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        match self.string.unwrap_or(InString::Text) {
            InString::Key => {
                if let Some(Frame::Object { key, .. }) = self.frames.last_mut() {
                    key.push_str(fragment);
                }
                w.write_all(fragment.as_bytes())
            }
            InString::Identity => {
                self.held.push_str(fragment);
                Ok(())
            }
            InString::Kind => {
                self.held.push_str(fragment);
                w.write_all(mask_text(fragment).as_bytes())
            }
            InString::Text => w.write_all(mask_text(fragment).as_bytes()),
        }
    }
    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        match self.string {
            // An identity with a control character or a quote: its last
            // four characters could not be written as they are.
            Some(InString::Identity) => {
                self.redo.set(true);
                Ok(())
            }
            _ => Compact.write_char_escape(w, escape),
        }
    }
    fn end_string<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        match self.string.take() {
            Some(InString::Identity) => {
                w.write_all(mask_value(&self.held).as_bytes())?;
            }
            Some(InString::Kind) => {
                let personal_kind = PERSONAL.contains(&self.held.as_str());
                if let Some(Frame::Object {
                    personal,
                    value_written,
                    ..
                }) = self.frames.last_mut()
                {
                    *personal = personal_kind;
                    if personal_kind && *value_written {
                        self.redo.set(true);
                    }
                }
            }
            Some(InString::Text) => {
                if let Some(Frame::Object {
                    key, value_written, ..
                }) = self.frames.last_mut()
                {
                    if key == "value" {
                        *value_written = true;
                    }
                }
            }
            _ => {}
        }
        Compact.end_string(w)
    }
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
        assert_eq!(mask_text("Số 001203004567."), "Số ********4567.");
        assert_eq!(mask_text("ĐCCCD:001203004567"), "ĐCCCD:********4567");
        assert_eq!(
            mask_text("HC-B1234567 và CMND=123456789"),
            "HC-****4567 và CMND=*****6789"
        );
        assert_eq!(mask_text("CCCD: "), "CCCD: ");
        assert_eq!(mask_text("1234567890123 ạ"), "1234567890123 ạ");
        assert!(matches!(mask_text("không có gì 2026"), Cow::Borrowed(_)));
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

    /// The one-pass formatter masks exactly what the tree walk masks.
    #[test]
    fn one_pass_masks_as_the_tree_walk() {
        #[derive(Serialize)]
        struct ValueFirst {
            value: String,
            kind: String,
        }
        let slow = |v: &Value| {
            let mut v = v.clone();
            mask_json(&mut v);
            v
        };
        let cases = [
            serde_json::json!({"signer": {"subject": "CN=Nguyễn Văn An,UID=CCCD:001203004567",
                "identities": [{"kind": "CCCD", "value": "001203004567", "attribute": "UID"},
                               {"kind": "HC", "value": "B1234567"}, {"kind": "MST", "value": "0100686209"},
                               {"kind": "BHXH", "value": ["0123456789"]}]},
                "notes": ["dòng\n123456789\tCMND=987654321\"", "x001203004567", 12, null, true],
                "value": "CMND:123456789", "kind": "CCCD"}),
            serde_json::json!({"kind": "CCCD", "value": "00120\n3004567"}),
            serde_json::json!([["CCCD:001203004567"], {"kind": "PID", "value": "ABCDEFG"}]),
        ];
        for c in &cases {
            let fast: Value = serde_json::from_slice(&for_role("portal", c).unwrap()).unwrap();
            assert_eq!(fast, slow(c), "{c}");
        }
        // A value before its personal kind: done again the slow way.
        let vf = ValueFirst {
            value: "C7654321".into(),
            kind: "HC".into(),
        };
        let fast: Value = serde_json::from_slice(&for_role("portal", &vf).unwrap()).unwrap();
        assert_eq!(fast["value"], "****4321");
        let redo = std::cell::Cell::new(false);
        vf.serialize(&mut serde_json::Serializer::with_formatter(
            Vec::new(),
            Masking::new(&redo),
        ))
        .unwrap();
        assert!(redo.get());
        // Privileged roles read everything as it is.
        assert_eq!(
            for_role("auditor", &cases[1]).unwrap(),
            serde_json::to_vec(&cases[1]).unwrap()
        );
    }
}
