//! Canonical XML of a whole document, streamed: for the octets a
//! reference's transforms canonicalize whole (XMLDSig §4.4.3.2) — an ODF
//! package's XML streams, an OPC relationships part — where a DOM of a
//! 90 MB `content.xml` would cost about 20 bytes per input byte. The
//! events come from `quick-xml` (a pull parser; no DTD, no external
//! entity); the canonical form is written here, because no crate
//! canonicalizes without a tree: C14N 1.0/1.1 (identical for a whole
//! document) and Exclusive C14N, with or without comments.
//!
//! Only a whole document, UTF-8, without a document type declaration is
//! taken; anything else is [`Streamed::Fallback`] and goes to the tree
//! path. Every output is tested equal to the tree path's
//! (`bergshamra-c14n` over `uppsala`) on the corpora's inputs.
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::borrow::Cow;
use std::io::BufRead;

use bergshamra_c14n::{C14nMode, C14nSink};
use quick_xml::events::{BytesStart, Event};

use crate::error::Limits;

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Why a document was not streamed.
#[derive(Debug)]
pub enum Streamed {
    /// Well-formed as far as read, but outside what this path takes (not
    /// UTF-8, a DOCTYPE): the tree path decides.
    Fallback(String),
    /// Not well-formed XML, or over a limit.
    Malformed(String),
}

fn bad(m: impl Into<String>) -> Streamed {
    Streamed::Malformed(m.into())
}

/// One in-scope or rendered namespace binding (prefix `""` = default).
struct Binding {
    prefix: String,
    uri: String,
}

/// The attribute value or text as the XML parser reports it: references
/// resolved, line ends normalized (CR LF and CR → LF) and, in attribute
/// values, literal whitespace normalized to spaces (XML 1.0 §2.11, §3.3.3:
/// every attribute is CDATA without a DTD).
fn unescape(raw: &[u8], attribute: bool) -> Result<Cow<'_, str>, Streamed> {
    let s = std::str::from_utf8(raw).map_err(|_| bad("not UTF-8"))?;
    // Most values hold nothing to resolve or normalize.
    if !s
        .bytes()
        .any(|b| matches!(b, b'&' | b'\r' | b'\t' | b'\n') || b < 0x20 || b == 0xEF)
    {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        let Some(i) = rest.find(['&', '\r', '\t', '\n']) else {
            push_checked(&mut out, rest)?;
            break;
        };
        push_checked(&mut out, rest.get(..i).unwrap_or(""))?;
        let tail = rest.get(i..).unwrap_or("");
        let mut chars = tail.chars();
        match chars.next() {
            Some('&') => {
                let end = tail
                    .find(';')
                    .ok_or_else(|| bad("unterminated reference"))?;
                let name = tail.get(1..end).unwrap_or("");
                out.push(resolve_ref(name)?);
                rest = tail.get(end.saturating_add(1)..).unwrap_or("");
                continue;
            }
            Some('\r') => {
                out.push(if attribute { ' ' } else { '\n' });
                rest = tail.get(1..).unwrap_or("");
                if rest.starts_with('\n') {
                    rest = rest.get(1..).unwrap_or("");
                }
                continue;
            }
            Some(c) => {
                out.push(if attribute { ' ' } else { c });
            }
            None => break,
        }
        rest = tail.get(1..).unwrap_or("");
    }
    Ok(Cow::Owned(out))
}

/// Characters XML 1.0 allows (§2.2).
fn push_checked(out: &mut String, s: &str) -> Result<(), Streamed> {
    if let Some(c) = s.chars().find(|c| {
        let u = u32::from(*c);
        (u < 0x20 && !matches!(c, '\t' | '\n' | '\r')) || matches!(u, 0xFFFE | 0xFFFF)
    }) {
        return Err(bad(format!(
            "character U+{:04X} is not allowed in XML",
            u32::from(c)
        )));
    }
    out.push_str(s);
    Ok(())
}

fn resolve_ref(name: &str) -> Result<char, Streamed> {
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        n => {
            let code = if let Some(h) = n.strip_prefix("#x") {
                u32::from_str_radix(h, 16).ok()
            } else if let Some(d) = n.strip_prefix('#') {
                d.parse::<u32>().ok()
            } else {
                return Err(bad(format!("undeclared entity &{n};")));
            };
            let c = code
                .and_then(char::from_u32)
                .ok_or_else(|| bad("bad character reference"))?;
            let u = u32::from(c);
            if (u < 0x20 && !matches!(c, '\t' | '\n' | '\r')) || matches!(u, 0xFFFE | 0xFFFF) {
                return Err(bad(format!("character reference to U+{u:04X}")));
            }
            c
        }
    };
    Ok(c)
}

