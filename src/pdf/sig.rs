//! Finding signature dictionaries (ISO 32000-1 §12.7, §12.8): AcroForm
//! fields of type /Sig with a value, walked iteratively with limits.

use std::collections::HashSet;

use super::document::{Document, XrefEntry};
use super::object::{Dict, Obj, ObjRef, PdfStr};
use crate::error::{Error, Result};

/// What the signature dictionary's /Type says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SigDictType {
    Sig,
    DocTimeStamp,
    /// No /Type (optional for /Sig).
    Absent,
    Other,
}

/// A signature dictionary as found in the file, unchecked.
#[derive(Clone, Debug)]
pub struct PdfSignature {
    pub field_name: String,
    pub dict_ref: Option<ObjRef>,
    pub dict_type: SigDictType,
    pub filter: Option<String>,
    pub sub_filter: Option<String>,
    /// /ByteRange as given; checked later.
    pub byte_range: Option<Obj>,
    pub contents: Option<Obj>,
    pub claimed_time: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub name: Option<String>,
    /// /Cert (adbe.x509.rsa_sha1 only).
    pub cert: Option<Obj>,
    /// Structural problems noticed while reading the dictionary.
    pub problems: Vec<&'static str>,
    /// For a certification signature, the DocMDP permission /P (1, 2 or 3;
    /// 2 when absent, ISO 32000-1 Table 254).
    pub doc_mdp: Option<u8>,
    /// Fields this signature locks (FieldMDP transform of its /Reference, or
    /// the field's /Lock; ISO 32000-1 Tables 233, 255).
    pub locks: Vec<FieldLock>,
    /// The permission /P of the field's lock dictionary or of a FieldMDP
    /// transform (ISO 32000-2 Table 236): after this signature, the document
    /// is locked at that level (1, 2 or 3; anything else reads as 1).
    pub lock_permission: Option<u8>,
}

/// A FieldMDP lock: which fields a signature forbids to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldLock {
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl FieldLock {
    pub fn describe(&self) -> String {
        match self {
            FieldLock::All => "ALL".into(),
            FieldLock::Include(f) => format!("INCLUDE: {}", f.join(", ")),
            FieldLock::Exclude(f) => format!("EXCLUDE: {}", f.join(", ")),
        }
    }

    pub fn locks(&self, field: &str) -> bool {
        match self {
            FieldLock::All => true,
            FieldLock::Include(f) => f.iter().any(|x| x == field),
            FieldLock::Exclude(f) => !f.iter().any(|x| x == field),
        }
    }
}

