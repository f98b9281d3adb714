//! PAdES signing by incremental update: the original bytes stay untouched;
//! a new revision adds the signature field (a widget on the first page, or on
//! the page asked), the signature dictionary with a `/Contents` placeholder,
//! and the catalog, page and form objects it had to change. Then the
//! `/ByteRange` is patched, the ranges hashed, the CAdES SignedData made by
//! the key backend, and its hex written into the placeholder.

pub mod cms;
pub mod keys;
pub mod pkcs11;
pub mod seal;
pub mod tsa;

use crate::error::{Error, Limits, Result};
use crate::pdf::document::{Document, XrefKind};
use crate::pdf::object::{Dict, Obj, ObjRef, PdfStr};
use crate::pdf::source::MemSource;
use cms::Digest;
use keys::KeySigner;

/// What to sign and how.
#[derive(Clone, Debug)]
pub struct SignOptions {
    /// Name of the new signature field.
    pub field: String,
    pub digest: Digest,
    /// Signing time for `/M` (Unix seconds); shown with the +07:00 zone.
    pub time: i64,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// 1-based page of the widget (invisible: an empty rectangle).
    pub page: usize,
    /// A certification signature with this DocMDP permission: 1 no changes,
    /// 2 form filling and signing, 3 also annotations. Must be the first signature.
    pub certify: Option<u8>,
    /// A visible seal; without it the signature is invisible.
    pub seal: Option<seal::Seal>,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            field: "Signature1".into(),
            digest: Digest::Sha256,
            time: 0,
            reason: None,
            location: None,
            page: 1,
            certify: None,
            seal: None,
        }
    }
}

/// Unix seconds as Vietnam time: (year, month, day, hour, minute, second).
pub fn vn_time(t: i64) -> (i32, u8, u8, u8, u8, u8) {
    let off = time::UtcOffset::from_hms(7, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let d = time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(off);
    (
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
    )
}

/// `D:YYYYMMDDHHmmSS+07'00'` (Vietnam time) for a PDF date string.
pub fn pdf_date(t: i64) -> String {
    let (y, mo, d, h, mi, s) = vn_time(t);
    format!("D:{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}+07'00'")
}

/// The document to sign, with errors worded for signing.
fn open_pdf<'s>(src: &'s MemSource<'s>) -> Result<Document<'s>> {
    Document::open(src, Limits::default()).map_err(|e| match e {
        Error::UnknownFormat(w) => Error::Invalid(format!("not a PDF: {w}")),
        e => e,
    })
}

// ------------------------------------------------------------ object writer

fn write_name(n: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &b in n {
        let regular = b.is_ascii_graphic()
            && !matches!(
                b,
                b'#' | b'/' | b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'%'
            );
        if regular {
            out.push(b);
        } else {
            out.extend_from_slice(format!("#{b:02X}").as_bytes());
        }
    }
}

fn write_literal(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'(');
    for &b in s {
        match b {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
        }
    }
    out.push(b')');
}

/// A PDF text string: ASCII as is, anything else as UTF-16BE with a BOM.
fn text_string(s: &str) -> Vec<u8> {
    if s.is_ascii() {
        return s.as_bytes().to_vec();
    }
    let mut v = vec![0xfe, 0xff];
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_be_bytes());
    }
    v
}

/// A real as the shortest decimal that reads back as the same value, and
/// still as a real: an object copied from the document (a page's
/// `/MediaBox [0.0 0.0 595.0 842.0]`) is written back unchanged.
fn write_real(r: f64, out: &mut Vec<u8>) {
    let r = if r.is_finite() { r } else { 0.0 };
    let s = format!("{r}");
    out.extend_from_slice(s.as_bytes());
    if !s.contains('.') {
        out.extend_from_slice(b".0");
    }
}

/// Serialise a direct object (streams cannot be rewritten here).
pub fn write_obj(o: &Obj, out: &mut Vec<u8>) -> Result<()> {
    match o {
        Obj::Null => out.extend_from_slice(b"null"),
        Obj::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Obj::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Obj::Real(r) => write_real(*r, out),
        Obj::Str(s) if s.hex => {
            out.push(b'<');
            out.extend_from_slice(hex::encode(&s.bytes[..]).as_bytes());
            out.push(b'>');
        }
        Obj::Str(s) => write_literal(&s.bytes, out),
        Obj::Name(n) => write_name(n, out),
        Obj::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_obj(x, out)?;
            }
            out.push(b']');
        }
        Obj::Dict(d) => write_dict(d, out)?,
        Obj::Ref(r) => out.extend_from_slice(format!("{} {} R", r.num, r.generation).as_bytes()),
        Obj::Stream(_) => {
            return Err(Error::Unsupported(
                "a stream cannot be rewritten in a signing update".into(),
            ));
        }
    }
    Ok(())
}

fn write_dict(d: &Dict, out: &mut Vec<u8>) -> Result<()> {
    out.extend_from_slice(b"<<");
    for (k, v) in &d.0 {
        write_name(k, out);
        out.push(b' ');
        write_obj(v, out)?;
    }
    out.extend_from_slice(b">>");
    Ok(())
}

fn set(d: &mut Dict, key: &[u8], v: Obj) {
    d.0.retain(|(k, _)| k != key);
    d.0.push((key.to_vec(), v));
}

