//! ZIP package structure (src/package): an honest package read as the `zip`
//! crate reads it; every structural trick a finding or a typed error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

mod common;

use kyso::package::{Package, PackageLimits};

/// An honest package: `[Content_Types].xml` deflated, a stored part, a
/// deflated document part.
fn honest() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        z.start_file("[Content_Types].xml", deflated).unwrap();
        z.write_all(
            b"<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>",
        )
        .unwrap();
        z.start_file("mimetype", stored).unwrap();
        z.write_all(b"application/vnd.oasis.opendocument.text")
            .unwrap();
        z.start_file("word/document.xml", deflated).unwrap();
        z.write_all(
            "<w:document>Đơn đề nghị cấp giấy phép</w:document>"
                .repeat(50)
                .as_bytes(),
        )
        .unwrap();
        z.finish().unwrap();
    }
    out.into_inner()
}

fn codes(p: &Package<'_>) -> Vec<&'static str> {
    p.findings.iter().map(|f| f.code).collect()
}

/// Replace every occurrence of `from` by `to` (same length) in the bytes.
fn patch_all(b: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= b.len() {
        if &b[i..i + from.len()] == from {
            b[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

#[test]
fn honest_package_reads_as_the_zip_crate_reads_it() {
    let data = honest();
    let p = Package::read(&data, &PackageLimits::default()).unwrap();
    assert!(p.findings.is_empty(), "{:?}", p.findings);
    let mut oracle = zip::ZipArchive::new(std::io::Cursor::new(&data)).unwrap();
    assert_eq!(p.parts.len(), oracle.len());
    for (i, part) in p.parts.iter().enumerate() {
        let mut e = oracle.by_index(i).unwrap();
        assert_eq!(part.name, e.name());
        assert_eq!((part.size, part.crc32), (e.size(), e.crc32()));
        let mut want = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut want).unwrap();
        assert_eq!(p.open(part).unwrap(), want, "{}", part.name);
    }
    assert_eq!(p.part("mimetype").unwrap().method, 0);
}

#[test]
fn unsafe_names_are_findings() {
    for name in [&b"../x.xml"[..], b"/etc/pwd", b"C:\\x.xml"] {
        let mut d = honest();
        assert_eq!(patch_all(&mut d, b"mimetype", name), 2);
        let p = Package::read(&d, &PackageLimits::default()).unwrap();
        assert_eq!(
            codes(&p),
            ["ZIP_NAME_UNSAFE"],
            "{}",
            String::from_utf8_lossy(name)
        );
    }
}

#[test]
fn duplicate_and_case_folded_names() {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        let o = zip::write::SimpleFileOptions::default();
        for n in ["word/document.xml", "word/Document.xmm"] {
            z.start_file(n, o).unwrap();
            z.write_all(b"<x/>").unwrap();
        }
        z.finish().unwrap();
    }
    let mut d = out.into_inner();
    // The second becomes "word/Document.xml": the same name on a
    // case-insensitive file system.
    assert_eq!(
        patch_all(&mut d, b"word/Document.xmm", b"word/Document.xml"),
        2
    );
    let p = Package::read(&d, &PackageLimits::default()).unwrap();
    assert_eq!(codes(&p), ["ZIP_NAMES_FOLD_TOGETHER"]);
    // And exactly the same name.
    assert_eq!(
        patch_all(&mut d, b"word/Document.xml", b"word/document.xml"),
        2
    );
    let p = Package::read(&d, &PackageLimits::default()).unwrap();
    assert_eq!(codes(&p), ["ZIP_DUPLICATE_NAME"]);
}

#[test]
fn local_header_that_disagrees_is_a_finding() {
    let mut d = honest();
    // Only the local header's copy of the name changes (the first occurrence).
    let at = d.windows(8).position(|w| w == b"mimetype").unwrap();
    d[at..at + 8].copy_from_slice(b"mimetypX");
    let p = Package::read(&d, &PackageLimits::default()).unwrap();
    assert_eq!(codes(&p), ["ZIP_LOCAL_HEADER_DISAGREES"]);
}

/// The package with `junk` inserted before its first part, every offset
/// moved so that the directory still finds its parts.
fn with_prefix(junk: &[u8]) -> Vec<u8> {
    let d = honest();
    let shift = junk.len() as u32;
    let mut out = junk.to_vec();
    out.extend_from_slice(&d);
    let eocd = out
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x05, 0x06])
        .unwrap();
    let cd = u32::from_le_bytes(out[eocd + 16..eocd + 20].try_into().unwrap()) + shift;
    out[eocd + 16..eocd + 20].copy_from_slice(&cd.to_le_bytes());
    let mut at = cd as usize;
    while out[at..at + 4] == [0x50, 0x4b, 0x01, 0x02] {
        let local = u32::from_le_bytes(out[at + 42..at + 46].try_into().unwrap()) + shift;
        out[at + 42..at + 46].copy_from_slice(&local.to_le_bytes());
        let (n, x, c) = (
            u16::from_le_bytes([out[at + 28], out[at + 29]]) as usize,
            u16::from_le_bytes([out[at + 30], out[at + 31]]) as usize,
            u16::from_le_bytes([out[at + 32], out[at + 33]]) as usize,
        );
        at += 46 + n + x + c;
    }
    out
}

#[test]
fn hidden_data_and_hidden_archives_are_findings() {
    let d = with_prefix(b"#!/bin/sh\necho hidden\n");
    let p = Package::read(&d, &PackageLimits::default()).unwrap();
    assert_eq!(codes(&p), ["ZIP_DATA_BETWEEN_PARTS"]);
    // A second archive in the comment.
    let mut d = honest();
    let inner = honest();
    let n = d.len();
    let len = inner.len() as u16;
    d[n - 2..].copy_from_slice(&len.to_le_bytes());
    d.extend_from_slice(&inner);
    let p = Package::read(&d, &PackageLimits::default()).unwrap();
    assert!(
        codes(&p).contains(&"ZIP_COMMENT_HIDES_ARCHIVE"),
        "{:?}",
        p.findings
    );
    // Bytes after the end record.
    let mut d = honest();
    d.extend_from_slice(b"appended");
    let p = Package::read(&d, &PackageLimits::default()).unwrap();
    assert_eq!(codes(&p), ["ZIP_TRAILING_DATA"]);
}

#[test]
fn bombs_truncation_encryption_and_counts_are_typed_errors() {
    // A part inflating 1 000 times its size, past the ratio limit.
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.start_file("word/media/bomb.bin", o).unwrap();
        z.write_all(&vec![0u8; 20 << 20]).unwrap();
        z.finish().unwrap();
    }
    let d = out.into_inner();
    let p = Package::read(&d, &PackageLimits::default()).unwrap();
    let e = p.open(&p.parts[0]).unwrap_err().to_string();
    assert!(e.contains("max_package_ratio"), "{e}");
    let small = PackageLimits {
        max_part_bytes: 1 << 20,
        ..PackageLimits::default()
    };
    let p = Package::read(&d, &small).unwrap();
    let e = p.open(&p.parts[0]).unwrap_err().to_string();
    assert!(e.contains("max_package_part_bytes"), "{e}");
    let total = PackageLimits {
        max_total_bytes: 1 << 20,
        ..PackageLimits::default()
    };
    let e = Package::read(&d, &total)
        .unwrap()
        .check_total()
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_package_bytes"), "{e}");

    // Truncated: no end record, or a directory cut short.
    let d = honest();
    assert!(Package::read(&d[..d.len() - 30], &PackageLimits::default()).is_err());
    let eocd = d
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x05, 0x06])
        .unwrap();
    let mut cut = d[..eocd - 10].to_vec();
    cut.extend_from_slice(&d[eocd..]);
    assert!(Package::read(&cut, &PackageLimits::default()).is_err());

    // Encrypted flag on a part: a finding, and never opened.
    let mut d = honest();
    let first = d
        .windows(4)
        .position(|w| w == [0x50, 0x4b, 0x01, 0x02])
        .unwrap();
    d[first + 8] |= 1;
    let p = Package::read(&d, &PackageLimits::default()).unwrap();
    assert!(
        codes(&p).contains(&"ZIP_ENCRYPTED_PART"),
        "{:?}",
        p.findings
    );
    assert!(p.open(&p.parts[0]).is_err());

    // More entries than allowed: refused before the directory is read.
    let mut d = honest();
    let n = d.len();
    d[n - 12..n - 10].copy_from_slice(&60_000u16.to_le_bytes());
    d[n - 14..n - 12].copy_from_slice(&60_000u16.to_le_bytes());
    let e = Package::read(&d, &PackageLimits::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_package_entries"), "{e}");
}