/// Text as canonical XML writes it (C14N 1.0 §2.3).
fn escape_text(s: &str, out: &mut String) {
    escape(s, out, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '\r' => Some("&#xD;"),
        _ => None,
    })
}

/// An attribute value as canonical XML writes it.
fn escape_attr(s: &str, out: &mut String) {
    escape(s, out, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '"' => Some("&quot;"),
        '\t' => Some("&#x9;"),
        '\n' => Some("&#xA;"),
        '\r' => Some("&#xD;"),
        _ => None,
    })
}

/// `s` with the characters `rep` names replaced (ASCII only); copied whole
/// when there are none.
fn escape(s: &str, out: &mut String, rep: impl Fn(char) -> Option<&'static str>) {
    if !s
        .bytes()
        .any(|b| b.is_ascii() && rep(char::from(b)).is_some())
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match rep(c) {
            Some(r) => out.push_str(r),
            None => out.push(c),
        }
    }
}

/// Namespace bindings by prefix, innermost last, and what each open
/// element added.
#[derive(Default)]
struct Scopes {
    map: std::collections::HashMap<String, Vec<String>>,
    frames: Vec<Vec<String>>,
}

impl Scopes {
    fn get(&self, prefix: &str) -> Option<&str> {
        self.map
            .get(prefix)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    fn push(&mut self, bindings: Vec<Binding>) {
        let mut added = Vec::with_capacity(bindings.len());
        for b in bindings {
            self.map.entry(b.prefix.clone()).or_default().push(b.uri);
            added.push(b.prefix);
        }
        self.frames.push(added);
    }

    fn pop(&mut self) {
        for p in self.frames.pop().unwrap_or_default() {
            if let Some(v) = self.map.get_mut(&p) {
                v.pop();
            }
        }
    }
}

/// A namespace-well-formed qualified name (XML Namespaces §3: `NCName`
/// or `NCName:NCName`), its characters checked as XML 1.0 §2.3 (ASCII
/// exactly; any other character accepted as a name character).
fn check_qname(q: &str) -> Result<(), Streamed> {
    let ncname = |n: &str| {
        let mut cs = n.chars();
        cs.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii())
            && cs
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') || !c.is_ascii())
    };
    let ok = match q.split_once(':') {
        Some((p, l)) => ncname(p) && ncname(l),
        None => ncname(q),
    };
    if ok {
        Ok(())
    } else {
        Err(bad(format!("{q:?} is not a qualified name")))
    }
}

fn split(q: &str) -> (&str, &str) {
    match q.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", q),
    }
}

struct State<'p> {
    exclusive: bool,
    comments: bool,
    prefixes: &'p [String],
    /// In-scope declarations.
    scope: Scopes,
    /// Declarations rendered (exclusive).
    rendered: Scopes,
    depth: usize,
    elements: usize,
    seen_root: bool,
    closed_root: bool,
    out: String,
}

