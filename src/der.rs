//! A small, strict-where-it-matters reader for ASN.1 BER/DER (X.690).
//!
//! Every read is bounds-checked, lengths are checked with `checked_add`, and
//! nesting is bounded by [`MAX_DEPTH`]. Indefinite lengths (BER) are accepted
//! for constructed values only, because some signers emit them in CMS.
// Parsers of untrusted bytes and the checks on what they read: no slicing
// that can panic, no unchecked indexing, no arithmetic that can overflow.
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::error::{Error, Result};

/// Deepest nesting of constructed values we follow.
pub const MAX_DEPTH: usize = 64;

pub const TAG_BOOLEAN: u8 = 0x01;
pub const TAG_INTEGER: u8 = 0x02;
pub const TAG_BIT_STRING: u8 = 0x03;
pub const TAG_OCTET_STRING: u8 = 0x04;
pub const TAG_NULL: u8 = 0x05;
pub const TAG_OID: u8 = 0x06;
pub const TAG_UTF8: u8 = 0x0c;
pub const TAG_PRINTABLE: u8 = 0x13;
pub const TAG_IA5: u8 = 0x16;
pub const TAG_UTC_TIME: u8 = 0x17;
pub const TAG_GEN_TIME: u8 = 0x18;
pub const TAG_SEQUENCE: u8 = 0x30;
pub const TAG_SET: u8 = 0x31;

/// One encoded value: its tag byte, its content, and the whole encoding.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: u8,
    /// The content octets. For indefinite-length values, the content without
    /// the end-of-contents marker.
    pub value: &'a [u8],
    /// The full encoding: identifier, length and content (and EOC if any).
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    pub fn is_constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }
    /// Iterate over the children of a constructed value.
    pub fn children(&self) -> Reader<'a> {
        Reader::new(self.value)
    }
    pub fn expect(self, tag: u8) -> Result<Self> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(Error::asn1("unexpected tag"))
        }
    }
}

/// Sequential reader over concatenated TLVs.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
    /// Bytes not consumed yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }
    pub fn peek_tag(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }
    /// Read the next TLV.
    pub fn read(&mut self) -> Result<Tlv<'a>> {
        let (tlv, used) = parse_tlv(self.rest(), 0)?;
        self.pos = self.pos.saturating_add(used);
        Ok(tlv)
    }
    /// Read the next TLV and require `tag`.
    pub fn read_tag(&mut self, tag: u8) -> Result<Tlv<'a>> {
        self.read()?.expect(tag)
    }
    /// Read the next TLV only if it carries `tag`.
    pub fn read_optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(tag) {
            Ok(Some(self.read()?))
        } else {
            Ok(None)
        }
    }
    pub fn finish(&self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::asn1("trailing data"))
        }
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Tlv<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.is_empty() {
            return None;
        }
        let r = self.read();
        if r.is_err() {
            self.pos = self.buf.len();
        }
        Some(r)
    }
}

