//! Signed XML: the reader. It parses untrusted XML with no DTD, no entity
//! expansion and no external resource (a DOCTYPE is refused), under named
//! limits, and registers the document's ID attributes, refusing a value
//! used twice (the opening of a signature-wrapping attack). What a
//! signature covers is decided in [`dsig`], by kyso itself: every
//! `Reference` is resolved against this parsed tree.
//!
//! The tree and the six W3C canonicalizations come from crates
//! (`uppsala`, `bergshamra-c14n`); docs/adr/0001-xml-signature-library.md
//! says why those and not libxmlsec1.
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

pub mod alg;
pub mod dsig;
pub mod profile;
pub mod stream_c14n;
pub mod xades;

use std::borrow::Cow;
use std::collections::HashMap;

use uppsala::{Document, NodeId, NodeKind};

use crate::error::{Error, Limits, Result};

/// The XMLDSig namespace.
pub const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// XMLDSig 1.1 additions (ECKeyValue, X509Digest, …).
pub const DSIG11: &str = "http://www.w3.org/2009/xmldsig11#";
/// The XML namespace (`xml:id`).
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// A parsed document and its IDs.
pub struct XmlDoc<'a> {
    pub doc: Document<'a>,
    /// Every ID value and the element carrying it (first occurrence).
    pub ids: HashMap<String, NodeId>,
    /// ID values carried by more than one element.
    pub duplicate_ids: Vec<String>,
    /// Nodes of every kind (the document node excluded), and comments.
    pub nodes: usize,
    pub comments: usize,
    /// The XMLDSig `Signature` elements, in document order.
    pub signatures: Vec<NodeId>,
}

/// The input as text: UTF-8 (a byte-order mark dropped) borrowed, UTF-16
/// decoded. A declared encoding other than UTF-8/UTF-16/ASCII is refused
/// rather than guessed: the bytes a signer hashed are characters only
/// through their encoding.
pub fn decode(data: &[u8]) -> Result<Cow<'_, str>> {
    let utf16 = |be: bool, body: &[u8]| -> Result<Cow<'static, str>> {
        if body.len() % 2 != 0 {
            return Err(Error::Invalid(
                "UTF-16 text with an odd number of bytes".into(),
            ));
        }
        let units = body.chunks_exact(2).map(|c| match c {
            [a, b] if be => u16::from_be_bytes([*a, *b]),
            [a, b] => u16::from_le_bytes([*a, *b]),
            _ => 0,
        });
        char::decode_utf16(units)
            .collect::<std::result::Result<String, _>>()
            .map(Cow::Owned)
            .map_err(|_| Error::Invalid("malformed UTF-16".into()))
    };
    match data {
        [0xef, 0xbb, 0xbf, rest @ ..] => utf8(rest),
        [0xfe, 0xff, rest @ ..] => utf16(true, rest),
        [0xff, 0xfe, rest @ ..] => utf16(false, rest),
        [0x00, 0x3c, ..] => utf16(true, data),
        [0x3c, 0x00, ..] => utf16(false, data),
        _ => utf8(data),
    }
}

fn utf8(data: &[u8]) -> Result<Cow<'_, str>> {
    let text = std::str::from_utf8(data)
        .map_err(|_| Error::Invalid("the XML is not valid UTF-8".into()))?;
    if let Some(enc) = declared_encoding(text) {
        let e = enc.to_ascii_lowercase();
        let ok = matches!(e.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii")
            || (e.starts_with("iso-8859-") || e == "latin1" || e == "windows-1252")
                && text.is_ascii();
        if !ok {
            return Err(Error::Unsupported(format!(
                "XML encoding {enc} (only UTF-8 and UTF-16 are read)"
            )));
        }
    }
    Ok(Cow::Borrowed(text))
}

/// The `encoding` pseudo-attribute of the XML declaration, if any.
fn declared_encoding(text: &str) -> Option<&str> {
    let decl = text.strip_prefix("<?xml")?;
    let end = decl.find("?>")?;
    let decl = decl.get(..end)?;
    let at = decl.find("encoding")?;
    let rest = decl.get(at.checked_add(8)?..)?.trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let q = rest.chars().next()?;
    if q != '"' && q != '\'' {
        return None;
    }
    let rest = rest.get(1..)?;
    rest.get(..rest.find(q)?)
}

