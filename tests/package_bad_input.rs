//! Hostile ZIP packages through `kyso verify` (the CLI, as a portal's
//! upload would reach the verifier): each must end in a clear report in
//! bounded time and memory — a 42.zip-like nesting of archives, one entry
//! that inflates to 10 GB, 10^5 entries, path-traversal names, a truncated
//! central directory, an encrypted package. Each run's own peak RSS is
//! measured (wait4) and printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One entry written by hand: name, method, CRC and sizes as declared,
/// and the (compressed) data.
struct Raw<'a> {
    name: &'a str,
    method: u16,
    flags: u16,
    crc: u32,
    size: u32,
    data: &'a [u8],
}

/// A ZIP written byte by byte (what a hostile writer controls). The
/// entry count in the end record is the low 16 bits of the real count,
/// as a writer that ignores ZIP64 writes it.
fn raw_zip(entries: &[Raw<'_>], out: &mut impl Write) {
    let mut cd = Vec::new();
    let mut pos = 0u32;
    for e in entries {
        let mut h = Vec::new();
        h.extend_from_slice(b"PK\x03\x04");
        h.extend_from_slice(&20u16.to_le_bytes());
        h.extend_from_slice(&e.flags.to_le_bytes());
        h.extend_from_slice(&e.method.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&e.crc.to_le_bytes());
        h.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        h.extend_from_slice(&e.size.to_le_bytes());
        h.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(e.name.as_bytes());
        out.write_all(&h).unwrap();
        out.write_all(e.data).unwrap();
        cd.extend_from_slice(b"PK\x01\x02");
        cd.extend_from_slice(&20u16.to_le_bytes());
        cd.extend_from_slice(&20u16.to_le_bytes());
        cd.extend_from_slice(&e.flags.to_le_bytes());
        cd.extend_from_slice(&e.method.to_le_bytes());
        cd.extend_from_slice(&0u32.to_le_bytes());
        cd.extend_from_slice(&e.crc.to_le_bytes());
        cd.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        cd.extend_from_slice(&e.size.to_le_bytes());
        cd.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        cd.extend_from_slice(&[0u8; 12]);
        cd.extend_from_slice(&pos.to_le_bytes());
        cd.extend_from_slice(e.name.as_bytes());
        pos += (h.len() + e.data.len()) as u32;
    }
    out.write_all(&cd).unwrap();
    let n = (entries.len() & 0xffff) as u16;
    let mut end = Vec::new();
    end.extend_from_slice(b"PK\x05\x06");
    end.extend_from_slice(&[0u8; 4]);
    end.extend_from_slice(&n.to_le_bytes());
    end.extend_from_slice(&n.to_le_bytes());
    end.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    end.extend_from_slice(&pos.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    out.write_all(&end).unwrap();
}

/// A raw deflate stream of `mib` MiB of zeros, made from one full-flushed
/// 1 MiB chunk repeated (after a full flush the compressor starts afresh,
/// so every chunk is the same bytes): 10 GiB in about 10 MB.
fn zeros_deflate(mib: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let chunk = |c: &mut flate2::Compress| {
        let mut out = Vec::with_capacity(1 << 16);
        c.compress_vec(&zeros, &mut out, flate2::FlushCompress::Full)
            .unwrap();
        out
    };
    let a = chunk(&mut c);
    let b = chunk(&mut c);
    let b2 = chunk(&mut c);
    assert_eq!(b, b2, "full-flushed chunks repeat");
    let mut s = Vec::with_capacity(a.len() + b.len() * mib);
    s.extend_from_slice(&a);
    for _ in 1..mib {
        s.extend_from_slice(&b);
    }
    // A last, empty stored block closes the stream.
    s.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
    s
}

fn ooxml_types() -> &'static [u8] {
    br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#
}

fn crc(b: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(b);
    c.sum()
}

fn stored<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
    Raw {
        name,
        method: 0,
        flags: 0,
        crc: crc(data),
        size: data.len() as u32,
        data,
    }
}

struct Run {
    name: &'static str,
    code: String,
    failed: Vec<String>,
    rss_kib: i64,
    took: Duration,
}

