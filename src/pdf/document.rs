//! Lazy access to a PDF: cross-reference data first (ISO 32000-1 §7.5), then
//! objects parsed on demand from their offsets. Nothing is loaded whole.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::rc::Rc;

use super::object::{Dict, Lexer, Obj, ObjRef, PErr, PResult, Tok};
use super::source::{Source, read_range};
use crate::error::{Error, Limits, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XrefEntry {
    Free,
    InFile { offset: u64, generation: u16 },
    InStream { stream: u32, index: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum XrefKind {
    Table,
    Stream,
}

/// One cross-reference section, as reached through `startxref` and `/Prev`.
#[derive(Clone, Debug)]
pub struct XrefSection {
    pub offset: u64,
    pub kind: XrefKind,
    /// The entries this section lists (with a hybrid file's /XRefStm entries
    /// after the table's). Shared: views of earlier revisions copy sections.
    pub entries: std::sync::Arc<Vec<(u32, XrefEntry)>>,
    pub trailer: std::sync::Arc<Dict>,
}

type SectionData = (XrefKind, Dict, Vec<(u32, XrefEntry)>);

struct ObjStm {
    data: Vec<u8>,
    first: usize,
    offsets: Vec<(u32, usize)>,
}

pub struct Document<'s> {
    src: &'s dyn Source,
    len: u64,
    pub limits: Limits,
    xref: HashMap<u32, XrefEntry>,
    pub trailer: Dict,
    /// Sections newest first.
    pub sections: Vec<XrefSection>,
    objstm_cache: RefCell<HashMap<u32, Rc<ObjStm>>>,
    resolutions: Cell<usize>,
    depth: Cell<usize>,
    /// Offsets that were wrong and found nearby (reported as warnings).
    pub repairs: RefCell<Vec<String>>,
    /// The trailer names an /Encrypt dictionary.
    pub encrypted: bool,
    /// Objects already parsed, by file offset; shared with [`Document::view_before`] views.
    objects: Rc<RefCell<ObjCache>>,
}

/// Parsed indirect objects by offset, within a byte budget (of their size in the file).
#[derive(Default)]
struct ObjCache {
    /// Object at an offset, and the bytes its text takes (header and value).
    map: HashMap<u64, ((ObjRef, Obj), u64)>,
    bytes: u64,
}

/// Objects larger than this in the file are not kept.
const OBJ_CACHE_MAX_OBJECT: u64 = 64 << 10;
/// Total file bytes of the kept objects; the cache is emptied beyond it.
const OBJ_CACHE_BUDGET: u64 = 4 << 20;

/// How far from a wrong offset the reader looks for the object or table.
const REPAIR_WINDOW: u64 = 256;

/// Deepest nesting of object reads (a stream's /Length may be indirect).
const MAX_READ_DEPTH: usize = 8;

const OBJSTM_CACHE: usize = 32;

impl<'s> Document<'s> {
    pub fn open(src: &'s dyn Source, limits: Limits) -> Result<Self> {
        let len = src.len();
        let head = read_range(src, 0, 1024)?;
        if !head.windows(5).any(|w| w == b"%PDF-") {
            return Err(Error::UnknownFormat("no %PDF- header"));
        }
        let mut doc = Document {
            src,
            len,
            limits,
            xref: HashMap::new(),
            trailer: Dict::default(),
            sections: Vec::new(),
            objstm_cache: RefCell::new(HashMap::new()),
            resolutions: Cell::new(0),
            depth: Cell::new(0),
            repairs: RefCell::new(Vec::new()),
            encrypted: false,
            objects: Rc::default(),
        };
        let start = doc.find_startxref()?;
        doc.load_xref_chain(start)?;
        doc.encrypted = doc.trailer.get(b"Encrypt").is_some();
        Ok(doc)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn source(&self) -> &'s dyn Source {
        self.src
    }

    /// The offset given after the last `startxref` (§7.5.5).
    fn find_startxref(&self) -> Result<u64> {
        self.startxref_before(self.len)?
            .ok_or(Error::pdf(self.len, "no startxref"))?
            .map_err(|at| Error::pdf(at, "bad startxref value"))
    }

    /// The last `startxref` in the 2 KiB before `end` (the end of a revision):
    /// `None` when there is none, `Err(position)` when its value is not an
    /// offset inside the file.
    pub fn startxref_before(&self, end: u64) -> Result<Option<std::result::Result<u64, u64>>> {
        let end = end.min(self.len);
        let tail_len = end.min(2048);
        let tail_off = end.saturating_sub(tail_len);
        let tail = read_range(self.src, tail_off, tail_len as usize)?;
        let Some(pos) = tail.windows(9).rposition(|w| w == b"startxref") else {
            return Ok(None);
        };
        let at = tail_off.saturating_add(pos as u64);
        let after = pos.saturating_add(9);
        let mut lx = Lexer::new(
            tail.get(after..).unwrap_or(&[]),
            at.saturating_add(9),
            true,
            4,
        );
        Ok(Some(match lx.token() {
            Ok(Some(Tok::Int(n))) if n >= 0 && (n as u64) < self.len => Ok(n as u64),
            _ => Err(at),
        }))
    }

    /// Run a parser on a window starting at `offset`, growing the window up
    /// to `max` bytes while the parser needs more.
    pub fn parse_at<T>(
        &self,
        offset: u64,
        max: u64,
        f: impl Fn(&mut Lexer<'_>) -> PResult<T>,
    ) -> Result<T> {
        if offset >= self.len {
            return Err(Error::pdf(offset, "offset beyond end of file"));
        }
        let mut window: u64 = 8192;
        loop {
            let want = window.min(self.len.saturating_sub(offset)).min(max);
            let buf = read_range(self.src, offset, want as usize)?;
            let at_eof = offset.saturating_add(buf.len() as u64) >= self.len;
            let mut lx = Lexer::new(&buf, offset, at_eof, self.limits.max_pdf_depth);
            match f(&mut lx) {
                Ok(v) => return Ok(v),
                Err(PErr::Fatal(e)) => return Err(e),
                Err(PErr::Incomplete) => {
                    if at_eof {
                        return Err(Error::pdf(offset, "object runs past end of file"));
                    }
                    if want >= max {
                        return Err(Error::limit(
                            "max_object_bytes",
                            want.saturating_add(1),
                            max,
                        ));
                    }
                    window = window.saturating_mul(4);
                }
            }
        }
    }

    fn load_xref_chain(&mut self, start: u64) -> Result<()> {
        let mut seen = HashSet::new();
        let mut next = Some(start);
        let mut first = true;
        while let Some(off) = next.take() {
            if !seen.insert(off) {
                return Err(Error::pdf(
                    off,
                    "cross-reference chain loops (/Prev points back)",
                ));
            }
            if seen.len() > self.limits.max_xref_sections {
                return Err(Error::limit(
                    "max_xref_sections",
                    seen.len(),
                    self.limits.max_xref_sections,
                ));
            }
            let (kind, trailer, mut entries) = self.load_section(off)?;
            // Hybrid files: a table's trailer may point to an xref stream (§7.5.8.4).
            if kind == XrefKind::Table {
                if let Some(Obj::Int(stm)) = trailer.get(b"XRefStm") {
                    let stm = u64::try_from(*stm).map_err(|_| Error::pdf(off, "bad /XRefStm"))?;
                    if seen.insert(stm) {
                        let (_, _, more) = self.load_section(stm)?;
                        entries.extend(more);
                    }
                }
            }
            for (num, e) in &entries {
                self.add_entry(*num, *e)?;
            }
            self.sections.push(XrefSection {
                offset: off,
                kind,
                entries: std::sync::Arc::new(entries),
                trailer: std::sync::Arc::new(trailer.clone()),
            });
            next = match trailer.get(b"Prev") {
                // Some writers put /Prev 0 in the first revision: offset 0 is the header, never a section.
                Some(Obj::Int(0)) => {
                    self.note_repair("a trailer has /Prev 0 (ignored)".to_string());
                    None
                }
                Some(Obj::Int(p)) => {
                    Some(u64::try_from(*p).map_err(|_| Error::pdf(off, "bad /Prev"))?)
                }
                None => None,
                Some(_) => return Err(Error::pdf(off, "bad /Prev")),
            };
            if first {
                self.trailer = trailer;
                first = false;
            }
        }
        Ok(())
    }

    fn add_entry(&mut self, num: u32, e: XrefEntry) -> Result<()> {
        // Older sections never override newer ones.
        if !self.xref.contains_key(&num) {
            if self.xref.len() as u64 >= self.limits.max_xref_entries {
                return Err(Error::limit(
                    "max_xref_entries",
                    self.xref.len().saturating_add(1),
                    self.limits.max_xref_entries,
                ));
            }
            self.xref.insert(num, e);
        }
        Ok(())
    }

    /// Find `what` within [REPAIR_WINDOW] bytes of `off`, nearest first.
    fn search_near(&self, off: u64, what: &[u8]) -> Result<Option<u64>> {
        let start = off.saturating_sub(REPAIR_WINDOW);
        let buf = read_range(
            self.src,
            start,
            (REPAIR_WINDOW as usize)
                .saturating_mul(2)
                .saturating_add(what.len()),
        )?;
        let mut best: Option<u64> = None;
        for (i, w) in buf.windows(what.len()).enumerate() {
            if w == what {
                let at = start.saturating_add(i as u64);
                // Must start a token: preceded by white space or the start of the file.
                let before = i.checked_sub(1).and_then(|j| buf.get(j));
                let ok = match before {
                    None => start == 0,
                    Some(b) => super::object::is_white(*b),
                };
                if ok && best.is_none_or(|b| at.abs_diff(off) < b.abs_diff(off)) {
                    best = Some(at);
                }
            }
        }
        Ok(best)
    }

    fn note_repair(&self, msg: String) {
        let mut r = self.repairs.borrow_mut();
        if r.len() < 100 {
            r.push(msg);
        }
    }

    fn load_section(&mut self, off: u64) -> Result<SectionData> {
        match self.load_section_at(off) {
            Ok(x) => Ok(x),
            Err(e) => {
                let found = match self.search_near(off, b"xref")? {
                    Some(at) if at != off => Some(at),
                    _ => None,
                };
                match found {
                    Some(at) => {
                        self.note_repair(format!(
                            "cross-reference section at {at}, not at the offset {off} given"
                        ));
                        self.load_section_at(at)
                    }
                    None => Err(e),
                }
            }
        }
    }

    fn load_section_at(&mut self, off: u64) -> Result<SectionData> {
        let head = read_range(self.src, off, 4)?;
        if head == b"xref" {
            let max_entries = self.limits.max_xref_entries;
            let (entries, trailer) = self.parse_at(off, self.limits.max_object_bytes, |lx| {
                lx.keyword(b"xref")?;
                let mut entries = Vec::new();
                loop {
                    match lx.token()? {
                        Some(Tok::Keyword(b"trailer")) => break,
                        Some(Tok::Int(start)) => {
                            let count = match lx.token()? {
                                Some(Tok::Int(c)) if c >= 0 => c as u64,
                                _ => {
                                    return Err(PErr::Fatal(Error::pdf(
                                        lx.abs(),
                                        "bad xref subsection",
                                    )));
                                }
                            };
                            if start < 0
                                || count > max_entries
                                || (entries.len() as u64).saturating_add(count) > max_entries
                            {
                                return Err(PErr::Fatal(Error::limit(
                                    "max_xref_entries",
                                    count,
                                    max_entries,
                                )));
                            }
                            for i in 0..count {
                                let o = match lx.token()? {
                                    Some(Tok::Int(o)) if o >= 0 => o as u64,
                                    _ => {
                                        return Err(PErr::Fatal(Error::pdf(
                                            lx.abs(),
                                            "bad xref entry",
                                        )));
                                    }
                                };
                                let g = match lx.token()? {
                                    Some(Tok::Int(g)) if (0..=65535).contains(&g) => g as u16,
                                    _ => {
                                        return Err(PErr::Fatal(Error::pdf(
                                            lx.abs(),
                                            "bad xref entry",
                                        )));
                                    }
                                };
                                let kind = match lx.token()? {
                                    Some(Tok::Keyword(b"n")) => true,
                                    Some(Tok::Keyword(b"f")) => false,
                                    _ => {
                                        return Err(PErr::Fatal(Error::pdf(
                                            lx.abs(),
                                            "bad xref entry type",
                                        )));
                                    }
                                };
                                let num = u32::try_from((start as u64).saturating_add(i)).map_err(
                                    |_| {
                                        PErr::Fatal(Error::pdf(lx.abs(), "object number too large"))
                                    },
                                )?;
                                entries.push((
                                    num,
                                    if kind {
                                        XrefEntry::InFile {
                                            offset: o,
                                            generation: g,
                                        }
                                    } else {
                                        XrefEntry::Free
                                    },
                                ));
                            }
                        }
                        _ => return Err(PErr::Fatal(Error::pdf(lx.abs(), "bad xref table"))),
                    }
                }
                let trailer = match lx.object(0)? {
                    Obj::Dict(d) => d,
                    _ => {
                        return Err(PErr::Fatal(Error::pdf(
                            lx.abs(),
                            "trailer is not a dictionary",
                        )));
                    }
                };
                Ok((entries, trailer))
            })?;
            Ok((XrefKind::Table, trailer, entries))
        } else {
            let (_, obj) = self.read_object_at(off)?;
            let Obj::Stream(stream) = obj else {
                return Err(Error::pdf(
                    off,
                    "startxref does not point to an xref table or stream",
                ));
            };
            if stream.dict.name(b"Type") != Some(b"XRef") {
                return Err(Error::pdf(off, "stream at startxref is not /Type /XRef"));
            }
            let data = self.stream_data(&stream)?;
            let entries =
                parse_xref_stream(&stream.dict, &data, off, self.limits.max_xref_entries)?;
            Ok((XrefKind::Stream, stream.dict, entries))
        }
    }

    /// Parse `n g obj ... endobj` at `offset`. Streams keep their position only.
    pub fn read_object_at(&self, offset: u64) -> Result<(ObjRef, Obj)> {
        self.read_object_sized(offset).map(|(r, _)| r)
    }

    /// [`Self::read_object_at`], with the bytes the object's header and
    /// value take in the file (through `stream` for a stream).
    fn read_object_sized(&self, offset: u64) -> Result<((ObjRef, Obj), u64)> {
        let d = self.depth.get();
        if d >= MAX_READ_DEPTH {
            return Err(Error::limit(
                "object_read_depth",
                d.saturating_add(1),
                MAX_READ_DEPTH,
            ));
        }
        if let Some(hit) = self.objects.borrow().map.get(&offset) {
            return Ok(hit.clone());
        }
        self.depth.set(d.saturating_add(1));
        let r = self.read_object_at_inner(offset);
        self.depth.set(d);
        let (r, size) = r?;
        if size <= OBJ_CACHE_MAX_OBJECT {
            let mut c = self.objects.borrow_mut();
            if c.bytes.saturating_add(size) > OBJ_CACHE_BUDGET {
                c.map.clear();
                c.bytes = 0;
            }
            c.bytes = c.bytes.saturating_add(size);
            c.map.insert(offset, (r.clone(), size));
        }
        Ok((r, size))
    }

    /// The object at `offset` and how many bytes of the file its text takes.
    fn read_object_at_inner(&self, offset: u64) -> Result<((ObjRef, Obj), u64)> {
        let (r, obj, after_dict, end) =
            self.parse_at(offset, self.limits.max_object_bytes, |lx| {
                let r = lx.object_header()?;
                let obj = lx.object(0)?;
                // Peek for `stream`.
                let save = lx.pos;
                let is_stream = matches!(lx.token()?, Some(Tok::Keyword(b"stream")));
                let after = if is_stream { Some(lx.abs()) } else { None };
                if !is_stream {
                    lx.pos = save;
                }
                Ok((r, obj, after, lx.abs()))
            })?;
        let size = end.saturating_sub(offset);
        let Some(after_kw) = after_dict else {
            return Ok(((r, obj), size));
        };
        let Obj::Dict(dict) = obj else {
            return Err(Error::pdf(offset, "stream without a dictionary"));
        };
        // §7.3.8.1: `stream` is followed by CRLF or LF.
        let eol = read_range(self.src, after_kw, 2)?;
        let data_start = match eol.as_slice() {
            [b'\r', b'\n', ..] => after_kw.saturating_add(2),
            [b'\n', ..] | [b'\r', ..] => after_kw.saturating_add(1),
            _ => after_kw,
        };
        let data_len = match dict.get(b"Length") {
            Some(Obj::Int(n)) if *n >= 0 => Some(*n as u64),
            Some(Obj::Ref(lr)) if lr.num != r.num => match self.resolve_ref(*lr) {
                Ok(Obj::Int(n)) if n >= 0 => Some(n as u64),
                _ => None,
            },
            _ => None,
        };
        let data_len = match data_len {
            Some(l) if data_start.checked_add(l).is_some_and(|e| e <= self.len) => Some(l),
            _ => None,
        };
        Ok((
            (
                r,
                Obj::Stream(Box::new(super::object::Stream {
                    dict,
                    data_start,
                    data_len,
                })),
            ),
            size,
        ))
    }

    /// Decoded data of a stream, bounded by `max` bytes (raw and decoded) and `max_stream_bytes`.
    pub fn stream_data_max(&self, s: &super::object::Stream, max: u64) -> Result<Vec<u8>> {
        let (max, what) = if max < self.limits.max_stream_bytes {
            (max, "stream_bytes")
        } else {
            (self.limits.max_stream_bytes, "max_stream_bytes")
        };
        let len = match s.data_len {
            Some(l) => l,
            None => self.find_endstream(s.data_start)?,
        };
        if len > max {
            return Err(Error::limit(what, len, max));
        }
        let raw = read_range(self.src, s.data_start, len as usize)?;
        decode_stream(&s.dict, raw, max)
    }

    /// Decoded data of a stream, bounded by `max_stream_bytes`.
    pub fn stream_data(&self, s: &super::object::Stream) -> Result<Vec<u8>> {
        self.stream_data_max(s, self.limits.max_stream_bytes)
    }

    fn find_endstream(&self, start: u64) -> Result<u64> {
        let max = self
            .limits
            .max_stream_bytes
            .min(8 << 20)
            .min(self.len.saturating_sub(start));
        let buf = read_range(self.src, start, (max as usize).saturating_add(9))?;
        let pos = buf
            .windows(9)
            .position(|w| w == b"endstream")
            .ok_or(Error::pdf(
                start,
                "stream without a usable /Length or endstream",
            ))?;
        let body = buf.get(..pos).unwrap_or(&[]);
        let end = body
            .iter()
            .rposition(|b| !matches!(b, b'\r' | b'\n'))
            .map_or(0, |i| i.saturating_add(1));
        Ok(end as u64)
    }

    fn count_resolution(&self) -> Result<()> {
        let n = self.resolutions.get().saturating_add(1);
        self.resolutions.set(n);
        if n > self.limits.max_object_resolutions {
            return Err(Error::limit(
                "max_object_resolutions",
                n,
                self.limits.max_object_resolutions,
            ));
        }
        Ok(())
    }

    /// The numbers of the objects the latest cross-reference defines (not
    /// free), ascending.
    pub fn object_numbers(&self) -> Vec<u32> {
        let mut nums: Vec<u32> = self
            .xref
            .iter()
            .filter(|(_, e)| !matches!(e, XrefEntry::Free))
            .map(|(n, _)| *n)
            .collect();
        nums.sort_unstable();
        nums
    }

    pub fn xref_entry(&self, num: u32) -> Option<XrefEntry> {
        self.xref.get(&num).copied()
    }

    /// Resolve an indirect reference. Missing or free objects are `null` (§7.3.10).
    pub fn resolve_ref(&self, r: ObjRef) -> Result<Obj> {
        self.count_resolution()?;
        match self.xref.get(&r.num) {
            None | Some(XrefEntry::Free) => Ok(Obj::Null),
            Some(XrefEntry::InFile { offset, generation }) => {
                if *generation != r.generation {
                    return Ok(Obj::Null);
                }
                let (found, obj) = self.read_object_at(*offset)?;
                if found != r {
                    return Err(Error::pdf(
                        *offset,
                        "xref offset points to a different object",
                    ));
                }
                Ok(obj)
            }
            Some(XrefEntry::InStream { stream, index }) => {
                if r.generation != 0 {
                    return Ok(Obj::Null);
                }
                let os = self.object_stream(*stream)?;
                let (num, rel) = *os
                    .offsets
                    .get(*index as usize)
                    .ok_or(Error::pdf(0, "object stream index out of range"))?;
                if num != r.num {
                    return Err(Error::pdf(0, "object stream entry number mismatch"));
                }
                let start = os
                    .first
                    .checked_add(rel)
                    .ok_or(Error::pdf(0, "object stream offset overflow"))?;
                let data = os
                    .data
                    .get(start..)
                    .ok_or(Error::pdf(0, "object stream offset out of range"))?;
                let mut lx = Lexer::new(data, 0, true, self.limits.max_pdf_depth);
                match lx.object(0) {
                    Ok(o) => Ok(o),
                    Err(PErr::Fatal(e)) => Err(e),
                    Err(PErr::Incomplete) => {
                        Err(Error::pdf(0, "truncated object in object stream"))
                    }
                }
            }
        }
    }

    fn object_stream(&self, num: u32) -> Result<Rc<ObjStm>> {
        if let Some(os) = self.objstm_cache.borrow().get(&num) {
            return Ok(os.clone());
        }
        let offset = match self.xref.get(&num) {
            Some(XrefEntry::InFile { offset, .. }) => *offset,
            _ => return Err(Error::pdf(0, "object stream is not a plain object")),
        };
        let (_, obj) = self.read_object_at(offset)?;
        let Obj::Stream(s) = obj else {
            return Err(Error::pdf(offset, "object stream is not a stream"));
        };
        if s.dict.name(b"Type") != Some(b"ObjStm") {
            return Err(Error::pdf(offset, "object stream without /Type /ObjStm"));
        }
        if self.encrypted {
            return Err(Error::Unsupported(
                "object streams of an encrypted PDF (decryption is not supported yet)".into(),
            ));
        }
        let n = s
            .dict
            .int(b"N")
            .filter(|n| *n >= 0)
            .ok_or(Error::pdf(offset, "object stream /N"))? as usize;
        let first = s
            .dict
            .int(b"First")
            .filter(|n| *n >= 0)
            .ok_or(Error::pdf(offset, "object stream /First"))? as usize;
        let data = self.stream_data(&s)?;
        if n > data.len() {
            return Err(Error::pdf(offset, "object stream /N too large"));
        }
        let header = data
            .get(..first)
            .ok_or(Error::pdf(offset, "object stream /First out of range"))?;
        let mut lx = Lexer::new(header, 0, true, 4);
        let mut offsets = Vec::with_capacity(n);
        for _ in 0..n {
            match (lx.token(), lx.token()) {
                (Ok(Some(Tok::Int(a))), Ok(Some(Tok::Int(b))))
                    if a >= 0 && b >= 0 && a <= i64::from(u32::MAX) =>
                {
                    offsets.push((a as u32, b as usize))
                }
                _ => return Err(Error::pdf(offset, "bad object stream header")),
            }
        }
        let os = Rc::new(ObjStm {
            data,
            first,
            offsets,
        });
        let mut cache = self.objstm_cache.borrow_mut();
        if cache.len() >= OBJSTM_CACHE {
            cache.clear();
        }
        cache.insert(num, os.clone());
        Ok(os)
    }

    /// Follow references until a direct object (bounded).
    pub fn resolve(&self, o: &Obj) -> Result<Obj> {
        let mut cur = o.clone();
        for _ in 0..32 {
            match cur {
                Obj::Ref(r) => cur = self.resolve_ref(r)?,
                other => return Ok(other),
            }
        }
        Err(Error::pdf(0, "reference chain too long"))
    }

    /// Resolve and require a dictionary (or a stream's dictionary).
    pub fn resolve_dict(&self, o: &Obj) -> Result<Option<Dict>> {
        Ok(match self.resolve(o)? {
            Obj::Dict(d) => Some(d),
            Obj::Stream(s) => Some(s.dict),
            _ => None,
        })
    }

    /// The document as it was before `end`: only the cross-reference sections
    /// that start before that offset, with the newest of them giving the trailer.
    /// `None` when no section starts before `end`.
    pub fn view_before(&self, end: u64) -> Option<Document<'s>> {
        let first = self.sections.iter().position(|s| s.offset < end)?;
        let kept = self.sections.get(first..)?;
        let mut xref = HashMap::new();
        for s in kept {
            for (num, e) in s.entries.iter() {
                xref.entry(*num).or_insert(*e);
            }
        }
        Some(Document {
            src: self.src,
            len: self.len,
            limits: self.limits.clone(),
            xref,
            trailer: (*kept.first()?.trailer).clone(),
            sections: kept.to_vec(),
            objstm_cache: RefCell::new(HashMap::new()),
            resolutions: Cell::new(0),
            depth: Cell::new(0),
            repairs: RefCell::new(Vec::new()),
            encrypted: self.encrypted,
            objects: self.objects.clone(),
        })
    }

    /// The objects a cross-reference section lists — the versions it
    /// defines — read as the document stood at that section (object streams
    /// included). Unreadable entries are left out.
    pub fn listed_objects<'a>(
        &'a self,
        section: &'a XrefSection,
    ) -> impl Iterator<Item = (u32, Obj)> + 'a {
        // The revision's own view, made only when an object stream needs it.
        let view = std::cell::OnceCell::new();
        section.entries.iter().filter_map(move |(num, e)| {
            let obj = match e {
                XrefEntry::Free => return None,
                XrefEntry::InFile { offset, .. } => self.read_object_at(*offset).ok()?.1,
                XrefEntry::InStream { .. } => view
                    .get_or_init(|| self.view_before(section.offset.saturating_add(1)))
                    .as_ref()?
                    .resolve_num(*num)
                    .ok()?,
            };
            Some((*num, obj))
        })
    }

    /// Resolve object `num` with whatever generation the cross-reference gives it.
    pub fn resolve_num(&self, num: u32) -> Result<Obj> {
        match self.xref.get(&num) {
            None | Some(XrefEntry::Free) => Ok(Obj::Null),
            Some(XrefEntry::InFile { generation, .. }) => self.resolve_ref(ObjRef {
                num,
                generation: *generation,
            }),
            Some(XrefEntry::InStream { .. }) => self.resolve_ref(ObjRef { num, generation: 0 }),
        }
    }

    pub fn catalog(&self) -> Result<Dict> {
        let root = self
            .trailer
            .get(b"Root")
            .ok_or(Error::pdf(0, "trailer has no /Root"))?;
        self.resolve_dict(root)?
            .ok_or(Error::pdf(0, "/Root is not a dictionary"))
    }

    /// Where the bytes from `from` (the end of a revision) to the end of the
    /// file stop being incremental updates: each position (at most
    /// [`MAX_STRAY`]) where something starts that is neither whitespace, a
    /// comment, an object that a cross-reference section from `from` on lists
    /// (each listing explains one object), one of those sections with its
    /// trailer, nor `startxref`. Such bytes are invisible to a reader that
    /// follows the cross-references and shown by one that rebuilds them
    /// (a shadow object, or an update without a cross-reference section).
    pub fn stray_after(&self, from: u64) -> Vec<u64> {
        let later: Vec<&XrefSection> = self.sections.iter().filter(|s| s.offset >= from).collect();
        let mut listed: HashMap<u32, Vec<u64>> = HashMap::new();
        let mut heads: HashSet<u64> = HashSet::new();
        for s in &later {
            heads.insert(s.offset);
            if let Some(Obj::Int(x)) = s.trailer.get(b"XRefStm") {
                heads.insert(*x as u64);
            }
            for (num, e) in s.entries.iter() {
                if let XrefEntry::InFile { offset, .. } = e {
                    listed.entry(*num).or_default().push(*offset);
                }
            }
        }
        let mut stray = Vec::new();
        let mut p = from;
        while p < self.len && stray.len() < MAX_STRAY {
            let Ok(at) = self.skip_blank(p) else {
                stray.push(p);
                break;
            };
            p = at;
            if p >= self.len {
                break;
            }
            let head = read_range(self.src, p, 16).unwrap_or_default();
            let next = if head.starts_with(b"startxref") {
                self.parse_at(p, 64, |lx| {
                    lx.keyword(b"startxref")?;
                    match lx.token()? {
                        Some(Tok::Int(_)) => Ok(lx.abs()),
                        _ => Err(lx.err("expected an offset")),
                    }
                })
                .ok()
            } else if head.starts_with(b"xref") {
                later
                    .iter()
                    .find(|s| s.offset == p && s.kind == XrefKind::Table)
                    .and_then(|s| self.table_end(p, s.entries.len()))
            } else if head.first().is_some_and(u8::is_ascii_digit) {
                self.object_end(p).ok().and_then(|(r, end)| {
                    if heads.contains(&p) {
                        return Some(end);
                    }
                    let offsets = listed.get_mut(&r.num)?;
                    let i = offsets
                        .iter()
                        .position(|o| o.abs_diff(p) <= REPAIR_WINDOW)?;
                    offsets.swap_remove(i);
                    Some(end)
                })
            } else {
                None
            };
            match next {
                Some(n) if n > p => p = n,
                _ => {
                    stray.push(p);
                    p = self.after_eof_marker(p);
                }
            }
        }
        stray
    }

    /// The first byte from `p` on that is not whitespace or in a comment.
    fn skip_blank(&self, mut p: u64) -> Result<u64> {
        loop {
            let buf = read_range(self.src, p, 4096.min(self.len.saturating_sub(p)) as usize)?;
            if buf.is_empty() {
                return Ok(p);
            }
            let mut lx = Lexer::new(&buf, p, p.saturating_add(buf.len() as u64) >= self.len, 1);
            match lx.skip_ws() {
                Ok(()) => return Ok(lx.abs()),
                Err(PErr::Incomplete) => {
                    // A long comment or blank run: go on after what was seen.
                    let seen = lx.abs();
                    p = if seen > p {
                        seen
                    } else {
                        p.saturating_add(buf.len() as u64)
                    };
                }
                Err(PErr::Fatal(e)) => return Err(e),
            }
        }
    }

    /// Just after the cross-reference table at `p` (of `entries` entries) and its trailer.
    fn table_end(&self, p: u64, entries: usize) -> Option<u64> {
        let span = (entries as u64).saturating_mul(21).saturating_add(4096);
        let buf = read_range(self.src, p, span.min(self.len.saturating_sub(p)) as usize).ok()?;
        let t = buf.windows(7).position(|w| w == b"trailer")? as u64;
        self.parse_at(p.saturating_add(t), self.limits.max_object_bytes, |lx| {
            lx.keyword(b"trailer")?;
            match lx.object(0)? {
                Obj::Dict(_) => Ok(lx.abs()),
                _ => Err(lx.err("trailer is not a dictionary")),
            }
        })
        .ok()
    }

    /// The object at `offset` and where its `endobj` ends (or its value,
    /// when `endobj` is missing).
    fn object_end(&self, offset: u64) -> Result<(ObjRef, u64)> {
        // The object as every reader sees it (cached: signature dictionaries
        // and the rest were read already), and where its value ends.
        let ((r, obj), size) = self.read_object_sized(offset)?;
        let value_end = match &obj {
            Obj::Stream(s) => {
                let after_endstream = |data_end: u64| {
                    self.parse_at(data_end, 4096, |lx| {
                        lx.keyword(b"endstream")?;
                        Ok(lx.abs())
                    })
                };
                // A wrong /Length is common in honest files: where `endstream`
                // is not at the stated end, the stream ends at the first one.
                match s
                    .data_len
                    .map(|l| after_endstream(s.data_start.saturating_add(l)))
                {
                    Some(Ok(end)) => end,
                    _ => after_endstream(
                        s.data_start
                            .saturating_add(self.find_endstream(s.data_start)?),
                    )?,
                }
            }
            _ => offset.saturating_add(size),
        };
        // Then `endobj`, when it is there.
        let end = self
            .parse_at(value_end, 64, |lx| {
                let save = lx.pos;
                if !matches!(lx.token()?, Some(Tok::Keyword(b"endobj"))) {
                    lx.pos = save;
                }
                Ok(lx.abs())
            })
            .unwrap_or(value_end);
        Ok((r, end))
    }

    /// Just after the next `%%EOF` after `p`, or the end of the file.
    fn after_eof_marker(&self, p: u64) -> u64 {
        let mut at = p.saturating_add(1);
        while at < self.len {
            let want = (1u64 << 16).min(self.len.saturating_sub(at));
            let Ok(buf) = read_range(self.src, at, want.saturating_add(4) as usize) else {
                break;
            };
            if let Some(i) = buf.windows(5).position(|w| w == b"%%EOF") {
                return at.saturating_add(i as u64).saturating_add(5);
            }
            at = at.saturating_add(want);
        }
        self.len
    }
}

