//! Hostile revocation data and timestamps: malformed OCSP responses and
//! CRLs, a CRL of 50 MB (given by the caller and embedded in a /DSS), and a
//! timestamp token nested in a timestamp token. Each gives a clear error or a
//! non-passing indication, in bounded time and memory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::root;
use kyso::pki::TrustStore;
use kyso::report::{Indication, SubIndication};
use kyso::revocation::RevSource;
use kyso::validate::{VerifyOptions, verify_path};

fn opts() -> VerifyOptions {
    let mut t = TrustStore::new();
    t.load_path(&root().join("certs/test/root.pem")).unwrap();
    VerifyOptions::new(t, common::at("2026-11-01T00:00:00Z"))
}

fn rev(name: &str) -> Vec<u8> {
    std::fs::read(root().join("testdata/revocation").join(name)).unwrap()
}

fn verdict(o: &VerifyOptions, file: &str) -> (Indication, Option<SubIndication>, String) {
    let (r, _) = verify_path(&root().join("testdata").join(file), None, o).unwrap();
    let s = &r.signatures[0];
    (
        s.indication,
        s.sub_indication,
        serde_json::to_string(&r).unwrap(),
    )
}

fn kyso(args: &[&str]) -> (Option<i32>, String, String, Duration) {
    let t = Instant::now();
    let (code, out, err) = common::kyso(args);
    (code, out, err, t.elapsed())
}

