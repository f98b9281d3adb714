//! Independent oracles next to kyso's own readers (the design card's crates,
//! each for what it is best at):
//!
//! - RustCrypto `cms` + `der`: a strict DER reader. Every SignedData kyso
//!   writes must decode with it and re-encode to the very same bytes (DER by
//!   construction); on the CMS of every fixture and outside corpus file,
//!   where both readers succeed they must agree on the structure (signer
//!   count, digest algorithms, certificates, encapsulated content). Inputs
//!   only kyso reads are BER (indefinite lengths), counted and printed.
//! - `sha2`: the digest of a signature's ByteRange, computed independently of
//!   OpenSSL, equals the messageDigest kyso verified.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use der::{Decode, Encode};
use kyso::pdf::source::MemSource;
use kyso::pdf::{Document, find_signatures};
use kyso::sign::SignOptions;
use kyso::sign::keys::SoftKey;
use sha2::Digest as _;

/// The SignedData of each signature of a PDF (its /Contents, padding removed).
fn pdf_cms(pdf: &[u8]) -> Vec<Vec<u8>> {
    let src = MemSource(pdf);
    let Ok(doc) = Document::open(&src, kyso::Limits::default()) else {
        return Vec::new();
    };
    let Ok(sigs) = find_signatures(&doc) else {
        return Vec::new();
    };
    sigs.iter()
        .filter_map(|s| s.contents_str())
        .filter_map(|c| kyso::cms::first_tlv(&c.bytes).ok().map(|(t, _)| t.to_vec()))
        .collect()
}

/// What both readers must agree on.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    signers: usize,
    digest_algs: Vec<String>,
    certificates: usize,
    econtent: Option<usize>,
}

fn kyso_shape(der: &[u8]) -> Option<Shape> {
    let sd = kyso::cms::parse_signed_data(der, 1000).ok()?;
    Some(Shape {
        signers: sd.signer_infos.len(),
        digest_algs: sd
            .signer_infos
            .iter()
            .map(|s| s.digest_alg.oid.clone())
            .collect(),
        certificates: sd.certificates.len(),
        econtent: sd.econtent.as_ref().map(|e| e.len()),
    })
}

fn strict_shape(der: &[u8]) -> Option<Shape> {
    let ci = cms::content_info::ContentInfo::from_der(der).ok()?;
    let sd: cms::signed_data::SignedData = ci.content.decode_as().ok()?;
    Some(Shape {
        signers: sd.signer_infos.0.len(),
        digest_algs: sd
            .signer_infos
            .0
            .iter()
            .map(|s| s.digest_alg.oid.to_string())
            .collect(),
        certificates: sd.certificates.as_ref().map_or(0, |c| c.0.len()),
        econtent: sd
            .encap_content_info
            .econtent
            .as_ref()
            .and_then(|a| der::asn1::OctetString::from_der(&a.to_der().ok()?).ok())
            .map(|o| o.as_bytes().len()),
    })
}

#[test]
fn kyso_writes_der_that_a_strict_reader_reencodes_identically() {
    let c = common::root().join("certs/test");
    let ca = kyso::pki::load_certificates(&c.join("issuing-ca.pem")).unwrap();
    let pdf = std::fs::read(common::root().join("testdata/pdf/unsigned.pdf")).unwrap();
    let mut n = 0;
    for (stem, pss) in [
        ("signer-rsa", false),
        ("signer-pss", true),
        ("signer-ec", false),
    ] {
        let key = SoftKey::from_pem(
            &c.join(format!("{stem}.key.pem")),
            &c.join(format!("{stem}.pem")),
            &ca,
            pss,
        )
        .unwrap();
        let opts = SignOptions {
            time: common::at("2026-11-01T00:00:00Z"),
            ..SignOptions::default()
        };
        let signed = kyso::sign::sign_pdf(&pdf, &key, &opts).unwrap();
        for der in pdf_cms(&signed) {
            let ci = cms::content_info::ContentInfo::from_der(&der)
                .unwrap_or_else(|e| panic!("{stem}: not strict DER: {e}"));
            assert_eq!(ci.to_der().unwrap(), der, "{stem}: DER re-encoding differs");
            assert_eq!(strict_shape(&der), kyso_shape(&der), "{stem}");
            // sha2, not OpenSSL: the ByteRange digest is the signed messageDigest.
            let sd = kyso::cms::parse_signed_data(&der, 10).unwrap();
            let si = &sd.signer_infos[0];
            let md = si.signed_attr(kyso::cms::oid::MESSAGE_DIGEST)[0].values[0].value;
            let src = MemSource(&signed);
            let doc = Document::open(&src, kyso::Limits::default()).unwrap();
            let sig = find_signatures(&doc).unwrap().pop().unwrap();
            let Some(kyso::pdf::object::Obj::Array(br)) = &sig.byte_range else {
                panic!("no ByteRange")
            };
            let r: Vec<usize> = br
                .iter()
                .map(|o| match o {
                    kyso::pdf::object::Obj::Int(i) => *i as usize,
                    _ => panic!("ByteRange"),
                })
                .collect();
            let mut h = sha2::Sha256::new();
            h.update(&signed[r[0]..r[0] + r[1]]);
            h.update(&signed[r[2]..r[2] + r[3]]);
            assert_eq!(h.finalize().as_slice(), md, "{stem}: messageDigest");
            n += 1;
        }
    }
    println!(
        "oracle: {n} SignedData written by kyso decode strictly and re-encode byte for byte; sha2 agrees on every ByteRange digest"
    );
    assert_eq!(n, 3);
}

#[test]
fn strict_and_tolerant_readers_agree_on_every_cms() {
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add_dir = |dir: std::path::PathBuf| {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for p in files {
            if p.is_dir() {
                continue;
            }
            let data = std::fs::read(&p).unwrap();
            let name = p.display().to_string();
            if data.starts_with(b"%PDF") {
                for (i, der) in pdf_cms(&data).into_iter().enumerate() {
                    inputs.push((format!("{name}#{i}"), der));
                }
            } else if let Ok(der) = kyso::validate::decode_cms_input(&data) {
                inputs.push((name, der));
            }
        }
    };
    let root = common::root();
    for d in [
        "testdata/pdf",
        "testdata/pdf/attacks",
        "testdata/cms",
        "testdata/live",
    ] {
        add_dir(root.join(d));
    }
    for sub in ["pdf", "cms"] {
        if let Some(d) = common::corpus(sub) {
            add_dir(d.clone());
            if let Ok(rd) = std::fs::read_dir(&d) {
                for e in rd.flatten().filter(|e| e.path().is_dir()) {
                    add_dir(e.path());
                }
            }
        }
    }
    let (mut both, mut ber_only, mut neither, mut strict_only) = (0, 0, 0, 0);
    let mut disagree = Vec::new();
    for (name, der) in &inputs {
        match (kyso_shape(der), strict_shape(der)) {
            (Some(a), Some(b)) => {
                both += 1;
                if a != b {
                    disagree.push(format!("{name}: kyso {a:?} vs strict {b:?}"));
                }
            }
            (Some(_), None) => ber_only += 1,
            (None, Some(_)) => strict_only += 1,
            (None, None) => neither += 1,
        }
    }
    println!(
        "oracle: {} CMS structures; both readers {both}, kyso only (BER or not strict DER) {ber_only}, strict only {strict_only}, neither {neither}; disagreements {}",
        inputs.len(),
        disagree.len()
    );
    assert!(both >= 50, "too few CMS structures read by both ({both})");
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}