/// XML 1.0 end-of-line handling (§2.11: CR LF and a lone CR become LF)
/// and the whitespace part of attribute-value normalization (§3.3.3: a
/// literal tab, line feed or carriage return in an attribute value is a
/// space), done on the source before parsing: the parser leaves CRs in
/// comments and processing instructions and literal whitespace in
/// attribute values, which canonicalization then writes as `&#xD;` /
/// `&#xA;` — a digest no other verifier computes. Character references
/// (`&#13;`) are untouched, as the standard wants. Borrowed when nothing
/// changes.
pub fn normalize_source(text: &str) -> Cow<'_, str> {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Text,
        Markup,
        Tag,
        Attr(u8),
    }
    let b = text.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut st = St::Text;
    let mut i = 0usize;
    // Where the current comment/PI/CDATA/declaration ends (its closing
    // delimiter's position past the end).
    let mut markup_end = 0usize;
    while let Some(&c) = b.get(i) {
        let mut emit: Option<u8> = Some(c);
        let mut step = 1usize;
        match st {
            St::Text if c != b'<' && c != b'\r' => {
                // Plain text: jump to the next '<' or CR, copying the run.
                let rest = b.get(i..).unwrap_or(&[]);
                let run = rest
                    .iter()
                    .position(|x| *x == b'<' || *x == b'\r')
                    .unwrap_or(rest.len());
                if let Some(o) = out.as_mut() {
                    o.extend_from_slice(rest.get(..run).unwrap_or(&[]));
                }
                i = i.saturating_add(run.max(1));
                continue;
            }
            St::Text => {
                if c == b'<' {
                    let rest = b.get(i..).unwrap_or(&[]);
                    let close: Option<&[u8]> = if rest.starts_with(b"<!--") {
                        Some(b"-->")
                    } else if rest.starts_with(b"<![CDATA[") {
                        Some(b"]]>")
                    } else if rest.starts_with(b"<?") {
                        Some(b"?>")
                    } else if rest.starts_with(b"<!") {
                        Some(b">")
                    } else {
                        None
                    };
                    match close {
                        Some(cl) => {
                            let from = i.saturating_add(2);
                            markup_end = b
                                .get(from..)
                                .and_then(|r| r.windows(cl.len()).position(|w| w == cl))
                                .map(|p| from.saturating_add(p).saturating_add(cl.len()))
                                .unwrap_or(b.len());
                            st = St::Markup;
                        }
                        None => st = St::Tag,
                    }
                }
            }
            St::Markup => {
                if i.saturating_add(1) >= markup_end {
                    st = St::Text;
                }
            }
            St::Tag => match c {
                b'"' | b'\'' => st = St::Attr(c),
                b'>' => st = St::Text,
                _ => {}
            },
            St::Attr(q) => {
                if c == q {
                    st = St::Tag;
                } else if c == b'\t' || c == b'\n' {
                    emit = Some(b' ');
                } else if c == b'\r' {
                    emit = Some(b' ');
                    if b.get(i.saturating_add(1)) == Some(&b'\n') {
                        step = 2;
                    }
                }
            }
        }
        if c == b'\r' && !matches!(st, St::Attr(_)) {
            emit = Some(b'\n');
            if b.get(i.saturating_add(1)) == Some(&b'\n') {
                step = 2;
            }
        }
        let changed = emit != Some(c) || step != 1;
        if changed && out.is_none() {
            let mut v = Vec::with_capacity(b.len());
            v.extend_from_slice(b.get(..i).unwrap_or(&[]));
            out = Some(v);
        }
        if let (Some(o), Some(e)) = (out.as_mut(), emit) {
            o.push(e);
        }
        // A CR LF pair at the end of a markup item: the LF is consumed too.
        if step == 2 && st == St::Markup && i.saturating_add(2) >= markup_end {
            st = St::Text;
        }
        i = i.saturating_add(step);
    }
    match out {
        // Only ASCII bytes were replaced by ASCII bytes: still UTF-8.
        Some(v) => Cow::Owned(String::from_utf8(v).unwrap_or_default()),
        None => Cow::Borrowed(text),
    }
}