/// A named case: CRLs and OCSP responses supplied by the caller.
type Case = (&'static str, Vec<Vec<u8>>, Vec<Vec<u8>>);

#[test]
fn malformed_ocsp_and_crl_are_not_used() {
    let good_crls = [rev("root.crl"), rev("issuing-ca.crl")];
    let ocsp = rev("signer-rsa-good.ocsp");
    let mut bad_sig_crl = good_crls[1].clone();
    let n = bad_sig_crl.len();
    bad_sig_crl[n - 5] ^= 0x55; // inside the CRL's signature value
    // Each case: the root's CRL, plus what stands for the issuing CA's data.
    let cases: Vec<Case> = vec![
        (
            "control: the issuing CA's good CRL",
            vec![good_crls[1].clone()],
            vec![],
        ),
        (
            "control: the signer's good OCSP response",
            vec![],
            vec![ocsp.clone()],
        ),
        (
            "garbage OCSP",
            vec![],
            vec![b"not an OCSP response".to_vec()],
        ),
        (
            "truncated OCSP",
            vec![],
            vec![ocsp[..ocsp.len() / 2].to_vec()],
        ),
        ("empty OCSP", vec![], vec![Vec::new()]),
        (
            "garbage CRL",
            vec![vec![0x30, 0x82, 0xff, 0xff, 0x01]],
            vec![],
        ),
        (
            "truncated CRL",
            vec![good_crls[1][..good_crls[1].len() - 40].to_vec()],
            vec![],
        ),
        ("CRL with a broken signature", vec![bad_sig_crl], vec![]),
    ];
    for (name, crls, ocsps) in cases {
        let mut o = opts();
        // After the OCSP response was produced; the CRLs cover it too.
        o.at = common::at("2027-01-01T00:00:00Z");
        o.revocation
            .crls
            .push((RevSource::Caller, good_crls[0].clone().into()));
        for c in crls {
            o.revocation.crls.push((RevSource::Caller, c.into()));
        }
        for r in ocsps {
            o.revocation.ocsps.push((RevSource::Caller, r.into()));
        }
        let t = Instant::now();
        let (ind, sub, json) = verdict(&o, "pdf/rsa-pkcs1.pdf");
        println!("{name}: {ind:?}/{sub:?} in {:?}", t.elapsed());
        let want = if name.starts_with("control") {
            (Indication::TotalPassed, None)
        } else {
            (Indication::Indeterminate, Some(SubIndication::TryLater))
        };
        assert_eq!((ind, sub), want, "{name}");
        if name == "CRL with a broken signature" {
            assert!(
                json.contains("CRL signature does not verify with the issuer's key"),
                "{json}"
            );
        }
    }
    // The CLI refuses malformed files outright, saying which and why.
    std::fs::write(std::env::temp_dir().join("kyso-garbage.ocsp"), b"garbage").unwrap();
    let g = std::env::temp_dir().join("kyso-garbage.ocsp");
    let (code, _, err, _) = kyso(&[
        "verify",
        "testdata/pdf/rsa-pkcs1.pdf",
        "--ocsp",
        g.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a readable OCSP"), "{err}");
    std::fs::remove_file(g).ok();
}

/// rsa-pkcs1.pdf plus an incremental update adding a /DSS whose one CRL
/// stream is `size` bytes long, written in pieces.
fn pdf_with_big_dss_crl(path: &Path, size: usize) {
    let pdf = std::fs::read(root().join("testdata/pdf/rsa-pkcs1.pdf")).unwrap();
    let text = String::from_utf8_lossy(&pdf);
    // The number after the last `key`.
    let after = |key: &str| -> usize {
        let rest = &text[text.rfind(key).unwrap() + key.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    let prev = after("startxref");
    let size_n = after("/Size");
    // The catalog, re-written with a /DSS entry.
    let cat_start = text.rfind("\n1 0 obj").unwrap() + 1;
    let cat_end = cat_start + text[cat_start..].find("endobj").unwrap();
    let cat_body = &text[cat_start + "1 0 obj".len()..cat_end];
    let close = cat_body.rfind(">>").unwrap();
    let dss = size_n;
    let crl = size_n + 1;
    let new_cat = format!(
        "1 0 obj\n{} /DSS {dss} 0 R >>\nendobj\n",
        &cat_body[..close].trim()
    );
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(&pdf).unwrap();
    let mut pos = pdf.len();
    let mut offs = Vec::new();
    offs.push(pos);
    f.write_all(new_cat.as_bytes()).unwrap();
    pos += new_cat.len();
    offs.push(pos);
    let d = format!("{dss} 0 obj\n<< /CRLs [{crl} 0 R] >>\nendobj\n");
    f.write_all(d.as_bytes()).unwrap();
    pos += d.len();
    offs.push(pos);
    let head = format!("{crl} 0 obj\n<< /Length {size} >>\nstream\n");
    f.write_all(head.as_bytes()).unwrap();
    pos += head.len();
    let chunk = vec![0x30u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    pos += size;
    let end = "\nendstream\nendobj\n";
    f.write_all(end.as_bytes()).unwrap();
    pos += end.len();
    let xref = pos;
    let tail = format!(
        "xref\n0 1\n0000000000 65535 f \n1 1\n{:010} 00000 n \n{dss} 2\n{:010} 00000 n \n{:010} 00000 n \ntrailer\n<< /Size {} /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
        offs[0],
        offs[1],
        offs[2],
        crl + 1
    );
    f.write_all(tail.as_bytes()).unwrap();
}

#[test]
fn crl_of_50_mb_is_refused_in_bounded_memory() {
    let dir = std::env::temp_dir().join(format!("kyso-bad-rev-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let size = 50 << 20;

    // Given by the caller: refused before it is read.
    let big = dir.join("big.crl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..50 {
            f.write_all(&chunk).unwrap();
        }
    }
    let (code, _, err, took) = kyso(&[
        "verify",
        "testdata/pdf/rsa-pkcs1.pdf",
        "--crl",
        big.to_str().unwrap(),
    ]);
    println!("--crl of 50 MB: exit {code:?} in {took:?}: {}", err.trim());
    assert_eq!(code, Some(2));
    assert!(err.contains("larger than the limit"), "{err}");

    // Embedded in the document's /DSS: left out, never read past the limit.
    let pdf = dir.join("dss-50mb-crl.pdf");
    pdf_with_big_dss_crl(&pdf, size);
    let (code, out, err, took) = kyso(&[
        "verify",
        pdf.to_str().unwrap(),
        "--trust",
        "certs/test/root.pem",
        "--at",
        "2026-11-01T00:00:00Z",
        "--format",
        "json",
    ]);
    let rss = common::children_peak_rss_kib();
    if std::env::var_os("KYSO_KEEP").is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    let notes = v["document"]["notes"].to_string();
    println!(
        "/DSS CRL of 50 MB: exit {code:?} in {took:?}, peak RSS {} MiB; {}",
        rss / 1024,
        v["signatures"][0]["sub_indication"]
    );
    assert_eq!(code, Some(1));
    assert!(notes.contains("DSS_ITEMS_UNREADABLE"), "{notes}");
    assert!(notes.contains("stream_bytes"), "{notes}");
    assert_eq!(v["signatures"][0]["indication"], "INDETERMINATE");
    assert_eq!(v["signatures"][0]["sub_indication"], "TRY_LATER");
    assert_eq!(
        v["signatures"][0]["coverage"]["modification_level"],
        "LTA_UPDATES"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(rss < 64 * 1024, "peak RSS {rss} KiB");
}

#[test]
fn timestamp_nested_in_a_timestamp_is_not_followed() {
    let mut o = opts();
    o.revocation
        .crls
        .push((RevSource::Caller, rev("root.crl").into()));
    o.revocation
        .crls
        .push((RevSource::Caller, rev("issuing-ca.crl").into()));
    let (r, _) = verify_path(&root().join("testdata/pdf/nested-timestamp.pdf"), None, &o).unwrap();
    let s = &r.signatures[0];
    assert_eq!(s.indication, Indication::TotalPassed);
    assert_eq!(s.timestamps.len(), 1);
    let ts = &s.timestamps[0];
    assert_eq!(ts.indication, Indication::TotalPassed);
    assert!(
        ts.timestamps.is_empty(),
        "nested timestamps are not evaluated"
    );
    assert!(
        ts.checks
            .iter()
            .any(|c| c.code == "NESTED_TIMESTAMP_IGNORED"),
        "{:?}",
        ts.checks
    );
}