/// LibreOffice's signed ODF documents (../shared/corpora/xmldsig/odf-libreoffice)
/// through `validate::package::verify_package`: the document signature verified
/// against the package's own streams — XML streams canonicalized from their
/// octets, others digested as they are — and its coverage. good.odt: every
/// stream signed (its TSCP test CA is not trusted: the chain is what stays
/// open, as LibreOffice's NOTVALIDATED); bad.odt: a signed stream changed
/// (LibreOffice: BROKEN); good.odt with one more, unsigned picture: the
/// part is named, never TOTAL_PASSED.
#[test]
fn odf_signature_verifies_against_the_package_streams() {
    let Some(dir) = common::corpus("xmldsig") else {
        return;
    };
    let opts = kyso::validate::VerifyOptions::new(
        kyso::pki::TrustStore::new(),
        common::at("2026-12-01T00:00:00Z"),
    );
    let verdict = |data: &[u8]| {
        let r = kyso::validate::package::verify_package(data, "x.odt", &opts);
        let s = &r.signatures[0];
        let failed: Vec<&str> = s
            .checks
            .iter()
            .filter(|c| c.outcome == kyso::report::Outcome::Failed)
            .map(|c| c.code)
            .collect();
        (
            format!(
                "{}/{}",
                s.indication.as_str(),
                s.sub_indication.map(|x| x.as_str()).unwrap_or("")
            ),
            failed.join(","),
        )
    };
    let good = std::fs::read(dir.join("odf-libreoffice/data/good.odt")).unwrap();
    let bad = std::fs::read(dir.join("odf-libreoffice/data/bad.odt")).unwrap();
    assert_eq!(
        verdict(&good),
        (
            "INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND".into(),
            "CHAIN_NO_PATH".into()
        )
    );
    let (v, failed) = verdict(&bad);
    assert_eq!(v, "TOTAL_FAILED/HASH_FAILURE");
    assert!(failed.contains("XML_REFERENCE_DIGEST_MISMATCH"), "{failed}");

    // The same package with a picture added after signing.
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(&good)).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        for i in 0..src.len() {
            let e = src.by_index_raw(i).unwrap();
            z.raw_copy_file(e).unwrap();
        }
        z.start_file(
            "Pictures/added.png",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        z.write_all(b"\x89PNG not signed").unwrap();
        z.finish().unwrap();
    }
    let (_, failed) = verdict(&out.into_inner());
    assert!(failed.contains("PACKAGE_PARTS_NOT_SIGNED"), "{failed}");
    let r = kyso::validate::package::verify_package(&good, "x.odt", &opts);
    assert!(
        r.signatures[0]
            .checks
            .iter()
            .any(|c| c.code == "PACKAGE_ALL_PARTS_SIGNED"),
        "good.odt signs every stream"
    );
}