/// Whether the prolog (before the first element) holds a document type
/// declaration.
pub fn has_doctype(text: &str) -> bool {
    let mut rest = text.trim_start_matches('\u{feff}');
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("<?") {
            match r.find("?>").and_then(|i| r.get(i.saturating_add(2)..)) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if let Some(r) = rest.strip_prefix("<!--") {
            match r.find("-->").and_then(|i| r.get(i.saturating_add(3)..)) {
                Some(r) => rest = r,
                None => return false,
            }
        } else {
            return rest.starts_with("<!DOCTYPE");
        }
    }
}

/// The text without its document type declaration, when that declaration
/// only names an external DTD (`<!DOCTYPE x PUBLIC "…" "….dtd">`, as
/// LibreOffice's Basic library streams carry): kyso never loads a DTD, so
/// the declaration contributes nothing (no entity, no default attribute)
/// and canonical XML does not output it. `None` when there is no
/// declaration or it has an internal subset (`[…]`: entities, refused).
pub fn without_external_doctype(text: &str) -> Option<String> {
    if !has_doctype(text) {
        return None;
    }
    let start = text.find("<!DOCTYPE")?;
    let rest = text.get(start..)?;
    let mut quote: Option<char> = None;
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => return None,
            (None, '>') => {
                let end = start.checked_add(i)?.checked_add(1)?;
                let mut out = String::with_capacity(text.len());
                out.push_str(text.get(..start)?);
                out.push_str(text.get(end..)?);
                return Some(out);
            }
            _ => {}
        }
    }
    None
}

/// Whether `head` looks like XML: optional BOM and whitespace, then `<`
/// followed by a name start, `?xml` or a comment (UTF-16 by its BOM or
/// first two bytes).
pub fn looks_like_xml(head: &[u8]) -> bool {
    match head {
        [0xfe, 0xff, ..] | [0xff, 0xfe, ..] | [0x00, 0x3c, ..] | [0x3c, 0x00, ..] => return true,
        _ => {}
    }
    let h = head.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(head);
    let start = h.iter().position(|b| !b.is_ascii_whitespace());
    let Some(t) = start.and_then(|s| h.get(s..)) else {
        return false;
    };
    match t {
        [b'<', b'?', b'x', b'm', b'l', ..] | [b'<', b'!', b'-', b'-', ..] => true,
        [b'<', c, ..] => c.is_ascii_alphabetic() || *c == b'_' || *c >= 0x80,
        _ => false,
    }
}