/// Most stray positions [`Document::stray_after`] reports.
pub const MAX_STRAY: usize = 16;

fn parse_xref_stream(
    dict: &Dict,
    data: &[u8],
    off: u64,
    max_entries: u64,
) -> Result<Vec<(u32, XrefEntry)>> {
    let bad = |w| Error::pdf(off, w);
    let w: Vec<usize> = match dict.get(b"W") {
        Some(Obj::Array(a)) if a.len() == 3 => a
            .iter()
            .map(|x| match x {
                Obj::Int(i) if (0..=8).contains(i) => Ok(*i as usize),
                _ => Err(bad("bad /W")),
            })
            .collect::<Result<_>>()?,
        _ => return Err(bad("missing /W")),
    };
    let size = dict
        .int(b"Size")
        .filter(|s| *s >= 0)
        .ok_or(bad("missing /Size"))?;
    let index: Vec<(u64, u64)> = match dict.get(b"Index") {
        None => vec![(0, size as u64)],
        Some(Obj::Array(a)) if a.len() % 2 == 0 => a
            .chunks(2)
            .map(|p| match p {
                [Obj::Int(s), Obj::Int(c)] if *s >= 0 && *c >= 0 => Ok((*s as u64, *c as u64)),
                _ => Err(bad("bad /Index")),
            })
            .collect::<Result<_>>()?,
        _ => return Err(bad("bad /Index")),
    };
    let [w0, w1, w2] = w.as_slice() else {
        return Err(bad("bad /W"));
    };
    let (w0, w1, w2) = (*w0, *w1, *w2);
    let row = w0.saturating_add(w1).saturating_add(w2);
    if row == 0 {
        return Err(bad("bad /W"));
    }
    let total: u64 = index.iter().map(|(_, c)| *c).sum();
    if total > max_entries {
        return Err(Error::limit("max_xref_entries", total, max_entries));
    }
    let field = |bytes: &[u8]| bytes.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
    let mut out = Vec::with_capacity(total as usize);
    let mut pos = 0usize;
    for (start, count) in index {
        for i in 0..count {
            let end = pos.saturating_add(row);
            let Some(rowb) = data.get(pos..end) else {
                return Err(bad("xref stream data too short"));
            };
            pos = end;
            let (b0, rest) = rowb.split_at_checked(w0).ok_or(bad("bad /W"))?;
            let (b1, b2) = rest.split_at_checked(w1).ok_or(bad("bad /W"))?;
            let t = if w0 == 0 { 1 } else { field(b0) };
            let f2 = field(b1);
            let f3 = field(b2);
            let num = u32::try_from(start.saturating_add(i))
                .map_err(|_| bad("object number too large"))?;
            let e = match t {
                0 => XrefEntry::Free,
                1 => XrefEntry::InFile {
                    offset: f2,
                    generation: u16::try_from(f3).map_err(|_| bad("bad generation"))?,
                },
                2 => XrefEntry::InStream {
                    stream: u32::try_from(f2).map_err(|_| bad("bad object stream number"))?,
                    index: u32::try_from(f3).map_err(|_| bad("bad object stream index"))?,
                },
                // §7.5.8.3: unknown types are treated as null references.
                _ => XrefEntry::Free,
            };
            out.push((num, e));
        }
    }
    Ok(out)
}