fn name(n: &str) -> Obj {
    Obj::Name(n.as_bytes().to_vec())
}

fn string(b: &[u8]) -> Obj {
    Obj::Str(PdfStr {
        bytes: b.into(),
        hex: false,
        start: 0,
        end: 0,
    })
}

fn r(num: u32) -> Obj {
    Obj::Ref(ObjRef { num, generation: 0 })
}

// ------------------------------------------------------------ the update

/// Widths of the placeholders patched after layout.
const BYTE_RANGE_PLACEHOLDER: &str = "[0 0000000000 0000000000 0000000000]";

/// Where the document keeps its interactive form dictionary.
enum FormAt {
    /// An indirect object of its own.
    Object(ObjRef),
    /// A direct dictionary in the catalog.
    InCatalog,
    /// The document has no form yet.
    Nowhere,
}

struct Layout {
    doc: Vec<u8>,
    /// Offsets of the `<` and just after the `>` of /Contents.
    contents: (usize, usize),
    /// Offset of the ByteRange placeholder.
    byte_range_at: usize,
}

fn first_page(doc: &Document, want: usize) -> Result<(ObjRef, Dict)> {
    let cat = doc.catalog()?;
    let mut node = match cat.get(b"Pages") {
        Some(Obj::Ref(r)) => *r,
        _ => return Err(Error::pdf(0, "catalog has no /Pages reference")),
    };
    // Walk down the page tree to page `want` (1-based), bounded.
    let mut skip = want.saturating_sub(1);
    for _ in 0..64 {
        let d = doc
            .resolve_ref(node)?
            .as_dict()
            .cloned()
            .ok_or(Error::pdf(0, "page tree node is not a dictionary"))?;
        // A node typed as something else (a signature dictionary the page
        // tree was pointed at, say) is no page to put a widget on: writing
        // /Annots into it would alter an earlier signature's objects.
        if let Some(t) = d
            .name(b"Type")
            .filter(|t| !matches!(*t, b"Page" | b"Pages"))
        {
            return Err(Error::Invalid(format!(
                "the page tree is broken: it reaches a /{} object, not a page",
                String::from_utf8_lossy(t)
            )));
        }
        if d.name(b"Type") == Some(b"Page") || d.get(b"Kids").is_none() {
            if skip == 0 {
                return Ok((node, d));
            }
            return Err(Error::Invalid(format!("the document has no page {want}")));
        }
        let kids = match doc.resolve(d.get(b"Kids").unwrap_or(&Obj::Null))? {
            Obj::Array(a) => a,
            _ => return Err(Error::pdf(0, "/Kids is not an array")),
        };
        let mut next = None;
        for k in kids {
            let Obj::Ref(kr) = k else { continue };
            let kd = doc.resolve_ref(kr)?;
            let count = kd
                .as_dict()
                .and_then(|x| x.int(b"Count"))
                .filter(|c| *c > 0)
                .unwrap_or(1) as usize;
            let is_leaf = kd.as_dict().and_then(|x| x.name(b"Type")) == Some(b"Page");
            let n = if is_leaf { 1 } else { count };
            if skip < n {
                next = Some(kr);
                break;
            }
            skip -= n;
        }
        node = next.ok_or_else(|| Error::Invalid(format!("the document has no page {want}")))?;
    }
    Err(Error::pdf(0, "page tree too deep"))
}

fn field_names(doc: &Document, fields: &[Obj]) -> Vec<Vec<u8>> {
    fields
        .iter()
        .filter_map(|f| doc.resolve(f).ok())
        .filter_map(|f| match f.as_dict().and_then(|d| d.get(b"T")) {
            Some(Obj::Str(s)) => Some(s.bytes.to_vec()),
            _ => None,
        })
        .collect()
}