/// Parse `text` under `limits`: a DOCTYPE is refused, nesting, elements,
/// attributes per element and the length of any one text or attribute
/// value are bounded. IDs are registered: attributes named `Id`, `ID` or
/// `id` (no namespace), `xml:id`, and `extra_id_attrs` (a profile's
/// declared ID attributes, by local name).
pub fn parse<'a>(text: &'a str, limits: &Limits, extra_id_attrs: &[String]) -> Result<XmlDoc<'a>> {
    if text.len() as u64 > limits.max_xml_bytes {
        return Err(Error::limit(
            "max_xml_bytes",
            text.len(),
            limits.max_xml_bytes,
        ));
    }
    if has_doctype(text) {
        return Err(Error::Unsupported(
            "a DOCTYPE (document type declaration) is refused in signed XML".into(),
        ));
    }
    let depth = u32::try_from(limits.max_xml_depth).unwrap_or(u32::MAX);
    let doc = uppsala::Parser::new()
        .with_forbid_dtd(true)
        .with_max_depth(depth)
        .parse(text)
        .map_err(|e| xml_error(&e.to_string(), limits))?;
    let mut ids: HashMap<String, NodeId> = HashMap::new();
    let mut duplicate_ids = Vec::new();
    let mut elements = 0usize;
    let (mut nodes, mut comments) = (0usize, 0usize);
    let mut signatures = Vec::new();
    // Iterative walk in document order: no recursion on untrusted depth.
    let mut stack = vec![doc.root()];
    while let Some(n) = stack.pop() {
        if n != doc.root() {
            nodes = nodes.saturating_add(1);
        }
        match doc.node_kind(n) {
            Some(NodeKind::Element(e)) => {
                if e.matches_name_ns(DSIG, "Signature") {
                    signatures.push(n);
                }
                elements = elements.saturating_add(1);
                if elements > limits.max_xml_elements {
                    return Err(Error::limit(
                        "max_xml_elements",
                        elements,
                        limits.max_xml_elements,
                    ));
                }
                let nattrs = e
                    .attributes
                    .len()
                    .saturating_add(e.namespace_declarations.len());
                if nattrs > limits.max_xml_attributes {
                    return Err(Error::limit(
                        "max_xml_attributes",
                        nattrs,
                        limits.max_xml_attributes,
                    ));
                }
                for a in &e.attributes {
                    check_len(a.value.len(), limits)?;
                    let local: &str = &a.name.local_name;
                    let is_id = match a.name.namespace_uri.as_deref() {
                        None => {
                            matches!(local, "Id" | "ID" | "id")
                                || extra_id_attrs.iter().any(|x| x == local)
                        }
                        Some(ns) => ns == XML_NS && local == "id",
                    };
                    if is_id {
                        let v = a.value.to_string();
                        match ids.get(&v) {
                            Some(prev) if *prev != n => {
                                if !duplicate_ids.contains(&v) {
                                    duplicate_ids.push(v);
                                }
                            }
                            Some(_) => {}
                            None => {
                                ids.insert(v, n);
                            }
                        }
                    }
                }
            }
            Some(NodeKind::Comment(t)) => {
                comments = comments.saturating_add(1);
                check_len(t.len(), limits)?;
            }
            Some(NodeKind::Text(t) | NodeKind::CData(t)) => {
                check_len(t.len(), limits)?;
            }
            _ => {}
        }
        push_children(&doc, n, &mut stack, |c| c);
    }
    Ok(XmlDoc {
        doc,
        ids,
        duplicate_ids,
        nodes,
        comments,
        signatures,
    })
}

fn check_len(len: usize, limits: &Limits) -> Result<()> {
    if len as u64 > limits.max_xml_text_bytes {
        return Err(Error::limit(
            "max_xml_text_bytes",
            len,
            limits.max_xml_text_bytes,
        ));
    }
    Ok(())
}

/// A parser error, typed: depth and DTD errors are limits/refusals.
fn xml_error(msg: &str, limits: &Limits) -> Error {
    let m = msg.to_ascii_lowercase();
    if m.contains("depth") || m.contains("nest") {
        Error::limit(
            "max_xml_depth",
            limits.max_xml_depth.saturating_add(1),
            limits.max_xml_depth,
        )
    } else if m.contains("doctype") || m.contains("dtd") || m.contains("entity") {
        Error::Unsupported(format!("DTD or entity declarations are refused: {msg}"))
    } else {
        Error::Invalid(format!("malformed XML: {msg}"))
    }
}

/// The element's name as written (prefix:local).
pub fn qname(doc: &Document<'_>, n: NodeId) -> String {
    match doc.element(n) {
        Some(e) => e.name.prefixed_name().into_owned(),
        None => String::new(),
    }
}

/// A simple path to an element: `/HDon/DSCKS/NBan/Signature`, with a
/// position `[k]` (1-based) where siblings share the name.
pub fn path_of(doc: &Document<'_>, n: NodeId) -> String {
    let mut parts = Vec::new();
    let mut cur = Some(n);
    let mut guard = 0usize;
    while let Some(c) = cur {
        guard = guard.saturating_add(1);
        if guard > 100_000 {
            break;
        }
        let Some(e) = doc.element(c) else {
            break;
        };
        let name = e.name.prefixed_name().into_owned();
        let parent = doc.parent(c);
        let mut same = 0usize;
        let mut pos = 0usize;
        if let Some(p) = parent {
            for s in doc.children_iter(p) {
                if doc.element(s).is_some_and(|se| {
                    se.name.local_name == e.name.local_name
                        && se.name.namespace_uri == e.name.namespace_uri
                }) {
                    same = same.saturating_add(1);
                    if s == c {
                        pos = same;
                    }
                }
            }
        }
        if same > 1 {
            parts.push(format!("{name}[{pos}]"));
        } else {
            parts.push(name);
        }
        cur = parent;
    }
    parts.reverse();
    format!("/{}", parts.join("/"))
}