/// Apply the stream's filters (FlateDecode with optional PNG predictors).
pub fn decode_stream(dict: &Dict, raw: Vec<u8>, max: u64) -> Result<Vec<u8>> {
    let filters: Vec<Vec<u8>> = match dict.get(b"Filter") {
        None => vec![],
        Some(Obj::Name(n)) => vec![n.clone()],
        Some(Obj::Array(a)) => a
            .iter()
            .map(|f| match f {
                Obj::Name(n) => Ok(n.clone()),
                _ => Err(Error::pdf(0, "bad /Filter")),
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(Error::pdf(0, "bad /Filter")),
    };
    let parms = dict.get(b"DecodeParms");
    let mut data = raw;
    for (i, f) in filters.iter().enumerate() {
        let p = match parms {
            Some(Obj::Dict(d)) if i == 0 => Some(d.clone()),
            Some(Obj::Array(a)) => a.get(i).and_then(|x| x.as_dict()).cloned(),
            _ => None,
        };
        data = match f.as_slice() {
            b"FlateDecode" | b"Fl" => {
                let mut out = Vec::new();
                let mut dec =
                    flate2::read::ZlibDecoder::new(data.as_slice()).take(max.saturating_add(1));
                dec.read_to_end(&mut out)
                    .map_err(|_| Error::pdf(0, "corrupt FlateDecode stream"))?;
                if out.len() as u64 > max {
                    return Err(Error::limit("max_stream_bytes", out.len(), max));
                }
                match p {
                    Some(p) => apply_predictor(&p, out)?,
                    None => out,
                }
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "stream filter /{}",
                    String::from_utf8_lossy(other)
                )));
            }
        };
    }
    Ok(data)
}