impl State<'_> {
    fn start(&mut self, e: &BytesStart<'_>, limits: &Limits) -> Result<(), Streamed> {
        self.depth = self.depth.saturating_add(1);
        self.elements = self.elements.saturating_add(1);
        if self.depth > limits.max_xml_depth {
            return Err(bad(format!(
                "limit exceeded: max_xml_depth ({})",
                limits.max_xml_depth
            )));
        }
        if self.elements > limits.max_xml_elements {
            return Err(bad("limit exceeded: max_xml_elements"));
        }
        if self.closed_root || (self.depth == 1 && self.seen_root) {
            return Err(bad("more than one root element"));
        }
        self.seen_root = true;
        let name = std::str::from_utf8(e.name().into_inner()).map_err(|_| bad("not UTF-8"))?;
        // The attributes, borrowed from the event where possible.
        let raw: Vec<quick_xml::events::attributes::Attribute<'_>> = e
            .attributes()
            .with_checks(true)
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("attribute: {e}")))?;
        if raw.len() > limits.max_xml_attributes {
            return Err(bad("limit exceeded: max_xml_attributes"));
        }
        let mut decls: Vec<Binding> = Vec::new();
        let mut attrs: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(raw.len());
        for a in &raw {
            let key = std::str::from_utf8(a.key.into_inner()).map_err(|_| bad("not UTF-8"))?;
            check_qname(key)?;
            if a.value.len() as u64 > limits.max_xml_text_bytes {
                return Err(bad("limit exceeded: max_xml_text_bytes"));
            }
            let value = unescape(&a.value, true)?;
            if key == "xmlns" {
                decls.push(Binding {
                    prefix: String::new(),
                    uri: value.into_owned(),
                });
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                if value.is_empty() {
                    return Err(bad(format!(
                        "xmlns:{p}=\"\" undeclares a prefix (not XML 1.0)"
                    )));
                }
                decls.push(Binding {
                    prefix: p.to_string(),
                    uri: value.into_owned(),
                });
            } else {
                attrs.push((key, value));
            }
        }
        // Inclusive C14N renders a declaration whose value differs from
        // the parent's in-scope one (the parent is always rendered here).
        let mut render: Vec<(String, String)> = Vec::new();
        if !self.exclusive {
            for b in &decls {
                if b.prefix == "xml" {
                    continue;
                }
                if self.scope.get(&b.prefix).unwrap_or("") != b.uri {
                    // The last declaration of a prefix on one element wins.
                    render.retain(|(p, _)| *p != b.prefix);
                    render.push((b.prefix.clone(), b.uri.clone()));
                }
            }
            render.sort();
        }
        self.scope.push(decls);
        check_qname(name)?;
        let (ep, _) = split(name);
        let scope = &self.scope;
        let resolve = |p: &str| -> Result<&str, Streamed> {
            if p == "xml" {
                return Ok(XML_NS);
            }
            scope
                .get(p)
                .ok_or_else(|| bad(format!("prefix {p} is not declared")))
        };
        if !ep.is_empty() {
            resolve(ep)?;
        }
        // Attributes sorted by namespace URI, then local name.
        let mut keyed: Vec<(&str, &str, usize)> = Vec::with_capacity(attrs.len());
        for (i, (k, _)) in attrs.iter().enumerate() {
            let (p, l) = split(k);
            let uri = if p.is_empty() { "" } else { resolve(p)? };
            if keyed.iter().any(|(u, ln, _)| *u == uri && *ln == l) {
                return Err(bad(format!("attribute {k} twice")));
            }
            keyed.push((uri, l, i));
        }
        if keyed.len() > 1 {
            keyed.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        }

        // Exclusive C14N: the prefixes the element and its attributes use
        // (and the InclusiveNamespaces list), where the rendered value
        // differs.
        if self.exclusive {
            let mut wanted: Vec<&str> = vec![ep];
            for (k, _) in &attrs {
                let (p, _) = split(k);
                if !p.is_empty() {
                    wanted.push(p);
                }
            }
            for p in self.prefixes {
                wanted.push(if p == "#default" { "" } else { p.as_str() });
            }
            wanted.sort_unstable();
            wanted.dedup();
            for p in wanted {
                if p == "xml" {
                    continue;
                }
                let inscope = scope.get(p).unwrap_or("");
                let shown = self.rendered.get(p).unwrap_or("");
                if inscope != shown {
                    render.push((p.to_string(), inscope.to_string()));
                }
            }
        }
        let out = &mut self.out;
        out.push('<');
        out.push_str(name);
        for (p, u) in &render {
            if p.is_empty() {
                out.push_str(" xmlns=\"");
            } else {
                out.push_str(" xmlns:");
                out.push_str(p);
                out.push_str("=\"");
            }
            escape_attr(u, out);
            out.push('"');
        }
        for (_, _, i) in &keyed {
            if let Some((k, v)) = attrs.get(*i) {
                out.push(' ');
                out.push_str(k);
                out.push_str("=\"");
                escape_attr(v, out);
                out.push('"');
            }
        }
        out.push('>');
        self.rendered.push(
            render
                .into_iter()
                .map(|(prefix, uri)| Binding { prefix, uri })
                .collect(),
        );
        Ok(())
    }

    fn end(&mut self, name: &[u8]) -> Result<(), Streamed> {
        self.out.push_str("</");
        self.out
            .push_str(std::str::from_utf8(name).map_err(|_| bad("not UTF-8"))?);
        self.out.push('>');
        self.scope.pop();
        self.rendered.pop();
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            self.closed_root = true;
        }
        Ok(())
    }

    /// A comment or PI at document level is separated from the root by a
    /// line feed (C14N 1.0 §2.1).
    fn outside(&mut self, node: &str) {
        if self.depth > 0 {
            self.out.push_str(node);
        } else if self.closed_root {
            self.out.push('\n');
            self.out.push_str(node);
        } else {
            self.out.push_str(node);
            self.out.push('\n');
        }
    }
}