/// A FieldMDP parameter dictionary (/Action, /Fields); an unknown action locks all (fail closed).
fn field_lock(doc: &Document<'_>, d: &Dict) -> Result<FieldLock> {
    let names = || -> Result<Vec<String>> {
        Ok(
            match d.get(b"Fields").map(|f| doc.resolve(f)).transpose()? {
                Some(Obj::Array(a)) => a
                    .iter()
                    .take(10_000)
                    .filter_map(|x| match x {
                        Obj::Str(s) => Some(text_string(&s.bytes)),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            },
        )
    };
    Ok(match d.name(b"Action") {
        Some(b"Include") => FieldLock::Include(names()?),
        Some(b"Exclude") => FieldLock::Exclude(names()?),
        _ => FieldLock::All,
    })
}

/// A lock's /P (ISO 32000-2 Table 236): 1, 2 or 3; a value outside
/// reads as 1, the strictest (fail closed); absent: none.
fn lock_p(d: &Dict) -> Option<u8> {
    match d.get(b"P") {
        None => None,
        Some(Obj::Int(p @ 1..=3)) => Some(*p as u8),
        Some(_) => Some(1),
    }
}

/// The stricter of two permissions (the lower number).
fn stricter(a: Option<u8>, b: Option<u8>) -> Option<u8> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Whether a signature dictionary is a document timestamp: /Type
/// /DocTimeStamp or /SubFilter /ETSI.RFC3161 (ISO 32000-2 §12.8.5).
pub fn is_doc_timestamp(d: &Dict) -> bool {
    d.name(b"Type") == Some(b"DocTimeStamp") || d.name(b"SubFilter") == Some(b"ETSI.RFC3161")
}

impl PdfSignature {
    /// [`is_doc_timestamp`], as read into this structure.
    pub fn is_doc_timestamp(&self) -> bool {
        self.dict_type == SigDictType::DocTimeStamp
            || self.sub_filter.as_deref() == Some("ETSI.RFC3161")
    }

    /// The level this signature locks the document at, if any: its
    /// certification's DocMDP or its field lock's /P, whichever is stricter.
    pub fn permission(&self) -> Option<u8> {
        stricter(self.doc_mdp, self.lock_permission)
    }

    pub fn contents_str(&self) -> Option<&PdfStr> {
        match &self.contents {
            Some(Obj::Str(s)) => Some(s),
            _ => None,
        }
    }
}

/// Text of a PDF text string (§7.9.2.2): UTF-16BE with BOM, UTF-8 with BOM, else PDFDocEncoding (approximated by Latin-1).
pub fn text_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .filter_map(|c| <[u8; 2]>::try_from(c).ok())
            .map(u16::from_be_bytes)
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    bytes.iter().map(|b| char::from(*b)).collect()
}

fn obj_text(o: Option<&Obj>) -> Option<String> {
    match o {
        Some(Obj::Str(s)) => Some(text_string(&s.bytes)),
        Some(Obj::Name(n)) => Some(String::from_utf8_lossy(n).into_owned()),
        _ => None,
    }
}

/// All signature fields with a value, in field-tree order.
pub fn find_signatures(doc: &Document<'_>) -> Result<Vec<PdfSignature>> {
    let catalog = doc.catalog()?;
    let Some(acro) = catalog.get(b"AcroForm") else {
        return Ok(Vec::new());
    };
    let Some(acro) = doc.resolve_dict(acro)? else {
        return Ok(Vec::new());
    };
    let fields = match acro.get(b"Fields").map(|f| doc.resolve(f)).transpose()? {
        Some(Obj::Array(a)) => a,
        _ => return Ok(Vec::new()),
    };
    let max_fields = doc.limits.max_fields;
    let max_sigs = doc.limits.max_signatures;
    let mut out = Vec::new();
    let mut seen: HashSet<ObjRef> = HashSet::new();
    // (field object, parent's full name, inherited /FT, depth)
    let mut stack: Vec<(Obj, String, Option<Vec<u8>>, usize)> = fields
        .into_iter()
        .rev()
        .map(|f| (f, String::new(), None, 0))
        .collect();
    let mut walked = 0usize;
    while let Some((fobj, parent, inherited_ft, depth)) = stack.pop() {
        walked = walked.saturating_add(1);
        if walked > max_fields {
            return Err(Error::limit("max_fields", walked, max_fields));
        }
        if depth > 32 {
            return Err(Error::limit("field_tree_depth", depth, 32));
        }
        if let Obj::Ref(r) = fobj {
            if !seen.insert(r) {
                continue; // a field reached twice (cycle or shared kid)
            }
        }
        let Some(field) = doc.resolve_dict(&fobj)? else {
            continue;
        };
        let partial = obj_text(field.get(b"T"));
        let full = match (&partial, parent.is_empty()) {
            (Some(p), true) => p.clone(),
            (Some(p), false) => format!("{parent}.{p}"),
            (None, _) => parent.clone(),
        };
        let ft = field.name(b"FT").map(|n| n.to_vec()).or(inherited_ft);
        if let Some(Obj::Array(kids)) = field.get(b"Kids").map(|k| doc.resolve(k)).transpose()? {
            for k in kids.into_iter().rev() {
                stack.push((k, full.clone(), ft.clone(), depth.saturating_add(1)));
            }
        }
        if ft.as_deref() != Some(b"Sig") {
            continue;
        }
        let Some(v) = field.get(b"V") else {
            continue;
        };
        if out.len() >= max_sigs {
            return Err(Error::limit(
                "max_signatures",
                out.len().saturating_add(1),
                max_sigs,
            ));
        }
        let mut sig = read_signature_dict(doc, v, full)?;
        if let Some(lock) = field
            .get(b"Lock")
            .map(|l| doc.resolve_dict(l))
            .transpose()?
            .flatten()
        {
            sig.lock_permission = stricter(sig.lock_permission, lock_p(&lock));
            let lock = field_lock(doc, &lock)?;
            if !sig.locks.contains(&lock) {
                sig.locks.push(lock);
            }
        }
        out.push(sig);
    }
    Ok(out)
}

fn read_signature_dict(doc: &Document<'_>, v: &Obj, field_name: String) -> Result<PdfSignature> {
    let mut problems = Vec::new();
    let dict_ref = match v {
        Obj::Ref(r) => Some(*r),
        _ => None,
    };
    if let Some(r) = dict_ref {
        if matches!(doc.xref_entry(r.num), Some(XrefEntry::InStream { .. })) {
            problems.push("SIG_DICT_IN_OBJECT_STREAM");
        }
    } else {
        problems.push("SIG_DICT_DIRECT");
    }
    let dict: Dict = match doc.resolve(v)? {
        Obj::Dict(d) => d,
        _ => {
            problems.push("SIG_VALUE_NOT_A_DICTIONARY");
            Dict::default()
        }
    };
    if dict.has_duplicate_keys() {
        problems.push("SIG_DICT_DUPLICATE_KEYS");
    }
    let dict_type = match dict.name(b"Type") {
        Some(b"Sig") => SigDictType::Sig,
        Some(b"DocTimeStamp") => SigDictType::DocTimeStamp,
        None => SigDictType::Absent,
        Some(_) => SigDictType::Other,
    };
    // ByteRange and Contents must be direct (they are patched in place).
    let byte_range = dict.get(b"ByteRange").cloned();
    let contents = dict.get(b"Contents").cloned();
    if matches!(byte_range, Some(Obj::Ref(_))) || matches!(contents, Some(Obj::Ref(_))) {
        problems.push("SIG_INDIRECT_BYTERANGE_OR_CONTENTS");
    }
    let name_of = |k: &[u8]| {
        dict.name(k)
            .map(|n| String::from_utf8_lossy(n).into_owned())
    };
    let (doc_mdp, locks, lock_permission) = references(doc, &dict)?;
    Ok(PdfSignature {
        field_name,
        dict_ref,
        dict_type,
        filter: name_of(b"Filter"),
        sub_filter: name_of(b"SubFilter"),
        byte_range,
        contents,
        claimed_time: obj_text(dict.get(b"M")),
        reason: obj_text(dict.get(b"Reason")),
        location: obj_text(dict.get(b"Location")),
        name: obj_text(dict.get(b"Name")),
        cert: dict.get(b"Cert").cloned(),
        doc_mdp,
        locks,
        lock_permission,
        problems,
    })
}

/// The transforms of a signature dictionary's /Reference (ISO 32000-1
/// §12.8.2): the DocMDP permission /P, if any (2 when absent; a /P outside
/// 1..=3 reads as 1, the strictest), the FieldMDP locks and their /P.
#[allow(clippy::type_complexity)]
fn references(doc: &Document<'_>, dict: &Dict) -> Result<(Option<u8>, Vec<FieldLock>, Option<u8>)> {
    let (mut doc_mdp, mut locks, mut lock_permission) = (None, Vec::new(), None);
    let Some(Obj::Array(refs)) = dict.get(b"Reference").map(|r| doc.resolve(r)).transpose()? else {
        return Ok((doc_mdp, locks, lock_permission));
    };
    for r in refs.iter().take(16) {
        let Some(sr) = doc.resolve_dict(r)? else {
            continue;
        };
        let params = sr
            .get(b"TransformParams")
            .map(|t| doc.resolve_dict(t))
            .transpose()?
            .flatten();
        match sr.name(b"TransformMethod") {
            Some(b"DocMDP") if doc_mdp.is_none() => {
                // /P absent: 2 (ISO 32000-1 Table 254).
                doc_mdp = Some(params.as_ref().and_then(lock_p).unwrap_or(2));
            }
            Some(b"FieldMDP") => {
                lock_permission = stricter(lock_permission, params.as_ref().and_then(lock_p));
                locks.push(match &params {
                    Some(tp) => field_lock(doc, tp)?,
                    None => FieldLock::All,
                })
            }
            _ => {}
        }
    }
    Ok((doc_mdp, locks, lock_permission))
}