fn apply_predictor(p: &Dict, data: Vec<u8>) -> Result<Vec<u8>> {
    let predictor = p.int(b"Predictor").unwrap_or(1);
    if predictor == 1 {
        return Ok(data);
    }
    if predictor < 10 {
        return Err(Error::Unsupported(format!("predictor {predictor}")));
    }
    let colors = p.int(b"Colors").unwrap_or(1).clamp(1, 32) as usize;
    let bpc = p.int(b"BitsPerComponent").unwrap_or(8).clamp(1, 16) as usize;
    let columns = p.int(b"Columns").unwrap_or(1).clamp(1, 1 << 20) as usize;
    let bpp = colors.saturating_mul(bpc).div_ceil(8).max(1);
    let rowlen = colors
        .saturating_mul(bpc)
        .saturating_mul(columns)
        .div_ceil(8);
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; rowlen];
    for chunk in data.chunks(rowlen.saturating_add(1)) {
        let Some((&ft, rest)) = chunk.split_first() else {
            break;
        };
        if rest.len() < rowlen {
            break;
        }
        let mut row = rest.to_vec();
        for i in 0..rowlen {
            // PNG (RFC 2083 §6): a = left, b = up, c = up-left.
            let left = |r: &[u8]| {
                i.checked_sub(bpp)
                    .and_then(|j| r.get(j))
                    .copied()
                    .unwrap_or(0)
            };
            let a = left(&row);
            let b = prev.get(i).copied().unwrap_or(0);
            let c = left(&prev);
            let Some(x) = row.get_mut(i) else {
                break;
            };
            *x = match ft {
                0 => *x,
                1 => x.wrapping_add(a),
                2 => x.wrapping_add(b),
                3 => x.wrapping_add((u16::from(a).saturating_add(u16::from(b)) >> 1) as u8),
                4 => {
                    let (a16, b16, c16) = (i16::from(a), i16::from(b), i16::from(c));
                    let pa = b16.saturating_sub(c16).saturating_abs();
                    let pb = a16.saturating_sub(c16).saturating_abs();
                    let pc = a16
                        .saturating_add(b16)
                        .saturating_sub(c16.saturating_mul(2))
                        .saturating_abs();
                    let pred = if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    };
                    x.wrapping_add(pred)
                }
                _ => return Err(Error::pdf(0, "bad PNG predictor row type")),
            };
        }
        out.extend_from_slice(&row);
        prev = row;
    }
    Ok(out)
}
