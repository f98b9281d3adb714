//! ZIP packages (OOXML .docx/.xlsx/.pptx, ODF .odt/.ods) read with limits,
//! kyso deciding what the package *is*. A signature over a package covers
//! some of its parts; an attacker's best tool is a package that two readers
//! see differently — a second local header for one central entry, data
//! between entries, a comment hiding another archive, two names that one
//! file system folds into one. So the structure is read here from the
//! bytes (end record, central directory, every local header) and every
//! disagreement is a finding; only the stored and deflated data is handed
//! to `flate2`, within a size, a ratio and a count. The `zip` crate serves
//! as the independent reader the tests compare with.

// Untrusted bytes: no slicing, indexing or overflowing arithmetic.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::collections::HashMap;
use std::io::Read;

use crate::error::{Error, Result};

/// Bounds of one package.
#[derive(Clone, Debug)]
pub struct PackageLimits {
    pub max_entries: usize,
    /// Largest inflated part.
    pub max_part_bytes: u64,
    /// Sum of the inflated parts.
    pub max_total_bytes: u64,
    /// Largest inflated / compressed ratio of a part (zip bombs).
    pub max_ratio: u64,
}

impl Default for PackageLimits {
    fn default() -> Self {
        PackageLimits {
            max_entries: 10_000,
            max_part_bytes: 256 << 20,
            max_total_bytes: 1 << 30,
            max_ratio: 1_000,
        }
    }
}

/// One part of the package, as its central directory entry says, checked
/// against its local header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    /// 0 stored, 8 deflated (anything else is refused when opened).
    pub method: u16,
    pub crc32: u32,
    pub compressed: u64,
    pub size: u64,
    pub encrypted: bool,
    /// Where its compressed data starts and ends in the file.
    pub data: (u64, u64),
    /// Where its local header starts.
    pub local: u64,
}

/// Something about the package's structure that a reader could take
/// differently, or that hides data: never ignored by the verdict.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub detail: String,
}

/// A package read: its parts in central-directory order and the findings.
#[derive(Debug)]
pub struct Package<'a> {
    bytes: &'a [u8],
    pub parts: Vec<Part>,
    pub findings: Vec<Finding>,
    limits: PackageLimits,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([
        *s.first()?,
        *s.get(1)?,
        *s.get(2)?,
        *s.get(3)?,
    ]))
}

fn bad(what: &str) -> Error {
    Error::Invalid(format!("ZIP package: {what}"))
}

const EOCD: u32 = 0x0605_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;
const ZIP64_EOCD_LOCATOR: u32 = 0x0706_4b50;

/// A name as a file system would take it: what two names that "differ only
/// by case or by Unicode normalisation" have in common.
fn folded(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfc().collect::<String>().to_lowercase()
}

/// Code page 437 (the ZIP default without the UTF-8 flag): ASCII as it is,
/// anything else marked (OOXML and ODF names are ASCII or UTF-8).
fn cp437(raw: &[u8]) -> String {
    raw.iter()
        .map(|b| {
            if b.is_ascii() {
                char::from(*b)
            } else {
                '\u{FFFD}'
            }
        })
        .collect()
}

