//! Hostile and broken input: each case ends with a clear error or a
//! non-passing indication, in bounded time and memory. Runs in its own
//! process so the peak-memory reading is this file's alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use kyso::der::encode_tlv;
use kyso::pki::TrustStore;
use kyso::report::Report;
use kyso::validate::{VerifyOptions, verify_bytes};

fn opts() -> VerifyOptions {
    let mut t = TrustStore::new();
    t.load_path(&common::root().join("certs/test/root.pem"))
        .unwrap();
    VerifyOptions::new(t, common::at("2026-11-01T00:00:00Z"))
}

/// Build a PDF with a classic xref from object bodies (object n = index + 1).
fn pdf_from(objects: &[Vec<u8>], trailer_extra: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offs = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offs.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offs {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R {trailer_extra}>>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn check(name: &str, r: &Report, started: Instant) -> String {
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(20),
        "{name}: took {elapsed:?}"
    );
    assert!(!r.summary.all_passed, "{name}: must not pass");
    let code = r.document.error.as_ref().map(|c| c.code).unwrap_or("-");
    println!("{name}: {code} {:?} in {elapsed:?}", r.summary.indication);
    code.to_string()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

#[test]
fn hostile_inputs_fail_cleanly() {
    let o = opts();
    let good = std::fs::read(common::root().join("testdata/pdf/rsa-pkcs1.pdf")).unwrap();

    // 0-byte file and garbage.
    let t = Instant::now();
    assert_eq!(
        check("empty", &verify_bytes(b"", None, "empty", &o).0, t),
        "DOC_UNKNOWN_FORMAT"
    );
    let garbage: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let t = Instant::now();
    assert_eq!(
        check("garbage", &verify_bytes(&garbage, None, "garbage", &o).0, t),
        "DOC_UNKNOWN_FORMAT"
    );
    let t = Instant::now();
    let mut pdf_garbage = b"%PDF-1.7\n".to_vec();
    pdf_garbage.extend_from_slice(&garbage);
    assert_eq!(
        check(
            "pdf-header-garbage",
            &verify_bytes(&pdf_garbage, None, "g", &o).0,
            t
        ),
        "DOC_MALFORMED"
    );

    // Truncations of a signed PDF at many points: never passes, never panics.
    for cut in (0..good.len()).step_by(97) {
        let t = Instant::now();
        let (r, _) = verify_bytes(&good[..cut], None, "truncated", &o);
        assert!(!r.summary.all_passed, "truncated at {cut} passed");
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    // xref loop: /Prev points to itself.
    let looped = pdf_from(&[b"<< /Type /Catalog >>".to_vec()], "");
    let xref_pos = String::from_utf8_lossy(&looped).rfind("xref\n").unwrap();
    let s = String::from_utf8_lossy(&looped)
        .replace("/Root 1 0 R ", &format!("/Root 1 0 R /Prev {xref_pos} "));
    let looped = s.into_bytes();
    let t = Instant::now();
    assert_eq!(
        check("xref-loop", &verify_bytes(&looped, None, "loop", &o).0, t),
        "DOC_MALFORMED"
    );

    // A startxref two bytes off: found nearby and reported, not fatal.
    let ok_pdf = pdf_from(&[b"<< /Type /Catalog >>".to_vec()], "");
    let text = String::from_utf8_lossy(&ok_pdf).into_owned();
    let sx = text.rfind("startxref\n").unwrap() + "startxref\n".len();
    let off: usize = text[sx..].lines().next().unwrap().parse().unwrap();
    let shifted = format!("{}{}\n%%EOF\n", &text[..sx], off + 2);
    let (r, _) = verify_bytes(shifted.as_bytes(), None, "shifted", &o);
    assert!(r.document.error.is_none(), "{:?}", r.document.error);
    assert!(
        r.document
            .notes
            .iter()
            .any(|n| n.code == "XREF_OFFSET_REPAIRED")
    );

    // 10^6 nested arrays where the reader must look (the catalog's /AcroForm).
    let mut deep = b"<< /Type /Catalog /AcroForm ".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 1_000_000));
    deep.extend_from_slice(b" >>");
    let t = Instant::now();
    assert_eq!(
        check(
            "nested-arrays",
            &verify_bytes(&pdf_from(&[deep], ""), None, "deep", &o).0,
            t
        ),
        "DOC_LIMIT_EXCEEDED"
    );

    // A CMS with 10^5 certificates (minimal SEQUENCEs: the count is what is tested).
    let certs: Vec<u8> = [0x30u8, 0x00].repeat(100_000);
    let oid_data = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
    ];
    let mut sd = Vec::new();
    sd.extend_from_slice(&encode_tlv(0x02, &[1]));
    sd.extend_from_slice(&encode_tlv(0x31, &[]));
    sd.extend_from_slice(&encode_tlv(0x30, &oid_data));
    sd.extend_from_slice(&encode_tlv(0xa0, &certs));
    sd.extend_from_slice(&encode_tlv(0x31, &[]));
    let mut ci = vec![
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
    ];
    ci.extend_from_slice(&encode_tlv(0xa0, &encode_tlv(0x30, &sd)));
    let cms = encode_tlv(0x30, &ci);
    let t = Instant::now();
    assert_eq!(
        check(
            "cms-100k-certs",
            &verify_bytes(&cms, Some(b"x"), "many.p7s", &o).0,
            t
        ),
        "DOC_LIMIT_EXCEEDED"
    );

    let rss = peak_rss_kib();
    println!(
        "peak RSS of the in-process bad-input run: {} MiB",
        rss / 1024
    );
    assert!(rss < 256 * 1024, "peak RSS {rss} KiB");
}

