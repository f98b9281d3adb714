//! kyso's lazy PDF reader against lopdf's whole-file reading, object by
//! object, for the latest revision (tests/oracles.rs and the fuzz target
//! `pdf_differential` include this file).
//!
//! Equal means: the same type; the same integers, names, booleans and
//! string bytes; reals equal to f32 precision (lopdf keeps `f32`); the same
//! dictionary keys, each value equal; the same array lengths and elements;
//! for streams, the same dictionary and the same bytes after filters where
//! both readers decode them (lopdf decodes Flate, LZW and ASCII85 only).

use kyso::pdf::object::Obj;
use kyso::pdf::source::MemSource;

/// How far down nested arrays and dictionaries the comparison goes.
const MAX_DEPTH: usize = 48;

/// The result of comparing one file.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Objects both readers returned.
    pub compared: usize,
    pub equal: usize,
    /// Objects kyso read that lopdf dropped (lopdf skips what it cannot parse).
    pub only_kyso: usize,
    /// Objects lopdf read that kyso could not resolve.
    pub only_lopdf: usize,
    /// Unequal objects where lopdf's reading is exactly the version an
    /// earlier revision of the file defines: lopdf missed a later update
    /// (it merges cross-reference sections of linearized and hybrid files
    /// in its own order).
    pub earlier_version: usize,
    /// `object N: why`, one per other unequal object.
    pub differences: Vec<String>,
}

