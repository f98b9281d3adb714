//! PDF objects and a bounded parser for them (ISO 32000-1 §7.2–7.3).
//!
//! The parser works on a window of the file with its absolute offset, so it
//! can report where each string lies (needed to check that a ByteRange gap is
//! exactly the signature's `/Contents`). When the window ends before the
//! object does, it answers [`PErr::Incomplete`] and the caller reads more.

use crate::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    pub num: u32,
    pub generation: u16,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PdfStr {
    /// Shared: objects are cloned out of the parsed-object cache, and a
    /// signature's /Contents can be large.
    pub bytes: std::sync::Arc<[u8]>,
    pub hex: bool,
    /// Absolute offset of the opening `<` or `(`.
    pub start: u64,
    /// Absolute offset just after the closing `>` or `)`.
    pub end: u64,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Dict(pub Vec<(Vec<u8>, Obj)>);

impl Dict {
    /// The value of `key`; with duplicated keys, the last one (as most readers do).
    pub fn get(&self, key: &[u8]) -> Option<&Obj> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    pub fn has_duplicate_keys(&self) -> bool {
        let mut keys: Vec<&[u8]> = self.0.iter().map(|(k, _)| k.as_slice()).collect();
        keys.sort_unstable();
        keys.windows(2).any(|w| matches!(w, [a, b] if a == b))
    }
    pub fn name(&self, key: &[u8]) -> Option<&[u8]> {
        match self.get(key) {
            Some(Obj::Name(n)) => Some(n),
            _ => None,
        }
    }
    pub fn int(&self, key: &[u8]) -> Option<i64> {
        match self.get(key) {
            Some(Obj::Int(i)) => Some(*i),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stream {
    pub dict: Dict,
    /// Absolute offset of the first data byte.
    pub data_start: u64,
    /// Data length as declared (/Length), when it could be determined.
    pub data_len: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Obj {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Str(PdfStr),
    Name(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Dict),
    Ref(ObjRef),
    Stream(Box<Stream>),
}

impl Obj {
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Obj::Dict(d) => Some(d),
            Obj::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }
    pub fn type_name(&self) -> &'static str {
        match self {
            Obj::Null => "null",
            Obj::Bool(_) => "boolean",
            Obj::Int(_) => "integer",
            Obj::Real(_) => "real",
            Obj::Str(_) => "string",
            Obj::Name(_) => "name",
            Obj::Array(_) => "array",
            Obj::Dict(_) => "dictionary",
            Obj::Ref(_) => "reference",
            Obj::Stream(_) => "stream",
        }
    }
}

/// Parse errors: either the window was too short, or a real error.
#[derive(Debug)]
pub enum PErr {
    Incomplete,
    Fatal(Error),
}

impl From<Error> for PErr {
    fn from(e: Error) -> Self {
        PErr::Fatal(e)
    }
}

pub type PResult<T> = Result<T, PErr>;

/// A byte's value as a hex digit, or [`HEX_WHITE`] (skipped) or
/// [`HEX_BAD`] (an error) inside a hex string.
const fn hex_digit(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b.saturating_sub(b'0'),
        b'a'..=b'f' => b.saturating_sub(b'a').saturating_add(10),
        b'A'..=b'F' => b.saturating_sub(b'A').saturating_add(10),
        0 | 9 | 10 | 12 | 13 | 32 => HEX_WHITE,
        _ => HEX_BAD,
    }
}
const HEX_WHITE: u8 = 0xFE;
const HEX_BAD: u8 = 0xFF;

pub fn is_white(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}

pub fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

#[derive(Debug, PartialEq)]
pub enum Tok<'a> {
    Int(i64),
    Real(f64),
    Name(Vec<u8>),
    Str(PdfStr),
    ArrOpen,
    ArrClose,
    DictOpen,
    DictClose,
    Keyword(&'a [u8]),
}

/// A lexer over a window of the file.
pub struct Lexer<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
    /// Absolute offset of `buf[0]`.
    pub base: u64,
    /// True when the window reaches the end of the file.
    pub at_eof: bool,
    pub max_depth: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(buf: &'a [u8], base: u64, at_eof: bool, max_depth: usize) -> Self {
        Lexer {
            buf,
            pos: 0,
            base,
            at_eof,
            max_depth,
        }
    }

    pub fn abs(&self) -> u64 {
        self.base.saturating_add(self.pos as u64)
    }

    /// Move on by `n` bytes (the position never wraps; reads past the end find nothing).
    fn bump(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n);
    }

    pub fn err(&self, what: &'static str) -> PErr {
        PErr::Fatal(Error::pdf(self.abs(), what))
    }

    fn eof(&self, what: &'static str) -> PErr {
        if self.at_eof {
            self.err(what)
        } else {
            PErr::Incomplete
        }
    }

    pub fn skip_ws(&mut self) -> PResult<()> {
        loop {
            match self.buf.get(self.pos) {
                Some(b) if is_white(*b) => self.bump(1),
                Some(b'%') => {
                    while let Some(b) = self.buf.get(self.pos) {
                        if *b == b'\n' || *b == b'\r' {
                            break;
                        }
                        self.bump(1);
                    }
                    if self.pos >= self.buf.len() && !self.at_eof {
                        return Err(PErr::Incomplete);
                    }
                }
                Some(_) => return Ok(()),
                None => {
                    return if self.at_eof {
                        Ok(())
                    } else {
                        Err(PErr::Incomplete)
                    };
                }
            }
        }
    }

    /// Next token, or `None` at the end of a window that reaches EOF.
    pub fn token(&mut self) -> PResult<Option<Tok<'a>>> {
        self.skip_ws()?;
        let Some(&c) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        let start = self.pos;
        match c {
            b'[' => {
                self.bump(1);
                Ok(Some(Tok::ArrOpen))
            }
            b']' => {
                self.bump(1);
                Ok(Some(Tok::ArrClose))
            }
            b'<' => match self.buf.get(self.pos.saturating_add(1)) {
                Some(b'<') => {
                    self.bump(2);
                    Ok(Some(Tok::DictOpen))
                }
                Some(_) => self.hex_string().map(|s| Some(Tok::Str(s))),
                None => Err(self.eof("truncated")),
            },
            b'>' => match self.buf.get(self.pos.saturating_add(1)) {
                Some(b'>') => {
                    self.bump(2);
                    Ok(Some(Tok::DictClose))
                }
                Some(_) => Err(self.err("unexpected '>'")),
                None => Err(self.eof("truncated")),
            },
            b'(' => self.literal_string().map(|s| Some(Tok::Str(s))),
            b'/' => {
                self.bump(1);
                let mut name = Vec::new();
                loop {
                    match self.buf.get(self.pos) {
                        Some(&b) if !is_white(b) && !is_delim(b) => {
                            if b == b'#' {
                                let h = self
                                    .buf
                                    .get(self.pos.saturating_add(1)..self.pos.saturating_add(3));
                                match h
                                    .and_then(|h| std::str::from_utf8(h).ok())
                                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                                {
                                    Some(v) => {
                                        name.push(v);
                                        self.bump(3);
                                        continue;
                                    }
                                    None if h.is_none() && !self.at_eof => {
                                        return Err(PErr::Incomplete);
                                    }
                                    None => {}
                                }
                            }
                            name.push(b);
                            self.bump(1);
                            if name.len() > 4096 {
                                return Err(self.err("name too long"));
                            }
                        }
                        Some(_) => break,
                        None if self.at_eof => break,
                        None => return Err(PErr::Incomplete),
                    }
                }
                Ok(Some(Tok::Name(name)))
            }
            b'{' | b'}' | b')' => Err(self.err("unexpected delimiter")),
            _ => {
                // Regular characters: a number or a keyword.
                while let Some(&b) = self.buf.get(self.pos) {
                    if is_white(b) || is_delim(b) {
                        break;
                    }
                    self.bump(1);
                    if self.pos.saturating_sub(start) > 256 {
                        return Err(self.err("token too long"));
                    }
                }
                if self.pos >= self.buf.len() && !self.at_eof {
                    return Err(PErr::Incomplete);
                }
                let word = self.buf.get(start..self.pos).unwrap_or(&[]);
                if let Some(n) = parse_number(word) {
                    return Ok(Some(n));
                }
                Ok(Some(Tok::Keyword(word)))
            }
        }
    }

    fn hex_string(&mut self) -> PResult<PdfStr> {
        let start = self.abs();
        self.bump(1);
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        // The body up to `>` (a signature's /Contents is thousands of
        // digits): its end found with memchr, then decoded in one pass.
        let end = memchr::memchr(b'>', rest);
        let body = rest.get(..end.unwrap_or(rest.len())).unwrap_or(&[]);
        let mut out = Vec::with_capacity(body.len().div_ceil(2));
        let mut hi: Option<u8> = None;
        for (i, &b) in body.iter().enumerate() {
            let v = hex_digit(b);
            if v == HEX_WHITE {
                continue;
            }
            if v == HEX_BAD {
                self.bump(i.saturating_add(1));
                return Err(self.err("bad character in hex string"));
            }
            match hi.take() {
                Some(h) => out.push((h << 4) | v),
                None => hi = Some(v),
            }
        }
        let Some(end) = end else {
            self.bump(body.len());
            return Err(self.eof("unterminated hex string"));
        };
        self.bump(end.saturating_add(1));
        if let Some(h) = hi {
            out.push(h << 4);
        }
        Ok(PdfStr {
            bytes: out.into(),
            hex: true,
            start,
            end: self.abs(),
        })
    }

    fn literal_string(&mut self) -> PResult<PdfStr> {
        let start = self.abs();
        self.bump(1);
        let mut out = Vec::new();
        let mut depth = 1usize;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.eof("unterminated string"));
            };
            self.bump(1);
            match b {
                b'(' => {
                    depth = depth.saturating_add(1);
                    out.push(b);
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                    out.push(b);
                }
                b'\\' => {
                    let Some(&e) = self.buf.get(self.pos) else {
                        return Err(self.eof("unterminated string"));
                    };
                    self.bump(1);
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.buf.get(self.pos) == Some(&b'\n') {
                                self.bump(1);
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v: u32 = u32::from(e.saturating_sub(b'0'));
                            for _ in 0..2 {
                                match self.buf.get(self.pos) {
                                    Some(&d @ b'0'..=b'7') => {
                                        v = v
                                            .saturating_mul(8)
                                            .saturating_add(u32::from(d.saturating_sub(b'0')));
                                        self.bump(1);
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
        Ok(PdfStr {
            bytes: out.into(),
            hex: false,
            start,
            end: self.abs(),
        })
    }

    /// Parse one object (a reference `n g R` counts as one).
    pub fn object(&mut self, depth: usize) -> PResult<Obj> {
        if depth > self.max_depth {
            return Err(PErr::Fatal(Error::limit(
                "pdf_nesting_depth",
                depth,
                self.max_depth,
            )));
        }
        let Some(tok) = self.token()? else {
            return Err(self.err("unexpected end of file"));
        };
        self.object_from(tok, depth)
    }

    fn object_from(&mut self, tok: Tok<'a>, depth: usize) -> PResult<Obj> {
        Ok(match tok {
            Tok::Int(i) => {
                // Look ahead for `generation R`.
                let save = self.pos;
                if i >= 0 && i <= i64::from(u32::MAX) {
                    if let Ok(Some(Tok::Int(g))) = self.token() {
                        if (0..=65535).contains(&g) {
                            if let Ok(Some(Tok::Keyword(b"R"))) = self.token() {
                                return Ok(Obj::Ref(ObjRef {
                                    num: i as u32,
                                    generation: g as u16,
                                }));
                            }
                        }
                    }
                }
                // An Incomplete while looking ahead must be reported, not guessed.
                self.pos = save;
                if !self.at_eof && self.lookahead_incomplete() {
                    return Err(PErr::Incomplete);
                }
                Obj::Int(i)
            }
            Tok::Real(r) => Obj::Real(r),
            Tok::Name(n) => Obj::Name(n),
            Tok::Str(s) => Obj::Str(s),
            Tok::ArrOpen => {
                let mut items = Vec::new();
                loop {
                    let Some(t) = self.token()? else {
                        return Err(self.err("unterminated array"));
                    };
                    if t == Tok::ArrClose {
                        break;
                    }
                    if depth.saturating_add(1) > self.max_depth {
                        return Err(PErr::Fatal(Error::limit(
                            "pdf_nesting_depth",
                            depth.saturating_add(1),
                            self.max_depth,
                        )));
                    }
                    items.push(self.object_from(t, depth.saturating_add(1))?);
                }
                Obj::Array(items)
            }
            Tok::DictOpen => {
                let mut entries = Vec::new();
                loop {
                    let Some(t) = self.token()? else {
                        return Err(self.err("unterminated dictionary"));
                    };
                    let key = match t {
                        Tok::DictClose => break,
                        Tok::Name(n) => n,
                        _ => return Err(self.err("dictionary key is not a name")),
                    };
                    if depth.saturating_add(1) > self.max_depth {
                        return Err(PErr::Fatal(Error::limit(
                            "pdf_nesting_depth",
                            depth.saturating_add(1),
                            self.max_depth,
                        )));
                    }
                    let Some(vt) = self.token()? else {
                        return Err(self.err("unterminated dictionary"));
                    };
                    if vt == Tok::DictClose {
                        return Err(self.err("dictionary key without value"));
                    }
                    let v = self.object_from(vt, depth.saturating_add(1))?;
                    entries.push((key, v));
                }
                Obj::Dict(Dict(entries))
            }
            Tok::Keyword(b"true") => Obj::Bool(true),
            Tok::Keyword(b"false") => Obj::Bool(false),
            Tok::Keyword(b"null") => Obj::Null,
            Tok::Keyword(_) => return Err(self.err("unexpected keyword")),
            Tok::ArrClose | Tok::DictClose => return Err(self.err("unexpected closing delimiter")),
        })
    }

    /// True if the next two tokens cannot be read from this window.
    fn lookahead_incomplete(&mut self) -> bool {
        let save = self.pos;
        let r = (|| -> PResult<()> {
            self.token()?;
            self.token()?;
            Ok(())
        })();
        self.pos = save;
        matches!(r, Err(PErr::Incomplete))
    }

    /// Expect a keyword.
    pub fn keyword(&mut self, kw: &[u8]) -> PResult<()> {
        match self.token()? {
            Some(Tok::Keyword(k)) if k == kw => Ok(()),
            _ => Err(self.err("expected keyword")),
        }
    }

    /// Parse `num generation obj`, returning the reference.
    pub fn object_header(&mut self) -> PResult<ObjRef> {
        let num = match self.token()? {
            Some(Tok::Int(n)) if n >= 0 && n <= i64::from(u32::MAX) => n as u32,
            _ => return Err(self.err("expected object number")),
        };
        let generation = match self.token()? {
            Some(Tok::Int(g)) if (0..=65535).contains(&g) => g as u16,
            _ => return Err(self.err("expected generation number")),
        };
        self.keyword(b"obj")?;
        Ok(ObjRef { num, generation })
    }
}

fn parse_number(word: &[u8]) -> Option<Tok<'static>> {
    let s = std::str::from_utf8(word).ok()?;
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    if body.bytes().filter(|b| *b == b'.').count() > 1 || body == "." {
        return None;
    }
    if body.contains('.') {
        let v: f64 = if let Some(stripped) = s.strip_suffix('.') {
            stripped.parse().ok()?
        } else {
            s.parse().ok()?
        };
        Some(Tok::Real(v))
    } else {
        s.parse::<i64>().ok().map(Tok::Int)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::string_slice
)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> Obj {
        Lexer::new(s, 0, true, 64).object(0).unwrap()
    }

    #[test]
    fn hex_strings() {
        let hex = |s: &[u8]| match Lexer::new(s, 0, true, 64).object(0) {
            Ok(Obj::Str(p)) => Ok((p.bytes.to_vec(), p.end)),
            Ok(o) => panic!("{o:?}"),
            Err(PErr::Fatal(Error::Pdf { offset, what })) => Err(format!("{what} at {offset}")),
            Err(PErr::Fatal(e)) => Err(format!("{e}")),
            Err(PErr::Incomplete) => Err("incomplete".into()),
        };
        assert_eq!(hex(b"<48 65\n6c6C6f> x"), Ok((b"Hello".to_vec(), 14)));
        assert_eq!(hex(b"<41\t4>"), Ok((vec![0x41, 0x40], 6)));
        assert_eq!(hex(b"<>"), Ok((vec![], 2)));
        // A bad digit is named at the byte after it, as before.
        assert_eq!(
            hex(b"<41 4G>"),
            Err("bad character in hex string at 6".into())
        );
        assert_eq!(hex(b"<4141"), Err("unterminated hex string at 5".into()));
        // A bad digit before the end of an unterminated string is the error.
        assert!(hex(b"<41z41").unwrap_err().contains("bad character"));
    }

    /// The one-pass decoder against a byte-at-a-time reference, over
    /// pseudo-random strings of digits, whitespace, `>` and bad bytes.
    #[test]
    fn hex_strings_match_a_byte_at_a_time_reference() {
        fn reference(s: &[u8]) -> Result<(Vec<u8>, usize), (&'static str, usize)> {
            let (mut out, mut hi, mut pos) = (Vec::new(), None::<u8>, 1);
            loop {
                let Some(&b) = s.get(pos) else {
                    return Err(("unterminated hex string", pos));
                };
                pos += 1;
                let v = match b {
                    b'0'..=b'9' => b - b'0',
                    b'a'..=b'f' => b - b'a' + 10,
                    b'A'..=b'F' => b - b'A' + 10,
                    b'>' => break,
                    b if is_white(b) => continue,
                    _ => return Err(("bad character in hex string", pos)),
                };
                match hi.take() {
                    Some(h) => out.push((h << 4) | v),
                    None => hi = Some(v),
                }
            }
            if let Some(h) = hi {
                out.push(h << 4);
            }
            Ok((out, pos))
        }
        let alphabet = b"0123456789abcdefABCDEF \n\t\r\x00\x0c>zG(";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = 1 + (x % 24) as usize;
            let mut s = vec![b'<'];
            let mut y = x;
            for _ in 0..len {
                y = y.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                s.push(alphabet[(y >> 33) as usize % alphabet.len()]);
            }
            let got = match Lexer::new(&s, 0, true, 64).object(0) {
                Ok(Obj::Str(p)) => Ok((p.bytes.to_vec(), p.end as usize)),
                Ok(o) => panic!("{o:?}"),
                Err(PErr::Fatal(Error::Pdf { offset, what })) => Err((what, offset as usize)),
                Err(e) => panic!("{s:?}: {e:?}"),
            };
            assert_eq!(got, reference(&s), "{s:?}");
        }
    }

    #[test]
    fn parses_references_and_dicts() {
        let o = parse(b"<< /A 1 0 R /B [1 2 (x\\)y) <414>] /C#20D -3.5 >>");
        let d = o.as_dict().unwrap();
        assert_eq!(
            d.get(b"A"),
            Some(&Obj::Ref(ObjRef {
                num: 1,
                generation: 0
            }))
        );
        assert_eq!(d.get(b"C D"), Some(&Obj::Real(-3.5)));
        match d.get(b"B") {
            Some(Obj::Array(a)) => {
                assert_eq!(a.len(), 4);
                match &a[3] {
                    Obj::Str(s) => assert_eq!(&*s.bytes, &[0x41, 0x40]),
                    _ => panic!(),
                }
            }
            _ => panic!(),
        }
    }

    #[test]
    fn incomplete_window_asks_for_more() {
        let mut lx = Lexer::new(b"<< /A [1 2", 0, false, 64);
        assert!(matches!(lx.object(0), Err(PErr::Incomplete)));
        let mut lx = Lexer::new(b"<< /A 12", 0, false, 64);
        assert!(matches!(lx.object(0), Err(PErr::Incomplete)));
    }

    #[test]
    fn deep_arrays_hit_the_limit() {
        let s = vec![b'['; 1_000_000];
        let mut lx = Lexer::new(&s, 0, true, 64);
        assert!(matches!(
            lx.object(0),
            Err(PErr::Fatal(Error::Limit { .. }))
        ));
    }
}