/// Parse exactly one TLV at the start of `buf`; returns it and the bytes used.
pub fn parse_tlv(buf: &[u8], depth: usize) -> Result<(Tlv<'_>, usize)> {
    if depth > MAX_DEPTH {
        return Err(Error::Limit {
            limit: "asn1_nesting_depth",
            value: depth as u64,
            max: MAX_DEPTH as u64,
        });
    }
    let tag = *buf.first().ok_or(Error::asn1("truncated"))?;
    if tag & 0x1f == 0x1f {
        return Err(Error::asn1("high tag numbers are not supported"));
    }
    let first = *buf.get(1).ok_or(Error::asn1("truncated"))?;
    let mut hdr = 2usize;
    if first == 0x80 {
        // Indefinite length: constructed only; scan children until EOC.
        if tag & 0x20 == 0 {
            return Err(Error::asn1("indefinite length on a primitive value"));
        }
        let mut pos = hdr;
        loop {
            let rest = buf.get(pos..).ok_or(Error::asn1("truncated"))?;
            if rest.starts_with(&[0, 0]) {
                let end = pos.checked_add(2).ok_or(Error::asn1("length overflow"))?;
                let value = buf.get(hdr..pos).ok_or(Error::asn1("truncated"))?;
                let raw = buf.get(..end).ok_or(Error::asn1("truncated"))?;
                return Ok((Tlv { tag, value, raw }, end));
            }
            let (_, used) = parse_tlv(rest, depth.saturating_add(1))?;
            pos = pos
                .checked_add(used)
                .ok_or(Error::asn1("length overflow"))?;
        }
    }
    let len = if first & 0x80 == 0 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n > 4 {
            return Err(Error::asn1("length too large"));
        }
        // n ≤ 4: the header is at most 6 bytes, the length below 2^32.
        hdr = 2usize.saturating_add(n);
        let bytes = buf.get(2..hdr).ok_or(Error::asn1("truncated"))?;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let end = hdr.checked_add(len).ok_or(Error::asn1("length overflow"))?;
    let value = buf.get(hdr..end).ok_or(Error::asn1("truncated"))?;
    let raw = buf.get(..end).ok_or(Error::asn1("truncated"))?;
    Ok((Tlv { tag, value, raw }, end))
}

/// Parse one TLV that must fill `buf` exactly.
pub fn parse_exact(buf: &[u8]) -> Result<Tlv<'_>> {
    let (tlv, used) = parse_tlv(buf, 0)?;
    if used != buf.len() {
        return Err(Error::asn1("trailing data"));
    }
    Ok(tlv)
}

/// Dotted text form of an encoded OBJECT IDENTIFIER's content octets.
pub fn oid_to_string(content: &[u8]) -> Result<String> {
    use std::fmt::Write;
    if content.is_empty() || content.len() > 128 {
        return Err(Error::asn1("bad OID length"));
    }
    if content.last().is_some_and(|b| b & 0x80 != 0) {
        return Err(Error::asn1("truncated OID"));
    }
    let mut s = String::with_capacity(content.len().saturating_mul(3));
    let mut cur: u128 = 0;
    let mut first = true;
    for b in content {
        if cur == 0 && *b == 0x80 {
            return Err(Error::asn1("non-minimal OID arc"));
        }
        cur = cur
            .checked_mul(128)
            .ok_or(Error::asn1("OID arc too large"))?
            | u128::from(b & 0x7f);
        if b & 0x80 != 0 {
            continue;
        }
        if first {
            let (a, b) = match cur {
                0..40 => (0, cur),
                40..80 => (1, cur.saturating_sub(40)),
                _ => (2, cur.saturating_sub(80)),
            };
            let _ = write!(s, "{a}.{b}");
            first = false;
        } else {
            let _ = write!(s, ".{cur}");
        }
        cur = 0;
    }
    Ok(s)
}

/// Read an OID TLV as dotted text.
pub fn read_oid(r: &mut Reader<'_>) -> Result<String> {
    let t = r.read_tag(TAG_OID)?;
    oid_to_string(t.value)
}