/// Refuse a signature that an earlier one forbids: a certification with
/// DocMDP P=1 or a field lock with /P 1 allows no later signature; with P=2
/// or 3, a new *visible* signature is what kyso's own verifier refuses after
/// certification (its appearance could cover certified content). Document
/// timestamps and validation data stay allowed (ISO 32000-2 §12.8.2.2).
fn refuse_if_locked(doc: &Document, visible: bool) -> Result<()> {
    for s in crate::pdf::sig::find_signatures(doc)? {
        let by = if s.doc_mdp.is_some() && s.doc_mdp == s.permission() {
            format!(
                "the certification signature in field '{}' (DocMDP P={})",
                s.field_name,
                s.doc_mdp.unwrap_or(1)
            )
        } else {
            format!(
                "the field lock of signature '{}' (/P {})",
                s.field_name,
                s.permission().unwrap_or(1)
            )
        };
        match s.permission() {
            Some(1) => {
                return Err(Error::Invalid(format!(
                    "{by} allows no further changes: signing again would invalidate it"
                )));
            }
            Some(2 | 3) if visible => {
                return Err(Error::Invalid(format!(
                    "{by} allows later signatures only in fields prepared before it: sign invisibly (without --seal) or in a prepared field"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Lay out the incremental update with a `/Contents` placeholder of `reserve` bytes.
fn layout(input: &[u8], opts: &SignOptions, reserve: usize, doc_timestamp: bool) -> Result<Layout> {
    let src = MemSource(input);
    let doc = open_pdf(&src)?;
    if doc.encrypted {
        return Err(Error::Unsupported(
            "encrypted documents cannot be signed".into(),
        ));
    }
    let root = match doc.trailer.get(b"Root") {
        Some(Obj::Ref(r)) => *r,
        _ => return Err(Error::pdf(0, "trailer /Root is not a reference")),
    };
    if !doc_timestamp {
        refuse_if_locked(&doc, opts.seal.is_some())?;
    }
    let mut catalog = doc.catalog()?;
    let (page_ref, mut page) = first_page(&doc, opts.page.max(1))?;
    let size = doc
        .trailer
        .int(b"Size")
        .filter(|s| *s > 0 && *s < i64::from(u32::MAX) - 16)
        .ok_or(Error::pdf(0, "trailer /Size missing"))? as u32;
    // New objects go above every number in use or referred to: a number an
    // earlier revision refers to without defining would, once defined,
    // change what that signed revision shows.
    let size = size.max(crate::pdf::changes::first_unused_number(&doc)?);
    if size >= u32::MAX - 16 {
        return Err(Error::pdf(0, "object numbers exhausted"));
    }
    let (sig_num, field_num) = (size, size + 1);
    let mut next = size + 2;
    // (ref, serialised object) of every object this update writes.
    let mut objects: Vec<(ObjRef, Vec<u8>)> = Vec::new();

    // The form: existing or new. Where it is stays as it is — a direct
    // dictionary in the catalog stays direct, an indirect /Fields array is
    // rewritten as the same object — so that the update changes only what
    // signing needs (a validator that compares objects sees one field added).
    let field_name = opts.field.as_bytes();
    let (acro_at, mut acro) = match catalog.get(b"AcroForm") {
        Some(Obj::Ref(r)) => (
            FormAt::Object(*r),
            doc.resolve_ref(*r)?
                .as_dict()
                .cloned()
                .ok_or(Error::pdf(0, "/AcroForm is not a dictionary"))?,
        ),
        Some(Obj::Dict(d)) => (FormAt::InCatalog, d.clone()),
        _ => (FormAt::Nowhere, Dict::default()),
    };
    let fields_ref = match acro.get(b"Fields") {
        Some(Obj::Ref(r)) => Some(*r),
        _ => None,
    };
    let mut fields = match acro.get(b"Fields") {
        Some(o) => match doc.resolve(o)? {
            Obj::Array(a) => a,
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    let existing = field_names(&doc, &fields);
    // A document timestamp takes the first free DocTimeStampN.
    let field_text = if doc_timestamp {
        (1..1000)
            .map(|i| format!("DocTimeStamp{i}"))
            .find(|n| !existing.iter().any(|e| e == n.as_bytes()))
            .ok_or_else(|| Error::Invalid("too many document timestamps".into()))?
    } else if existing.iter().any(|n| n == field_name) {
        return Err(Error::Invalid(format!(
            "the document already has a field named {}",
            opts.field
        )));
    } else {
        opts.field.clone()
    };
    fields.push(r(field_num));
    let signed_before = fields.iter().filter_map(|f| doc.resolve(f).ok()).any(|f| {
        f.as_dict()
            .is_some_and(|d| d.name(b"FT") == Some(b"Sig") && d.get(b"V").is_some())
    });
    match fields_ref {
        Some(fr) => {
            let mut o = Vec::new();
            write_obj(&Obj::Array(fields), &mut o)?;
            objects.push((fr, o));
        }
        None => set(&mut acro, b"Fields", Obj::Array(fields)),
    }
    if acro.int(b"SigFlags") != Some(3) {
        set(&mut acro, b"SigFlags", Obj::Int(3));
    }
    let certify = if doc_timestamp { None } else { opts.certify };
    if let Some(p) = certify {
        if !(1..=3).contains(&p) {
            return Err(Error::Invalid(format!(
                "DocMDP permission {p} is not 1, 2 or 3"
            )));
        }
        if signed_before {
            return Err(Error::Invalid(
                "a certification signature must be the document's first signature".into(),
            ));
        }
        // The catalog's /Perms names the certification signature.
        let mut perms = Dict::default();
        set(&mut perms, b"DocMDP", r(sig_num));
        set(&mut catalog, b"Perms", Obj::Dict(perms));
    }
    let mut catalog_changed = certify.is_some();
    match acro_at {
        FormAt::Object(ar) => {
            let mut o = Vec::new();
            write_dict(&acro, &mut o)?;
            objects.push((ar, o));
        }
        FormAt::InCatalog => {
            set(&mut catalog, b"AcroForm", Obj::Dict(acro));
            catalog_changed = true;
        }
        FormAt::Nowhere => {
            let ar = ObjRef {
                num: next,
                generation: 0,
            };
            next += 1;
            let mut o = Vec::new();
            write_dict(&acro, &mut o)?;
            objects.push((ar, o));
            set(&mut catalog, b"AcroForm", Obj::Ref(ar));
            catalog_changed = true;
        }
    }
    if catalog_changed {
        let mut c = Vec::new();
        write_dict(&catalog, &mut c)?;
        objects.push((root, c));
    }

    // The page's /Annots gains the widget.
    match page.get(b"Annots").cloned() {
        Some(Obj::Ref(ar)) => {
            let mut a = match doc.resolve_ref(ar)? {
                Obj::Array(a) => a,
                _ => Vec::new(),
            };
            a.push(r(field_num));
            let mut o = Vec::new();
            write_obj(&Obj::Array(a), &mut o)?;
            objects.push((ar, o));
        }
        Some(Obj::Array(mut a)) => {
            a.push(r(field_num));
            set(&mut page, b"Annots", Obj::Array(a));
            let mut o = Vec::new();
            write_dict(&page, &mut o)?;
            objects.push((page_ref, o));
        }
        _ => {
            set(&mut page, b"Annots", Obj::Array(vec![r(field_num)]));
            let mut o = Vec::new();
            write_dict(&page, &mut o)?;
            objects.push((page_ref, o));
        }
    }

    // The seal's appearance and its resources.
    let mut appearance = None;
    if let (Some(seal), false) = (&opts.seal, doc_timestamp) {
        let (objs, ap) = seal::objects(seal, next)?;
        next += objs.len() as u32;
        for (num, body) in objs {
            objects.push((ObjRef { num, generation: 0 }, body));
        }
        appearance = Some((ap, seal.rect));
    }

    // The field, merged with its widget (invisible: empty rectangle, print flag).
    let mut field = Dict::default();
    set(&mut field, b"Type", name("Annot"));
    set(&mut field, b"Subtype", name("Widget"));
    set(&mut field, b"FT", name("Sig"));
    set(&mut field, b"T", string(&text_string(&field_text)));
    set(&mut field, b"V", r(sig_num));
    match appearance {
        Some((ap, [x, y, w, h])) => {
            set(
                &mut field,
                b"Rect",
                Obj::Array(vec![
                    Obj::Real(x),
                    Obj::Real(y),
                    Obj::Real(x + w),
                    Obj::Real(y + h),
                ]),
            );
            set(&mut field, b"F", Obj::Int(4));
            let mut apd = Dict::default();
            set(&mut apd, b"N", r(ap));
            set(&mut field, b"AP", Obj::Dict(apd));
        }
        None => {
            set(
                &mut field,
                b"Rect",
                Obj::Array(vec![Obj::Int(0), Obj::Int(0), Obj::Int(0), Obj::Int(0)]),
            );
            set(&mut field, b"F", Obj::Int(132));
        }
    }
    set(&mut field, b"P", Obj::Ref(page_ref));
    let mut fo = Vec::new();
    write_dict(&field, &mut fo)?;
    objects.push((
        ObjRef {
            num: field_num,
            generation: 0,
        },
        fo,
    ));

    // The signature dictionary, written by hand for its placeholders.
    let mut sig = Vec::new();
    if doc_timestamp {
        sig.extend_from_slice(b"<</Type/DocTimeStamp/Filter/Adobe.PPKLite/SubFilter/ETSI.RFC3161");
    } else {
        sig.extend_from_slice(b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached");
        sig.extend_from_slice(b"/M");
        write_literal(pdf_date(opts.time).as_bytes(), &mut sig);
        if let Some(x) = &opts.reason {
            sig.extend_from_slice(b"/Reason");
            write_literal(&text_string(x), &mut sig);
        }
        if let Some(x) = &opts.location {
            sig.extend_from_slice(b"/Location");
            write_literal(&text_string(x), &mut sig);
        }
        if let Some(p) = certify {
            sig.extend_from_slice(
                format!(
                    "/Reference[<</Type/SigRef/TransformMethod/DocMDP/TransformParams<</Type/TransformParams/P {p}/V/1.2>>>>]"
                )
                .as_bytes(),
            );
        }
    }
    sig.extend_from_slice(b"/ByteRange");
    let br_in_sig = sig.len();
    sig.extend_from_slice(BYTE_RANGE_PLACEHOLDER.as_bytes());
    sig.extend_from_slice(b"/Contents");
    let contents_in_sig = sig.len();
    sig.push(b'<');
    sig.extend(std::iter::repeat_n(b'0', reserve * 2));
    sig.push(b'>');
    sig.extend_from_slice(b">>");
    let sig_ref = ObjRef {
        num: sig_num,
        generation: 0,
    };
    objects.push((sig_ref, sig));
    let (out, offsets) = write_update(input, &doc, root, objects, next)?;
    let at = offsets
        .iter()
        .find(|(r, _)| *r == sig_ref)
        .map(|(_, o)| *o)
        .ok_or(Error::Invalid("signature object not written".into()))?;
    let body = at + format!("{} 0 obj\n", sig_num).len();
    Ok(Layout {
        doc: out,
        contents: (
            body + contents_in_sig,
            body + contents_in_sig + reserve * 2 + 2,
        ),
        byte_range_at: body + br_in_sig,
    })
}

/// Where each written object starts.
type Offsets = Vec<(ObjRef, usize)>;

/// A laid-out document, where its /Contents placeholder lies, and the digest of the covered bytes.
type Hashed = (Vec<u8>, (usize, usize), Vec<u8>);

/// Append one incremental update holding `objects` (serialised bodies, a
/// stream's with its data) and a cross-reference section of the kind the
/// document already uses. `next` is the first unused object number.
/// Returns the new file and where each object starts.
fn write_update(
    input: &[u8],
    doc: &Document,
    root: ObjRef,
    mut objects: Vec<(ObjRef, Vec<u8>)>,
    next: u32,
) -> Result<(Vec<u8>, Offsets)> {
    let mut out = input.to_vec();
    if !out.ends_with(b"\n") && !out.ends_with(b"\r") {
        out.push(b'\n');
    }
    let mut offsets: Vec<(ObjRef, usize)> = Vec::new();
    objects.sort_by_key(|(r, _)| r.num);
    for (oref, body) in &objects {
        offsets.push((*oref, out.len()));
        out.extend_from_slice(format!("{} {} obj\n", oref.num, oref.generation).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let prev = doc
        .sections
        .first()
        .map(|s| s.offset)
        .ok_or(Error::pdf(0, "no cross-reference section"))?;
    let kind = doc
        .sections
        .first()
        .map(|s| s.kind)
        .unwrap_or(XrefKind::Table);
    let mut trailer = Dict::default();
    set(&mut trailer, b"Root", Obj::Ref(root));
    if let Some(info) = doc.trailer.get(b"Info") {
        set(&mut trailer, b"Info", info.clone());
    }
    if let Some(Obj::Array(id)) = doc.trailer.get(b"ID")
        && let Some(first) = id.first()
    {
        let fresh = openssl::sha::sha256(&out[out.len().saturating_sub(4096)..]);
        set(
            &mut trailer,
            b"ID",
            Obj::Array(vec![
                first.clone(),
                Obj::Str(PdfStr {
                    bytes: fresh[..16].into(),
                    hex: true,
                    start: 0,
                    end: 0,
                }),
            ]),
        );
    }
    set(&mut trailer, b"Prev", Obj::Int(prev as i64));
    let xref_at = out.len();
    match kind {
        XrefKind::Table => {
            set(&mut trailer, b"Size", Obj::Int(i64::from(next)));
            out.extend_from_slice(b"xref\n");
            for run in runs(&offsets) {
                out.extend_from_slice(format!("{} {}\n", run[0].0.num, run.len()).as_bytes());
                for (oref, off) in run {
                    out.extend_from_slice(
                        format!("{off:010} {:05} n\r\n", oref.generation).as_bytes(),
                    );
                }
            }
            out.extend_from_slice(b"trailer\n");
            write_dict(&trailer, &mut out)?;
            out.push(b'\n');
        }
        XrefKind::Stream => {
            let xnum = next;
            let mut all = offsets.clone();
            all.push((
                ObjRef {
                    num: xnum,
                    generation: 0,
                },
                xref_at,
            ));
            set(&mut trailer, b"Size", Obj::Int(i64::from(xnum) + 1));
            set(&mut trailer, b"Type", name("XRef"));
            set(
                &mut trailer,
                b"W",
                Obj::Array(vec![Obj::Int(1), Obj::Int(4), Obj::Int(2)]),
            );
            let mut index = Vec::new();
            let mut data = Vec::new();
            for run in runs(&all) {
                index.push(Obj::Int(i64::from(run[0].0.num)));
                index.push(Obj::Int(run.len() as i64));
                for (oref, off) in run {
                    let off = u32::try_from(off)
                        .map_err(|_| Error::limit("signable document size", off, u32::MAX))?;
                    data.push(1u8);
                    data.extend_from_slice(&off.to_be_bytes());
                    data.extend_from_slice(&oref.generation.to_be_bytes());
                }
            }
            set(&mut trailer, b"Index", Obj::Array(index));
            set(&mut trailer, b"Length", Obj::Int(data.len() as i64));
            out.extend_from_slice(format!("{xnum} 0 obj\n").as_bytes());
            write_dict(&trailer, &mut out)?;
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\nendstream\nendobj\n");
        }
    }
    out.extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
    if u32::try_from(out.len()).is_err() {
        return Err(Error::limit("signable document size", out.len(), u32::MAX));
    }
    Ok((out, offsets))
}

/// Runs of consecutive object numbers.
fn runs(offsets: &[(ObjRef, usize)]) -> Vec<Vec<(ObjRef, usize)>> {
    let mut sorted = offsets.to_vec();
    sorted.sort_by_key(|(r, _)| r.num);
    let mut out: Vec<Vec<(ObjRef, usize)>> = Vec::new();
    for e in sorted {
        match out.last_mut() {
            Some(run) if run.last().is_some_and(|l| l.0.num + 1 == e.0.num) => run.push(e),
            _ => out.push(vec![e]),
        }
    }
    out
}

/// A prepared signature: the document with its ByteRange set, and the
/// digest of the signed attributes' DER that the key must sign.
pub struct Prepared {
    doc: Vec<u8>,
    contents: (usize, usize),
    /// DER SET of the signed attributes.
    pub signed_attrs: Vec<u8>,
    pub digest: Digest,
}

impl Prepared {
    /// Size of the laid-out document it holds.
    pub fn doc_len(&self) -> usize {
        self.doc.len()
    }
    /// Take the laid-out document out (to keep it elsewhere while waiting).
    pub fn take_doc(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.doc)
    }
    /// Put the laid-out document back before [`finish`].
    pub fn put_doc(&mut self, doc: Vec<u8>) {
        self.doc = doc;
    }
    /// Where the signature goes in the laid-out document (start, end).
    pub fn contents(&self) -> (usize, usize) {
        self.contents
    }
    /// A prepared signature kept elsewhere (a shared store) and read back:
    /// [`finish`] checks the placeholder is where `contents` says.
    pub fn from_parts(
        doc: Vec<u8>,
        contents: (usize, usize),
        signed_attrs: Vec<u8>,
        digest: Digest,
    ) -> Prepared {
        Prepared {
            doc,
            contents,
            signed_attrs,
            digest,
        }
    }
}

/// Lay out the update and compute what is to be signed. `extra` is room
/// for unsigned attributes (a signature timestamp).
pub fn prepare(
    input: &[u8],
    signer_cert: &openssl::x509::X509,
    chain: &[openssl::x509::X509],
    opts: &SignOptions,
    extra: usize,
) -> Result<Prepared> {
    // Room for the SignedData: its certificates, the attributes (~300 bytes
    // plus the issuer name), a signature of up to 1024 bytes (RSA 8192), margin.
    let mut certs = signer_cert.to_der()?.len();
    for c in chain {
        certs += c.to_der()?.len();
    }
    let reserve = certs + 2 * signer_cert.issuer_name().to_der()?.len() + 2048 + extra;
    let (doc, contents, md) = lay_out_and_hash(input, opts, reserve, false)?;
    let signed_attrs = cms::signed_attributes(opts.digest, &md, signer_cert)?;
    Ok(Prepared {
        doc,
        contents,
        signed_attrs,
        digest: opts.digest,
    })
}

/// Lay out, patch the ByteRange, hash the covered bytes.
fn lay_out_and_hash(
    input: &[u8],
    opts: &SignOptions,
    reserve: usize,
    doc_timestamp: bool,
) -> Result<Hashed> {
    let mut l = layout(input, opts, reserve, doc_timestamp)?;
    let (c0, c1) = l.contents;
    let total = l.doc.len();
    let br = format!("[0 {c0} {c1} {}]", total - c1);
    let width = BYTE_RANGE_PLACEHOLDER.len();
    if br.len() > width {
        return Err(Error::limit("byte range width", br.len(), width));
    }
    let padded = format!("{br:<width$}");
    l.doc[l.byte_range_at..l.byte_range_at + width].copy_from_slice(padded.as_bytes());
    let mut h = openssl::hash::Hasher::new(opts.digest.md())?;
    h.update(&l.doc[..c0])?;
    h.update(&l.doc[c1..])?;
    let md = h.finish()?.to_vec();
    Ok((l.doc, l.contents, md))
}

fn fill_contents(mut doc: Vec<u8>, contents: (usize, usize), der: &[u8]) -> Result<Vec<u8>> {
    // A prepared signature may have been kept outside (a shared store):
    // its placeholder is checked, not trusted.
    let bad = || Error::Invalid("the signature placeholder is not where it was laid out".into());
    let room = contents
        .1
        .checked_sub(contents.0)
        .and_then(|n| n.checked_sub(2))
        .ok_or_else(bad)?
        / 2;
    if der.len() > room {
        return Err(Error::limit("signature placeholder", der.len(), room));
    }
    if doc.get(contents.0) != Some(&b'<') || doc.get(contents.1.wrapping_sub(1)) != Some(&b'>') {
        return Err(bad());
    }
    let hexed = hex::encode_upper(der);
    let start = contents.0 + 1;
    doc.get_mut(start..start + hexed.len())
        .ok_or_else(bad)?
        .copy_from_slice(hexed.as_bytes());
    Ok(doc)
}

/// Put the signature value (over `signed_attrs`) into the document, with
/// unsigned attributes (a DER SET) when given.
pub fn complete(
    p: Prepared,
    scheme: cms::Scheme,
    signature: &[u8],
    signer_cert: &openssl::x509::X509,
    chain: &[openssl::x509::X509],
    unsigned: Option<&[u8]>,
) -> Result<Vec<u8>> {
    let cms = cms::signed_data(
        p.digest,
        scheme,
        &p.signed_attrs,
        signature,
        signer_cert,
        chain,
        unsigned,
    )?;
    fill_contents(p.doc, p.contents, &cms)
}

/// PAdES baseline levels kyso signs at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SignLevel {
    BB,
    BT,
    BLT,
    BLTA,
}

impl SignLevel {
    pub fn parse(s: &str) -> Option<SignLevel> {
        Some(match s.to_ascii_uppercase().as_str() {
            "B-B" => SignLevel::BB,
            "B-T" => SignLevel::BT,
            "B-LT" => SignLevel::BLT,
            "B-LTA" => SignLevel::BLTA,
            _ => return None,
        })
    }
}

/// Where the timestamps and validation data come from.
#[derive(Clone, Debug)]
pub struct Services {
    /// RFC 3161 TSA (http://) for B-T and above.
    pub tsa_url: Option<String>,
    /// Deadline of each TSA, OCSP or CRL exchange.
    pub timeout: std::time::Duration,
    /// CRLs (DER) the operator supplies: a certificate whose issuer signed
    /// one of them gets that CRL in the /DSS instead of a fetch.
    pub crls: Vec<Vec<u8>>,
}

impl Services {
    fn tsa(&self) -> Result<&str> {
        self.tsa_url.as_deref().ok_or_else(|| {
            Error::Invalid("levels B-T and above need a timestamp authority URL".into())
        })
    }
}

impl Default for Services {
    fn default() -> Self {
        Services {
            tsa_url: None,
            timeout: std::time::Duration::from_secs(10),
            crls: Vec::new(),
        }
    }
}

/// Room for a timestamp token in /Contents.
const TOKEN_ROOM: usize = 12 << 10;

/// Sign a PDF at `level`: B-B; B-T adds a signature timestamp from the TSA;
/// B-LT adds a /DSS with the certificates, OCSP responses and CRLs of the
/// signer's and the TSA's paths (fetched from their AIA/CDP URLs); B-LTA
/// adds a document timestamp over all of it.
pub fn sign_pdf_level(
    input: &[u8],
    key: &dyn KeySigner,
    opts: &SignOptions,
    level: SignLevel,
    services: &Services,
) -> Result<Vec<u8>> {
    let tsa = || services.tsa();
    if level >= SignLevel::BT {
        tsa()?;
    }
    let p = prepare(input, key.certificate(), key.chain(), opts, room_for(level))?;
    let sig = key.sign(p.digest, &p.signed_attrs)?;
    finish(
        p,
        key.scheme(),
        &sig,
        key.certificate(),
        key.chain(),
        level,
        services,
    )
}

/// Extra room in /Contents for what `level` adds to the SignedData.
pub fn room_for(level: SignLevel) -> usize {
    if level >= SignLevel::BT {
        TOKEN_ROOM
    } else {
        0
    }
}

/// Everything after the signature value: the CMS (with a signature timestamp
/// from B-T), then for B-LT the /DSS, for B-LTA the document timestamp.
/// Used directly by deferred signing, where the value comes from outside.
pub fn finish(
    p: Prepared,
    scheme: cms::Scheme,
    sig: &[u8],
    cert: &openssl::x509::X509,
    chain: &[openssl::x509::X509],
    level: SignLevel,
    services: &Services,
) -> Result<Vec<u8>> {
    let tsa = || services.tsa();
    let digest = p.digest;
    let mut token = None;
    let unsigned = if level >= SignLevel::BT {
        let imprint = openssl::hash::hash(digest.md(), sig)?;
        let t = tsa::timestamp(tsa()?, digest, &imprint, services.timeout)?;
        let attr = cms::unsigned_timestamp_attribute(&t);
        token = Some(t);
        Some(attr)
    } else {
        None
    };
    let mut doc = complete(p, scheme, sig, cert, chain, unsigned.as_deref())?;
    if level >= SignLevel::BLT {
        let mut certs: Vec<openssl::x509::X509> = vec![cert.clone()];
        certs.extend(chain.iter().cloned());
        if let Some(t) = &token {
            certs.extend(tsa::token_certificates(t)?);
        }
        doc = add_validation_data(&doc, &certs, services)?;
    }
    if level >= SignLevel::BLTA {
        doc = add_doc_timestamp(&doc, digest, tsa()?, services)?;
    }
    Ok(doc)
}

/// Check a signature value made outside (deferred signing) before using it.
pub fn check_signature_value(
    p: &Prepared,
    scheme: cms::Scheme,
    sig: &[u8],
    cert: &openssl::x509::X509,
) -> Result<()> {
    let key = cert.public_key()?;
    let mut v = openssl::sign::Verifier::new(p.digest.md(), &key)?;
    if scheme == cms::Scheme::RsaPss {
        v.set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS)?;
        v.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)?;
        v.set_rsa_mgf1_md(p.digest.md())?;
    }
    v.update(&p.signed_attrs)?;
    if v.verify(sig).unwrap_or(false) {
        Ok(())
    } else {
        Err(Error::Invalid(
            "the signature value does not verify with the certificate's key over the data to be signed".into(),
        ))
    }
}

/// Revocation data for every certificate of `certs` that has an issuer
/// among them, fetched online; the whole lot written into the /DSS.
pub fn add_validation_data(
    input: &[u8],
    certs: &[openssl::x509::X509],
    services: &Services,
) -> Result<Vec<u8>> {
    let cfg = crate::revocation::fetch::FetchConfig {
        online: true,
        timeout: services.timeout,
        ..Default::default()
    };
    let mut uniq: Vec<openssl::x509::X509> = Vec::new();
    for c in certs {
        let der = c.to_der()?;
        if !uniq
            .iter()
            .any(|u| u.to_der().map(|d| d == der).unwrap_or(false))
        {
            uniq.push(c.clone());
        }
    }
    // Each certificate with its issuer; the fetches then run at once.
    let mut jobs = Vec::new();
    for c in &uniq {
        let self_issued = c.issuer_name().to_der()? == c.subject_name().to_der()?;
        if self_issued {
            continue;
        }
        let Some(issuer) = uniq.iter().find(|i| {
            i.subject_name().to_der().ok() == c.issuer_name().to_der().ok()
                && i.public_key().and_then(|k| c.verify(&k)).unwrap_or(false)
        }) else {
            return Err(Error::Invalid(format!(
                "no issuer certificate for {:?}: give the chain",
                crate::pki::cert::summarize(c).subject
            )));
        };
        jobs.push((c, issuer));
    }
    // Supplied CRLs first: one issued and signed by the certificate's issuer covers it.
    let (mut ocsps, mut crls) = (Vec::new(), Vec::new());
    jobs.retain(|(c, issuer)| {
        let found = services.crls.iter().find(|der| {
            openssl::x509::X509Crl::from_der(der).is_ok_and(|crl| {
                crl.issuer_name().to_der().ok() == c.issuer_name().to_der().ok()
                    && issuer
                        .public_key()
                        .and_then(|k| crl.verify(&k))
                        .unwrap_or(false)
            })
        });
        match found {
            Some(der) => {
                if !crls.contains(der) {
                    crls.push(der.clone());
                }
                false
            }
            None => true,
        }
    });
    let fetched: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(c, i)| s.spawn(|| crate::revocation::fetch::online(c, i, &cfg)))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    for ((c, _), got) in jobs.iter().zip(fetched) {
        let got = got.map_err(|_| Error::Invalid("a revocation fetch failed".into()))?;
        if got.data.ocsps.is_empty() && got.data.crls.is_empty() {
            return Err(Error::Invalid(format!(
                "no revocation data could be fetched for {}: {}",
                crate::pki::cert::summarize(c).subject,
                got.problems.join("; ")
            )));
        }
        ocsps.extend(got.data.ocsps.iter().map(|(_, r)| r.to_vec()));
        crls.extend(got.data.crls.iter().map(|(_, r)| r.to_vec()));
    }
    let cert_ders: Vec<Vec<u8>> = uniq
        .iter()
        .map(|c| c.to_der())
        .collect::<std::result::Result<_, _>>()?;
    add_dss(input, &cert_ders, &ocsps, &crls)
}

fn stream_obj(data: &[u8]) -> Vec<u8> {
    let mut o = format!("<</Length {}>>\nstream\n", data.len()).into_bytes();
    o.extend_from_slice(data);
    o.extend_from_slice(b"\nendstream");
    o
}

/// Add (or extend) the document security store with these items.
pub fn add_dss(
    input: &[u8],
    certs: &[Vec<u8>],
    ocsps: &[Vec<u8>],
    crls: &[Vec<u8>],
) -> Result<Vec<u8>> {
    let src = MemSource(input);
    let doc = open_pdf(&src)?;
    let root = match doc.trailer.get(b"Root") {
        Some(Obj::Ref(r)) => *r,
        _ => return Err(Error::pdf(0, "trailer /Root is not a reference")),
    };
    let mut catalog = doc.catalog()?;
    let mut next = doc
        .trailer
        .int(b"Size")
        .filter(|s| *s > 0 && *s < i64::from(u32::MAX) - 1_000_000)
        .ok_or(Error::pdf(0, "trailer /Size missing"))? as u32;
    let mut objects: Vec<(ObjRef, Vec<u8>)> = Vec::new();
    let (dss_ref, mut dss) = match catalog.get(b"DSS") {
        Some(Obj::Ref(r)) => (
            Some(*r),
            doc.resolve_ref(*r)?.as_dict().cloned().unwrap_or_default(),
        ),
        Some(Obj::Dict(d)) => (None, d.clone()),
        _ => (None, Dict::default()),
    };
    for (key, items) in [(&b"Certs"[..], certs), (b"OCSPs", ocsps), (b"CRLs", crls)] {
        if items.is_empty() {
            continue;
        }
        let mut arr = match dss.get(key) {
            Some(o) => match doc.resolve(o)? {
                Obj::Array(a) => a,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        for it in items {
            let r = ObjRef {
                num: next,
                generation: 0,
            };
            next += 1;
            objects.push((r, stream_obj(it)));
            arr.push(Obj::Ref(r));
        }
        set(&mut dss, key, Obj::Array(arr));
    }
    let mut body = Vec::new();
    write_dict(&dss, &mut body)?;
    match dss_ref {
        Some(r) => objects.push((r, body)),
        None => {
            let r = ObjRef {
                num: next,
                generation: 0,
            };
            next += 1;
            objects.push((r, body));
            set(&mut catalog, b"DSS", Obj::Ref(r));
            let mut c = Vec::new();
            write_dict(&catalog, &mut c)?;
            objects.push((root, c));
        }
    }
    Ok(write_update(input, &doc, root, objects, next)?.0)
}

/// Add an ETSI.RFC3161 document timestamp (B-LTA) over the whole document.
pub fn add_doc_timestamp(
    input: &[u8],
    d: Digest,
    tsa_url: &str,
    services: &Services,
) -> Result<Vec<u8>> {
    let opts = SignOptions {
        digest: d,
        ..SignOptions::default()
    };
    let (doc_bytes, contents, md) = lay_out_and_hash(input, &opts, TOKEN_ROOM, true)?;
    let token = tsa::timestamp(tsa_url, d, &md, services.timeout)?;
    fill_contents(doc_bytes, contents, &token)
}

/// Sign a PDF at level B-B with a key backend.
pub fn sign_pdf(input: &[u8], key: &dyn KeySigner, opts: &SignOptions) -> Result<Vec<u8>> {
    sign_pdf_level(input, key, opts, SignLevel::BB, &Services::default())
}