/// Push `n`'s children on a depth-first stack, last first (so that they
/// pop in document order), mapped by `f`; no allocation per node.
pub fn push_children<T>(
    doc: &Document<'_>,
    n: NodeId,
    stack: &mut Vec<T>,
    f: impl Fn(NodeId) -> T,
) {
    let mut c = doc.last_child(n);
    while let Some(k) = c {
        stack.push(f(k));
        c = doc.previous_sibling(k);
    }
}

/// Element children of `n` (elements only, in order).
pub fn child_elements<'d>(doc: &'d Document<'_>, n: NodeId) -> impl Iterator<Item = NodeId> + 'd {
    doc.children_iter(n)
        .filter(move |c| doc.element(*c).is_some())
}

/// Whether `n` is the element `{ns}local`.
pub fn is(doc: &Document<'_>, n: NodeId, ns: &str, local: &str) -> bool {
    doc.element(n).is_some_and(|e| e.matches_name_ns(ns, local))
}

/// The first element child `{ns}local` of `n`.
pub fn child(doc: &Document<'_>, n: NodeId, ns: &str, local: &str) -> Option<NodeId> {
    child_elements(doc, n).find(|c| is(doc, *c, ns, local))
}

/// The text of an element: its text and CDATA children, concatenated.
pub fn text_of(doc: &Document<'_>, n: NodeId) -> String {
    let mut s = String::new();
    for c in doc.children_iter(n) {
        if let Some(NodeKind::Text(t) | NodeKind::CData(t)) = doc.node_kind(c) {
            s.push_str(t);
        }
    }
    s
}

/// An attribute without namespace, by local name.
pub fn attr<'d>(doc: &'d Document<'_>, n: NodeId, local: &str) -> Option<&'d str> {
    doc.element(n).and_then(|e| {
        e.attributes
            .iter()
            .find(|a| a.name.namespace_uri.is_none() && a.name.local_name == local)
            .map(|a| &*a.value)
    })
}

/// Decode base64 text as XMLDSig writes it (whitespace anywhere).
pub fn b64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_and_attribute_whitespace() {
        let src = "<a b=\"x\r\ny\tz\n\" c='\r'>t\r\nu\rv<?pi d\r\ne?><!-- c\r\nd --><![CDATA[\r\n\"\t\"]]></a>\r\n";
        assert_eq!(
            normalize_source(src),
            "<a b=\"x y z \" c=' '>t\nu\nv<?pi d\ne?><!-- c\nd --><![CDATA[\n\"\t\"]]></a>\n"
        );
        // Quotes inside comments, PIs and text do not open attribute values.
        let src = "<a>it's \"q\"<!-- ' --><?p \" ?><b c=\"1\n\"/></a>";
        assert_eq!(
            normalize_source(src),
            "<a>it's \"q\"<!-- ' --><?p \" ?><b c=\"1 \"/></a>"
        );
        // Nothing to change: borrowed.
        assert!(matches!(
            normalize_source("<a b=\"1\">x\ny</a>"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn doctype_in_prolog() {
        assert!(has_doctype(
            "<?xml version=\"1.0\"?>\n<!-- x --><!DOCTYPE a [<!ENTITY e \"x\">]><a/>"
        ));
        assert!(!has_doctype(
            "<?xml version=\"1.0\"?><a><![CDATA[<!DOCTYPE]]></a>"
        ));
    }

    #[test]
    fn duplicate_ids_are_found() {
        let l = Limits::default();
        let d = parse("<r><a Id=\"x\"/><b ID=\"x\"/><c id=\"y\"/></r>", &l, &[]).unwrap();
        assert_eq!(d.duplicate_ids, vec!["x".to_string()]);
        assert!(d.ids.contains_key("y"));
    }
}