impl<'a> Package<'a> {
    /// Read the structure of `bytes` (nothing is inflated yet).
    pub fn read(bytes: &'a [u8], limits: &PackageLimits) -> Result<Package<'a>> {
        let mut findings = Vec::new();
        let mut note = |code: &'static str, detail: String| findings.push(Finding { code, detail });
        // End of central directory: the last record, after which only its
        // comment may follow (at most 65 535 bytes).
        let min = bytes.len().saturating_sub(22 + 65_535);
        // The end record is the one whose comment reaches the end of the
        // file; an end record inside a comment (another archive hidden
        // there) is not taken. Without an exact one, the last one found.
        let candidates: Vec<usize> = (min..=bytes.len().saturating_sub(22))
            .rev()
            .filter(|i| u32_at(bytes, *i) == Some(EOCD))
            .take(16)
            .collect();
        // (Two exact ones: an archive in the comment of another, each
        // complete — the outer one is taken, and the comment is a finding.)
        let exact = candidates
            .iter()
            .copied()
            .filter(|i| {
                u16_at(bytes, i.saturating_add(20)).is_some_and(|c| {
                    i.saturating_add(22).saturating_add(usize::from(c)) == bytes.len()
                })
            })
            .min();
        let eocd = exact
            .or_else(|| candidates.first().copied())
            .ok_or_else(|| {
                bad("no end of central directory record (not a ZIP file, or truncated)")
            })?;
        let field = |o: usize| {
            u16_at(bytes, eocd.saturating_add(o)).ok_or_else(|| bad("truncated end record"))
        };
        let (disk, cd_disk, here, total) = (field(4)?, field(6)?, field(8)?, field(10)?);
        let cd_size = u32_at(bytes, eocd.saturating_add(12))
            .ok_or_else(|| bad("truncated end record"))? as usize;
        let cd_off = u32_at(bytes, eocd.saturating_add(16))
            .ok_or_else(|| bad("truncated end record"))? as usize;
        let comment_len = usize::from(field(20)?);
        if disk != 0 || cd_disk != 0 || here != total {
            return Err(Error::Unsupported("multi-disk ZIP archives".into()));
        }
        if eocd >= 20 && u32_at(bytes, eocd.saturating_sub(20)) == Some(ZIP64_EOCD_LOCATOR)
            || cd_off == 0xFFFF_FFFF
        {
            return Err(Error::Unsupported(
                "ZIP64 packages (office documents over 4 GB or 65 535 parts)".into(),
            ));
        }
        let comment_end = eocd.saturating_add(22).saturating_add(comment_len);
        if comment_end != bytes.len() {
            note(
                "ZIP_TRAILING_DATA",
                format!(
                    "{} bytes after the end record and its comment",
                    bytes.len().abs_diff(comment_end)
                ),
            );
        }
        let comment = bytes
            .get(eocd.saturating_add(22)..comment_end.min(bytes.len()))
            .unwrap_or(&[]);
        if comment
            .windows(4)
            .any(|w| w == LOCAL.to_le_bytes() || w == EOCD.to_le_bytes())
        {
            note(
                "ZIP_COMMENT_HIDES_ARCHIVE",
                "the archive comment holds ZIP records".into(),
            );
        }
        if usize::from(total) > limits.max_entries {
            return Err(Error::limit(
                "max_package_entries",
                usize::from(total),
                limits.max_entries,
            ));
        }
        if cd_off.checked_add(cd_size) != Some(eocd) {
            return Err(bad(
                "the central directory does not end where the end record begins",
            ));
        }
        // Central directory.
        let mut parts: Vec<Part> = Vec::with_capacity(usize::from(total));
        let mut at = cd_off;
        for _ in 0..total {
            if u32_at(bytes, at) != Some(CENTRAL) {
                return Err(bad("a central directory entry is missing or damaged"));
            }
            let f16 = |o: usize| {
                u16_at(bytes, at.saturating_add(o)).ok_or_else(|| bad("truncated central entry"))
            };
            let f32 = |o: usize| {
                u32_at(bytes, at.saturating_add(o)).ok_or_else(|| bad("truncated central entry"))
            };
            let flags = f16(8)?;
            let method = f16(10)?;
            let crc32 = f32(16)?;
            let compressed = u64::from(f32(20)?);
            let size = u64::from(f32(24)?);
            let (nlen, xlen, clen) = (
                usize::from(f16(28)?),
                usize::from(f16(30)?),
                usize::from(f16(32)?),
            );
            let local = u64::from(f32(42)?);
            let raw = bytes
                .get(at.saturating_add(46)..at.saturating_add(46).saturating_add(nlen))
                .ok_or_else(|| bad("truncated name in the central directory"))?;
            let name = if flags & 0x0800 != 0 {
                String::from_utf8(raw.to_vec()).map_err(|_| bad("a part name is not UTF-8"))?
            } else {
                cp437(raw)
            };
            if compressed == 0xFFFF_FFFF || size == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
                return Err(Error::Unsupported("ZIP64 entries".into()));
            }
            parts.push(Part {
                name,
                method,
                crc32,
                compressed,
                size,
                encrypted: flags & 0x0001 != 0,
                data: (0, 0),
                local,
            });
            at = at
                .checked_add(
                    46usize
                        .saturating_add(nlen)
                        .saturating_add(xlen)
                        .saturating_add(clen),
                )
                .ok_or_else(|| bad("central directory overflow"))?;
        }
        if at != eocd {
            note(
                "ZIP_CENTRAL_DIRECTORY_GAP",
                format!(
                    "{} bytes in the central directory belong to no entry",
                    eocd.abs_diff(at)
                ),
            );
        }
        // Names: what a reader could confuse.
        let mut seen: HashMap<String, &str> = HashMap::new();
        for p in &parts {
            let n = &p.name;
            if n.starts_with('/')
                || n.contains('\\')
                || n.split('/').any(|s| s == "..")
                || n.contains(':')
            {
                note(
                    "ZIP_NAME_UNSAFE",
                    format!("{n:?}: absolute, `..`, backslash or drive"),
                );
            }
            if n.contains('\u{FFFD}') || n.chars().any(char::is_control) {
                note(
                    "ZIP_NAME_UNSAFE",
                    format!("{n:?}: control or undecodable characters"),
                );
            }
            if let Some(first) = seen.insert(folded(n), n) {
                let code = if first == n {
                    "ZIP_DUPLICATE_NAME"
                } else {
                    "ZIP_NAMES_FOLD_TOGETHER"
                };
                note(code, format!("{first:?} and {n:?}"));
            }
            if p.encrypted {
                note("ZIP_ENCRYPTED_PART", format!("{n:?} is encrypted"));
            }
        }
        // Local headers: the same name, method and (unless deferred to a
        // data descriptor) sizes and CRC; data ranges in order, nothing
        // between or around them.
        let mut ranges: Vec<(u64, u64, usize)> = Vec::with_capacity(parts.len());
        for (k, p) in parts.iter_mut().enumerate() {
            let l = usize::try_from(p.local).map_err(|_| bad("offset"))?;
            if u32_at(bytes, l) != Some(LOCAL) {
                return Err(bad(&format!("no local header for {:?}", p.name)));
            }
            let g16 = |o: usize| {
                u16_at(bytes, l.saturating_add(o)).ok_or_else(|| bad("truncated local header"))
            };
            let g32 = |o: usize| {
                u32_at(bytes, l.saturating_add(o)).ok_or_else(|| bad("truncated local header"))
            };
            let lflags = g16(6)?;
            let (nlen, xlen) = (usize::from(g16(26)?), usize::from(g16(28)?));
            let lname = bytes
                .get(l.saturating_add(30)..l.saturating_add(30).saturating_add(nlen))
                .ok_or_else(|| bad("truncated local name"))?;
            let lname = if lflags & 0x0800 != 0 {
                String::from_utf8_lossy(lname).into_owned()
            } else {
                cp437(lname)
            };
            let mut differs = Vec::new();
            if lname != p.name {
                differs.push(format!("name {lname:?}"));
            }
            if g16(8)? != p.method {
                differs.push("method".to_string());
            }
            if lflags & 0x0008 == 0 {
                if g32(14)? != p.crc32 {
                    differs.push("CRC".to_string());
                }
                if u64::from(g32(18)?) != p.compressed || u64::from(g32(22)?) != p.size {
                    differs.push("sizes".to_string());
                }
            }
            if !differs.is_empty() {
                note(
                    "ZIP_LOCAL_HEADER_DISAGREES",
                    format!(
                        "{:?}: the local header differs from the central directory ({})",
                        p.name,
                        differs.join(", ")
                    ),
                );
            }
            let start = l
                .saturating_add(30)
                .saturating_add(nlen)
                .saturating_add(xlen) as u64;
            let end = start
                .checked_add(p.compressed)
                .ok_or_else(|| bad("size overflow"))?;
            if end > cd_off as u64 {
                return Err(bad(&format!(
                    "{:?} runs into the central directory",
                    p.name
                )));
            }
            p.data = (start, end);
            ranges.push((p.local, end, k));
        }
        ranges.sort_unstable();
        let mut cursor = 0u64;
        for (i, (from, end, k)) in ranges.iter().enumerate() {
            let name = parts.get(*k).map(|p| p.name.as_str()).unwrap_or("?");
            if *from < cursor {
                note(
                    "ZIP_OVERLAPPING_PARTS",
                    format!("{name:?} overlaps the part before it"),
                );
            } else if *from > cursor {
                // A data descriptor (12–24 bytes) may follow a part's data.
                let gap = from.saturating_sub(cursor);
                let descriptor = i > 0
                    && gap <= 24
                    && u32_at(bytes, cursor as usize)
                        .is_some_and(|s| s == 0x0807_4b50 || gap >= 12);
                if !descriptor {
                    let what = if i == 0 {
                        "before the first part"
                    } else {
                        "between parts"
                    };
                    note(
                        "ZIP_DATA_BETWEEN_PARTS",
                        format!("{gap} bytes {what} (before {name:?})"),
                    );
                }
            }
            cursor = cursor.max(*end);
        }
        let tail = (cd_off as u64).saturating_sub(cursor);
        if tail > 24 || (tail > 0 && parts.is_empty()) {
            note(
                "ZIP_DATA_BETWEEN_PARTS",
                format!("{tail} bytes after the last part"),
            );
        }
        Ok(Package {
            bytes,
            parts,
            findings,
            limits: limits.clone(),
        })
    }