/// Why the file was not compared at all.
#[derive(Debug)]
pub enum Skipped {
    /// lopdf returned an error or panicked.
    LopdfRefuses,
    /// Encrypted: lopdf decrypts strings and streams, kyso reads them as stored.
    Encrypted,
    /// kyso could not open what lopdf loaded (why: printed by
    /// tests/oracles.rs; the fuzz target does not read it).
    KysoRefuses(#[allow(dead_code)] String),
}

/// Compare every object of the latest revision. lopdf runs inside
/// `catch_unwind`: a panic there is lopdf's, not a finding about kyso.
pub fn compare(pdf: &[u8]) -> Result<Comparison, Skipped> {
    let theirs = std::panic::catch_unwind(|| lopdf::Document::load_mem(pdf))
        .map_err(|_| Skipped::LopdfRefuses)?
        .map_err(|_| Skipped::LopdfRefuses)?;
    if theirs.trailer.get(b"Encrypt").is_ok() {
        return Err(Skipped::Encrypted);
    }
    let src = MemSource(pdf);
    let doc = kyso::pdf::Document::open(&src, kyso::Limits::default())
        .map_err(|e| Skipped::KysoRefuses(e.to_string()))?;
    let mut out = Comparison::default();
    for num in doc.object_numbers() {
        let generation = match doc.xref_entry(num) {
            Some(kyso::pdf::document::XrefEntry::InFile { generation, .. }) => generation,
            _ => 0,
        };
        let lo = theirs.objects.get(&(num, generation));
        let ky = doc.resolve_num(num);
        match (ky, lo) {
            (Ok(Obj::Null), None) => {}
            (Ok(k), Some(l)) => {
                out.compared += 1;
                match same(&doc, &k, l, 0) {
                    Ok(()) => out.equal += 1,
                    Err(why) => {
                        let earlier = doc.sections.iter().any(|sec| {
                            doc.listed_objects(sec)
                                .any(|(n, o)| n == num && same(&doc, &o, l, 0).is_ok())
                        });
                        if earlier {
                            out.earlier_version += 1;
                        } else {
                            out.differences.push(format!("object {num}: {why}"));
                        }
                    }
                }
            }
            (Ok(_), None) => out.only_kyso += 1,
            (Err(_), Some(_)) => out.only_lopdf += 1,
            (Err(_), None) => {}
        }
    }
    Ok(out)
}

fn same(doc: &kyso::pdf::Document, k: &Obj, l: &lopdf::Object, depth: usize) -> Result<(), String> {
    use lopdf::Object as L;
    if depth > MAX_DEPTH {
        return Ok(());
    }
    match (k, l) {
        (Obj::Null, L::Null) => Ok(()),
        (Obj::Bool(a), L::Boolean(b)) if a == b => Ok(()),
        (Obj::Int(a), L::Integer(b)) if a == b => Ok(()),
        (Obj::Real(a), L::Real(b)) if close(*a, f64::from(*b)) => Ok(()),
        // A real written without fraction digits ("3.") or an integer too
        // large for i64: readers may type it either way.
        (Obj::Int(a), L::Real(b)) if close(*a as f64, f64::from(*b)) => Ok(()),
        (Obj::Real(a), L::Integer(b)) if close(*a, *b as f64) => Ok(()),
        (Obj::Name(a), L::Name(b)) if a == b => Ok(()),
        (Obj::Str(a), L::String(b, _)) if a.bytes.as_ref() == b.as_slice() => Ok(()),
        (Obj::Ref(a), L::Reference((n, g))) if a.num == *n && a.generation == *g => Ok(()),
        (Obj::Str(a), L::String(b, _)) => Err(format!(
            "string {:?} vs {:?}",
            String::from_utf8_lossy(&a.bytes),
            String::from_utf8_lossy(b)
        )),
        (Obj::Array(a), L::Array(b)) => {
            if a.len() != b.len() {
                return Err(format!("array of {} vs {}", a.len(), b.len()));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                same(doc, x, y, depth + 1).map_err(|e| format!("[{i}] {e}"))?;
            }
            Ok(())
        }
        (Obj::Dict(a), L::Dictionary(b)) => same_dict(doc, a, b, depth),
        (Obj::Stream(a), L::Stream(b)) => {
            // lopdf decodes object streams as it loads them and drops their
            // /Filter (and /DecodeParms): its content is then decoded data.
            let predecoded = a.dict.get(b"Filter").is_some() && b.dict.get(b"Filter").is_err();
            let mut dict = a.dict.clone();
            if predecoded {
                // ... and its /Length, now that of the decoded data.
                dict.0.retain(|(k, _)| {
                    !matches!(k.as_slice(), b"Filter" | b"DecodeParms" | b"Length")
                });
            }
            let mut their_dict = b.dict.clone();
            if predecoded {
                their_dict.remove(b"Length");
            }
            same_dict(doc, &dict, &their_dict, depth).map_err(|e| format!("stream {e}"))?;
            let theirs = if predecoded || b.filters().map(|f| f.is_empty()).unwrap_or(false) {
                Ok(b.content.clone())
            } else {
                b.decompressed_content()
            };
            if let (Ok(mine), Ok(theirs)) = (doc.stream_data(a), theirs)
                && mine != theirs
            {
                return Err(format!(
                    "stream data of {} vs {} bytes after filters",
                    mine.len(),
                    theirs.len()
                ));
            }
            Ok(())
        }
        _ => Err(format!("{} vs {}", kind(k), l.enum_variant())),
    }
}

fn same_dict(
    doc: &kyso::pdf::Document,
    a: &kyso::pdf::object::Dict,
    b: &lopdf::Dictionary,
    depth: usize,
) -> Result<(), String> {
    let mut mine: Vec<&[u8]> = a.0.iter().map(|(k, _)| k.as_slice()).collect();
    mine.sort_unstable();
    mine.dedup();
    let mut theirs: Vec<&[u8]> = b.iter().map(|(k, _)| k.as_slice()).collect();
    theirs.sort_unstable();
    if mine != theirs {
        let show = |v: &[&[u8]]| {
            v.iter()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        return Err(format!("keys [{}] vs [{}]", show(&mine), show(&theirs)));
    }
    for key in mine {
        let (Some(x), Ok(y)) = (a.get(key), b.get(key)) else {
            continue;
        };
        // lopdf replaces an indirect stream /Length by its value on load.
        if let (b"Length", Obj::Ref(r), lopdf::Object::Integer(n)) = (key, x, y)
            && doc.resolve_ref(*r).ok() == Some(Obj::Int(*n))
        {
            continue;
        }
        same(doc, x, y, depth + 1).map_err(|e| format!("/{} {e}", String::from_utf8_lossy(key)))?;
    }
    Ok(())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-5 * a.abs().max(b.abs()).max(1.0)
}

fn kind(o: &Obj) -> &'static str {
    match o {
        Obj::Null => "Null",
        Obj::Bool(_) => "Boolean",
        Obj::Int(_) => "Integer",
        Obj::Real(_) => "Real",
        Obj::Str(_) => "String",
        Obj::Name(_) => "Name",
        Obj::Array(_) => "Array",
        Obj::Dict(_) => "Dictionary",
        Obj::Ref(_) => "Reference",
        Obj::Stream(_) => "Stream",
    }
}