fn verify(path: &Path, name: &'static str) -> Run {
    let root = common::root().join("testdata/live/certs/root.pem");
    let (code, out, rss, took) = common::kyso_measured(&[
        "verify".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        "--trust".as_ref(),
        root.as_os_str(),
        path.as_os_str(),
    ]);
    assert!(code.is_some(), "{name}: kyso died");
    let r: serde_json::Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{name}: no JSON report ({e}): {out}"));
    let doc_code = r["document"]["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let failed = r["signatures"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["checks"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["outcome"] == "FAILED")
        .map(|c| {
            format!(
                "{} {}",
                c["code"].as_str().unwrap_or(""),
                c["message_en"].as_str().unwrap_or("")
            )
        })
        .collect();
    Run {
        name,
        code: doc_code,
        failed,
        rss_kib: rss,
        took,
    }
}

fn write(
    dir: &Path,
    name: &str,
    f: impl FnOnce(&mut std::io::BufWriter<std::fs::File>),
) -> PathBuf {
    let p = dir.join(name);
    let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    f(&mut w);
    w.flush().unwrap();
    p
}

#[test]
fn hostile_packages_end_in_clear_reports_in_bounded_time_and_memory() {
    let dir = std::env::temp_dir().join(format!("kyso-package-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut runs = Vec::new();
    let docx = std::fs::read(common::root().join("testdata/packages/don-signed.docx")).unwrap();

    // A small honest package first: what the program itself costs.
    let honest = common::root().join("testdata/packages/don-signed.odt");
    let base = verify(&honest, "honest don-signed.odt (baseline)");
    assert_eq!(base.code, "");
    runs.push(base);

    // 42.zip-like: 16 archives of 16 archives of 10 MiB of zeros (2.5 GiB
    // if every level were inflated), presented as an Office package.
    let z10 = zeros_deflate(10);
    let mut inner = Vec::new();
    raw_zip(
        &[Raw {
            name: "zeros.bin",
            method: 8,
            flags: 0,
            crc: 0,
            size: 10 << 20,
            data: &z10,
        }],
        &mut inner,
    );
    let names1: Vec<String> = (0..16).map(|i| format!("l1-{i}.zip")).collect();
    let mut level1 = Vec::new();
    raw_zip(
        &names1.iter().map(|n| stored(n, &inner)).collect::<Vec<_>>(),
        &mut level1,
    );
    let names2: Vec<String> = (0..16)
        .map(|i| format!("word/embeddings/l2-{i}.zip"))
        .collect();
    let nested = write(&dir, "nested.docx", |w| {
        let mut e = vec![stored("[Content_Types].xml", ooxml_types())];
        e.extend(names2.iter().map(|n| stored(n, &level1)));
        raw_zip(&e, w);
    });
    let r = verify(&nested, "42.zip-like nesting");
    assert_eq!(r.code, "OOXML_NO_SIGNATURE", "{:?}", r.failed);
    runs.push(r);
    // The same archive inside an honestly signed .docx: never opened (no
    // signature reaches it), named as a part outside the signature.
    let mut parts = common::zip_entries(&docx);
    parts.push(("word/embeddings/bomb.zip".into(), level1.clone()));
    let signed_with_bomb = write(&dir, "signed-with-bomb.docx", |w| {
        let e: Vec<Raw<'_>> = parts.iter().map(|(n, d)| stored(n, d)).collect();
        raw_zip(&e, w);
    });
    let r = verify(&signed_with_bomb, "42.zip-like inside a signed .docx");
    assert_eq!(r.code, "");
    runs.push(r);

    // One entry inflating to 10 GiB: [Content_Types].xml, read by every
    // OOXML check, declared as 1000 bytes (inflating stops at 1001), and
    // declared as 4 GiB - 1 (refused before inflating).
    let z10g = zeros_deflate(10 << 10);
    for (declared, name, expect) in [
        (1000u32, "bomb-10g-lying.docx", "PACKAGE_PART_UNREADABLE"),
        (0xffff_fff0, "bomb-10g-declared.docx", "PACKAGE_TOO_LARGE"),
    ] {
        let p = write(&dir, name, |w| {
            raw_zip(
                &[Raw {
                    name: "[Content_Types].xml",
                    method: 8,
                    flags: 0,
                    crc: 0,
                    size: declared,
                    data: &z10g,
                }],
                w,
            )
        });
        let r = verify(
            &p,
            if declared == 1000 {
                "10 GiB entry, size understated"
            } else {
                "10 GiB entry, size declared"
            },
        );
        assert_eq!(r.code, expect, "{name}: {:?}", r.failed);
        runs.push(r);
    }
    drop(z10g);

    // 10^5 entries.
    let names: Vec<String> = (0..100_000).map(|i| format!("word/p{i}.xml")).collect();
    let many = write(&dir, "entries-100000.docx", |w| {
        let mut e = vec![stored("[Content_Types].xml", ooxml_types())];
        e.extend(names.iter().map(|n| stored(n, b"")));
        raw_zip(&e, w);
    });
    let r = verify(&many, "10^5 entries");
    assert_eq!(r.code, "PACKAGE_UNREADABLE", "{:?}", r.failed);
    runs.push(r);

    // Path traversal names beside the signed parts: never extracted, the
    // signature fails on the package's structure.
    let mut parts = common::zip_entries(&docx);
    parts.push((
        "../../etc/cron.d/evil".into(),
        b"* * * * * root true".to_vec(),
    ));
    parts.push(("/tmp/evil.xml".into(), b"<x/>".to_vec()));
    let traversal = write(&dir, "traversal.docx", |w| {
        let e: Vec<Raw<'_>> = parts.iter().map(|(n, d)| stored(n, d)).collect();
        raw_zip(&e, w);
    });
    let r = verify(&traversal, "path traversal names");
    assert!(
        r.failed
            .iter()
            .any(|f| f.starts_with("PACKAGE_STRUCTURE_AMBIGUOUS") && f.contains("ZIP_NAME_UNSAFE")),
        "{:?}",
        r.failed
    );
    assert!(!Path::new("/tmp/evil.xml").exists());
    runs.push(r);

    // A truncated central directory: the end record and half the
    // directory gone; and the end record kept with the directory cut.
    let cut = write(&dir, "truncated.docx", |w| {
        w.write_all(&docx[..docx.len() - 400]).unwrap()
    });
    let r = verify(&cut, "truncated central directory");
    assert_eq!(r.code, "PACKAGE_UNREADABLE", "{:?}", r.failed);
    runs.push(r);
    let eocd = docx.len() - 22;
    let cd_size = u32::from_le_bytes(docx[eocd + 12..eocd + 16].try_into().unwrap()) as usize;
    let cd = eocd - cd_size;
    let mut gutted = docx[..cd + cd_size / 2].to_vec();
    gutted.extend_from_slice(&docx[eocd..]);
    let gutted = write(&dir, "directory-cut.docx", |w| {
        w.write_all(&gutted).unwrap()
    });
    let r = verify(&gutted, "central directory cut, end record kept");
    assert_eq!(r.code, "PACKAGE_UNREADABLE", "{:?}", r.failed);
    runs.push(r);

    // An encrypted package (traditional ZIP encryption flag on a part).
    let parts = common::zip_entries(&docx);
    let enc = write(&dir, "encrypted.docx", |w| {
        let e: Vec<Raw<'_>> = parts
            .iter()
            .map(|(n, d)| Raw {
                flags: if n == "word/document.xml" { 1 } else { 0 },
                ..stored(n, d)
            })
            .collect();
        raw_zip(&e, w);
    });
    let r = verify(&enc, "encrypted part");
    assert_eq!(r.code, "PACKAGE_ENCRYPTED", "{:?}", r.failed);
    runs.push(r);

    std::fs::remove_dir_all(&dir).ok();
    let base_rss = runs[0].rss_kib;
    println!("hostile packages (kyso verify, each run's own peak RSS):");
    for r in &runs {
        println!(
            "  {:42} {:28} {:>6} ms  {:>5.1} MiB",
            r.name,
            if r.code.is_empty() {
                r.failed
                    .iter()
                    .map(|f| f.split(' ').next().unwrap_or(""))
                    .find(|c| c.starts_with("PACKAGE_"))
                    .unwrap_or("(signatures judged)")
            } else {
                &r.code
            },
            r.took.as_millis(),
            r.rss_kib as f64 / 1024.0
        );
    }
    for r in &runs {
        assert!(r.took < Duration::from_secs(20), "{}: {:?}", r.name, r.took);
        // The file itself (at most ~10 MB here) and the directory read
        // above what the program costs on a small honest package; never
        // what the entries would inflate to.
        assert!(
            r.rss_kib - base_rss < 48 * 1024,
            "{}: {} KiB, {} KiB for the honest package",
            r.name,
            r.rss_kib,
            base_rss
        );
    }
}