    /// The part named `name`.
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// The part named `name`, ASCII case ignored (OPC part names; names
    /// that fold together are a finding of [`Package::read`]).
    pub fn part_ci(&self, name: &str) -> Option<&Part> {
        self.parts
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The inflated bytes of a part, within the limits, its CRC checked.
    pub fn open(&self, p: &Part) -> Result<Vec<u8>> {
        let mut r = self.reader(p)?;
        let mut out = Vec::with_capacity(usize::try_from(p.size.min(1 << 24)).unwrap_or(0));
        r.read_to_end(&mut out)
            .map_err(|e| bad(&format!("{:?}: {e}", p.name)))?;
        Ok(out)
    }

    /// Whether a part may be opened: not encrypted, within the size and
    /// ratio limits.
    fn check_open(&self, p: &Part) -> Result<()> {
        if p.encrypted {
            return Err(Error::Unsupported(format!("{:?} is encrypted", p.name)));
        }
        if p.size > self.limits.max_part_bytes {
            return Err(Error::limit(
                "max_package_part_bytes",
                p.size as usize,
                self.limits.max_part_bytes as usize,
            ));
        }
        if p.size
            > p.compressed
                .saturating_mul(self.limits.max_ratio)
                .max(1 << 16)
        {
            return Err(Error::limit(
                "max_package_ratio",
                (p.size.checked_div(p.compressed).unwrap_or(p.size)) as usize,
                self.limits.max_ratio as usize,
            ));
        }
        Ok(())
    }

    /// A reader of a part's inflated bytes, within the same limits as
    /// [`Package::open`]: it fails (an I/O error of kind InvalidData) at
    /// the end when the part inflates to another size or CRC than its
    /// entry says, and as soon as it inflates past the declared size.
    pub fn reader(&self, p: &Part) -> Result<PartReader<'a>> {
        self.check_open(p)?;
        let raw: &'a [u8] = self
            .bytes
            .get(p.data.0 as usize..p.data.1 as usize)
            .ok_or_else(|| bad("part data outside the file"))?;
        let inner: Box<dyn Read + 'a> = match p.method {
            0 => Box::new(raw),
            8 => Box::new(flate2::read::DeflateDecoder::new(raw)),
            m => {
                return Err(Error::Unsupported(format!(
                    "{:?}: compression method {m}",
                    p.name
                )));
            }
        };
        Ok(PartReader {
            inner,
            crc: flate2::Crc::new(),
            n: 0,
            size: p.size,
            crc32: p.crc32,
            name: p.name.clone(),
        })
    }

    /// The sum of the declared inflated sizes, checked against the limit
    /// before any part is opened.
    pub fn check_total(&self) -> Result<u64> {
        let total = self
            .parts
            .iter()
            .fold(0u64, |a, p| a.saturating_add(p.size));
        if total > self.limits.max_total_bytes {
            return Err(Error::limit(
                "max_package_bytes",
                total as usize,
                self.limits.max_total_bytes as usize,
            ));
        }
        Ok(total)
    }
}

/// The inflated bytes of one part as they are read, checked against its
/// directory entry (size, CRC-32).
pub struct PartReader<'a> {
    inner: Box<dyn Read + 'a>,
    crc: flate2::Crc,
    n: u64,
    size: u64,
    crc32: u32,
    name: String,
}

impl Read for PartReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let got = self.inner.read(buf)?;
        let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
        if got == 0 {
            if self.n != self.size {
                return Err(invalid(format!(
                    "{:?} inflates to {} bytes, its entry says {}",
                    self.name, self.n, self.size
                )));
            }
            if self.crc.sum() != self.crc32 {
                return Err(invalid(format!("{:?}: CRC mismatch", self.name)));
            }
            return Ok(0);
        }
        self.n = self.n.saturating_add(got as u64);
        if self.n > self.size {
            return Err(invalid(format!(
                "{:?} inflates past the {} bytes its entry says",
                self.name, self.size
            )));
        }
        self.crc.update(buf.get(..got).unwrap_or(&[]));
        Ok(got)
    }
}