#[test]
fn contents_of_100_mb_is_refused_in_bounded_memory() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("kyso-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("contents-100mb.pdf");
    {
        // Written in pieces: the test itself must not hold 100 MB.
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let mut offs = Vec::new();
        let mut pos = 0usize;
        let put = |f: &mut std::io::BufWriter<std::fs::File>, b: &[u8], pos: &mut usize| {
            f.write_all(b).unwrap();
            *pos += b.len();
        };
        put(&mut f, b"%PDF-1.7\n", &mut pos);
        offs.push(pos);
        put(
            &mut f,
            b"1 0 obj\n<< /Type /Catalog /AcroForm << /Fields [2 0 R] >> >>\nendobj\n",
            &mut pos,
        );
        offs.push(pos);
        put(
            &mut f,
            b"2 0 obj\n<< /FT /Sig /T (Sig1) /V 3 0 R >>\nendobj\n",
            &mut pos,
        );
        offs.push(pos);
        put(&mut f, b"3 0 obj\n<< /Type /Sig /SubFilter /ETSI.CAdES.detached /ByteRange [0 0 0 0] /Contents <", &mut pos);
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..100 {
            put(&mut f, &zeros, &mut pos);
        }
        put(&mut f, b"> >>\nendobj\n", &mut pos);
        let xref = pos;
        let mut tail = String::from("xref\n0 4\n0000000000 65535 f \n");
        for o in &offs {
            tail.push_str(&format!("{o:010} 00000 n \n"));
        }
        tail.push_str(&format!(
            "trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        ));
        put(&mut f, tail.as_bytes(), &mut pos);
    }
    // The program's own footprint first (a small signed PDF): what the
    // 100 MB input costs is measured above it, whatever the binary's size.
    let small = std::process::Command::new(env!("CARGO_BIN_EXE_kyso"))
        .args(["verify", "--format", "json", "--trust"])
        .arg(common::root().join("certs/test/root.pem"))
        .arg(common::root().join("testdata/pdf/rsa-pkcs1.pdf"))
        .output()
        .unwrap();
    assert!(small.status.code().is_some());
    let baseline = common::children_peak_rss_kib();
    let t = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kyso"))
        .args(["verify", "--format", "json", "--trust"])
        .arg(common::root().join("certs/test/root.pem"))
        .arg(&big)
        .output()
        .unwrap();
    let elapsed = t.elapsed();
    std::fs::remove_dir_all(&dir).ok();
    let rss = common::children_peak_rss_kib();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!(
        "contents-100mb: {} in {elapsed:?}, peak RSS {} MiB ({} MiB over a small file's run)",
        report["document"]["error"]["code"],
        rss / 1024,
        (rss - baseline) / 1024
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["document"]["error"]["code"], "DOC_LIMIT_EXCEEDED");
    assert!(elapsed < Duration::from_secs(20));
    // At most the object window (max_object_bytes, 20 MiB) and its
    // decoding above the program itself, never the 100 MB.
    assert!(
        rss - baseline < 40 * 1024,
        "peak RSS {rss} KiB, {baseline} KiB for a small file"
    );
}