/// Parse an ASN.1 UTCTime or GeneralizedTime (with optional fractional
/// seconds) into Unix seconds. Only the `Z` form is accepted.
pub fn parse_time(t: &Tlv<'_>) -> Result<i64> {
    // X.680 §47/§46: both forms are VisibleString digits; anything else
    // (a UTF-8 letter) is refused before the text is cut into fields.
    if !t.value.is_ascii() {
        return Err(Error::asn1("time is not ASCII"));
    }
    let s = std::str::from_utf8(t.value).map_err(|_| Error::asn1("time is not ASCII"))?;
    let s = s.strip_suffix('Z').ok_or(Error::asn1("time without Z"))?;
    let digits = |x: &str| -> Result<i64> {
        if x.is_empty() || !x.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::asn1("bad time digits"));
        }
        x.parse::<i64>().map_err(|_| Error::asn1("bad time digits"))
    };
    let (year, rest) = match t.tag {
        TAG_UTC_TIME => {
            let yy = digits(s.get(0..2).ok_or(Error::asn1("short time"))?)?;
            (
                // Two digits: 0..=99, no overflow.
                if yy >= 50 {
                    yy.saturating_add(1900)
                } else {
                    yy.saturating_add(2000)
                },
                s.get(2..).unwrap_or(""),
            )
        }
        TAG_GEN_TIME => (
            digits(s.get(0..4).ok_or(Error::asn1("short time"))?)?,
            s.get(4..).unwrap_or(""),
        ),
        _ => return Err(Error::asn1("not a time")),
    };
    // rest: MMDDhhmm[ss][.fff]
    let (main, _frac) = match rest.split_once('.') {
        Some((m, f)) => {
            digits(f)?;
            (m, Some(f))
        }
        None => (rest, None),
    };
    if main.len() != 8 && main.len() != 10 {
        return Err(Error::asn1("bad time length"));
    }
    let field = |r: std::ops::Range<usize>| digits(main.get(r).ok_or(Error::asn1("short time"))?);
    let mo = field(0..2)?;
    let d = field(2..4)?;
    let h = field(4..6)?;
    let mi = field(6..8)?;
    let sec = if main.len() == 10 { field(8..10)? } else { 0 };
    let month = time::Month::try_from(mo as u8).map_err(|_| Error::asn1("bad month"))?;
    let date = time::Date::from_calendar_date(year as i32, month, d as u8)
        .map_err(|_| Error::asn1("bad date"))?;
    let tm =
        time::Time::from_hms(h as u8, mi as u8, sec as u8).map_err(|_| Error::asn1("bad time"))?;
    Ok(time::PrimitiveDateTime::new(date, tm)
        .assume_utc()
        .unix_timestamp())
}

/// One Extension (RFC 5280 §4.1): its OID, criticality and extnValue content.
pub fn read_extension<'a>(t: Tlv<'a>) -> Result<(String, bool, &'a [u8])> {
    let mut r = t.expect(TAG_SEQUENCE)?.children();
    let oid = read_oid(&mut r)?;
    let critical = r
        .read_optional(TAG_BOOLEAN)?
        .is_some_and(|b| b.value.first().is_some_and(|v| *v != 0));
    let value = r.read_tag(TAG_OCTET_STRING)?.value;
    r.finish()?;
    Ok((oid, critical, value))
}

/// Encode a length in DER.
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// Encode a TLV in DER.
pub fn encode_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len().saturating_add(6));
    out.push(tag);
    encode_len(value.len(), &mut out);
    out.extend_from_slice(value);
    out
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

    #[test]
    fn oid_roundtrip() {
        assert_eq!(
            oid_to_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]).unwrap(),
            "1.2.840.113549.1.7.2"
        );
    }

    #[test]
    fn fractional_generalized_time() {
        let enc = encode_tlv(TAG_GEN_TIME, b"20261101120000.123456Z");
        let t = parse_exact(&enc).unwrap();
        assert_eq!(parse_time(&t).unwrap(), 1_793_534_400);
    }

    /// Regression: a multi-byte character across a field boundary panicked.
    #[test]
    fn non_ascii_time_is_an_error() {
        for v in ["2611010é000Z", "261101é0000Z", "é"] {
            let enc = encode_tlv(TAG_UTC_TIME, v.as_bytes());
            let t = parse_exact(&enc).unwrap();
            assert!(parse_time(&t).is_err(), "{v}");
        }
    }

    #[test]
    fn deep_nesting_is_limited() {
        let mut v = [0x30u8, 0x80].repeat(1000);
        v.extend(std::iter::repeat_n(0u8, 2000));
        assert!(matches!(parse_tlv(&v, 0), Err(Error::Limit { .. })));
    }
}