/// Canonicalize the whole document read from `input` with `mode` into
/// `sink` (`prefixes`: Exclusive C14N's InclusiveNamespaces list).
pub fn canonicalize<R: BufRead, W: C14nSink>(
    input: R,
    mode: C14nMode,
    prefixes: &[String],
    limits: &Limits,
    sink: &mut W,
) -> Result<(), Streamed> {
    let (exclusive, comments) = match mode {
        C14nMode::Inclusive | C14nMode::Inclusive11 => (false, false),
        C14nMode::InclusiveWithComments | C14nMode::Inclusive11WithComments => (false, true),
        C14nMode::Exclusive => (true, false),
        C14nMode::ExclusiveWithComments => (true, true),
    };
    let mut r = quick_xml::Reader::from_reader(input);
    let cfg = r.config_mut();
    cfg.check_end_names = true;
    cfg.check_comments = true;
    cfg.expand_empty_elements = true;
    let mut st = State {
        exclusive,
        comments,
        prefixes,
        scope: Scopes::default(),
        rendered: Scopes::default(),
        depth: 0,
        elements: 0,
        seen_root: false,
        closed_root: false,
        out: String::with_capacity(1 << 16),
    };
    let mut buf = Vec::with_capacity(1 << 16);
    let mut first = true;
    loop {
        buf.clear();
        let ev = r
            .read_event_into(&mut buf)
            .map_err(|e| bad(format!("malformed XML: {e}")))?;
        let was_first = first;
        first = false;
        match ev {
            Event::Eof => break,
            Event::Decl(d) => {
                if !was_first {
                    return Err(bad("XML declaration not at the start"));
                }
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = String::from_utf8_lossy(&enc).to_ascii_lowercase();
                    if enc != "utf-8" && enc != "utf8" {
                        return Err(Streamed::Fallback(format!("encoding {enc}")));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(Streamed::Fallback("a document type declaration".into()));
            }
            Event::Start(e) => st.start(&e, limits)?,
            Event::End(e) => st.end(e.name().as_ref())?,
            Event::Empty(_) => return Err(bad("empty element not expanded")),
            Event::Text(t) => {
                if t.len() as u64 > limits.max_xml_text_bytes {
                    return Err(bad("limit exceeded: max_xml_text_bytes"));
                }
                let s = unescape(&t, false)?;
                if st.depth > 0 {
                    escape_text(&s, &mut st.out);
                } else if !s.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
                    return Err(bad("text outside the root element"));
                }
            }
            Event::GeneralRef(g) => {
                let name = std::str::from_utf8(&g).map_err(|_| bad("not UTF-8"))?;
                let c = resolve_ref(name)?;
                if st.depth == 0 {
                    return Err(bad("reference outside the root element"));
                }
                let mut tmp = [0u8; 4];
                escape_text(c.encode_utf8(&mut tmp), &mut st.out);
            }
            Event::CData(c) => {
                if st.depth == 0 {
                    return Err(bad("CDATA outside the root element"));
                }
                let s = std::str::from_utf8(&c).map_err(|_| bad("not UTF-8"))?;
                let mut t = String::with_capacity(s.len());
                push_checked(&mut t, &s.replace("\r\n", "\n").replace('\r', "\n"))?;
                escape_text(&t, &mut st.out);
            }
            Event::Comment(c) => {
                if st.comments {
                    let s = std::str::from_utf8(&c).map_err(|_| bad("not UTF-8"))?;
                    let s = s.replace("\r\n", "\n").replace('\r', "\n");
                    st.outside(&format!("<!--{s}-->"));
                }
            }
            Event::PI(p) => {
                let s = std::str::from_utf8(&p).map_err(|_| bad("not UTF-8"))?;
                let s = s.replace("\r\n", "\n").replace('\r', "\n");
                let (target, data) = match s.find(|c: char| c.is_ascii_whitespace()) {
                    Some(i) => (
                        s.get(..i).unwrap_or(""),
                        s.get(i..)
                            .unwrap_or("")
                            .trim_start_matches(|c: char| c.is_ascii_whitespace()),
                    ),
                    None => (s.as_str(), ""),
                };
                if target.eq_ignore_ascii_case("xml") {
                    return Err(bad("a processing instruction named xml"));
                }
                let node = if data.is_empty() {
                    format!("<?{target}?>")
                } else {
                    format!("<?{target} {data}?>")
                };
                st.outside(&node);
            }
        }
        if st.out.len() >= 1 << 16 {
            sink.write(st.out.as_bytes());
            st.out.clear();
        }
    }
    if !st.seen_root || st.depth != 0 {
        return Err(bad("no complete root element"));
    }
    sink.write(st.out.as_bytes());
    Ok(())
}
