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
//! - `x509-parser`: for every certificate of the repository and the corpora
//!   (files, x509-limbo's PEM, those carried in every CMS), the subject and
//!   issuer, serial, validity, key type and size and the Vietnamese identity
//!   values kyso reports (read through OpenSSL) equal x509-parser's reading.
//!   A certificate only one of them reads needs its reason in
//!   tests/x509-oracle-listed.tsv.
//! - `lopdf`: for every PDF of testdata/ and the corpora that lopdf loads,
//!   each object of the latest revision as kyso's lazy reader returns it
//!   equals lopdf's whole-file reading (tests/support/lopdf_compare.rs; the
//!   fuzz target `pdf_differential` runs the same comparison). Differences
//!   need their reason in tests/lopdf-oracle-listed.tsv.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "support/lopdf_compare.rs"]
mod lopdf_compare;

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

/// Every certificate a verifier of these corpora meets: PEM/DER files, the
/// PEM blocks of JSON suites (x509-limbo), the certificates carried in the
/// CMS of every PDF signature and CMS file. Deduplicated by their bytes.
fn corpus_certificates() -> Vec<(String, Vec<u8>)> {
    fn pem_blocks(text: &str) -> Vec<Vec<u8>> {
        use base64::Engine as _;
        let (begin, end) = ("-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----");
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(b) = rest.find(begin) {
            let after = &rest[b + begin.len()..];
            let Some(e) = after.find(end) else { break };
            let body: String = after[..e]
                .replace("\\n", "")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body) {
                out.push(der);
            }
            rest = &after[e + end.len()..];
        }
        out
    }
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, out);
                continue;
            }
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            let name = p.display().to_string();
            let Ok(data) = std::fs::read(&p) else {
                continue;
            };
            let ders: Vec<Vec<u8>> = match ext.as_str() {
                "pem" | "crt" | "cer" | "der" | "json" => {
                    let text = String::from_utf8_lossy(&data);
                    let blocks = pem_blocks(&text);
                    if blocks.is_empty() && ext != "json" && ext != "pem" {
                        vec![data]
                    } else {
                        blocks
                    }
                }
                "pdf" => pdf_cms(&data)
                    .iter()
                    .filter_map(|der| {
                        kyso::cms::parse_signed_data(der, 1000).ok().map(|sd| {
                            sd.certificates
                                .iter()
                                .map(|c| c.to_vec())
                                .collect::<Vec<_>>()
                        })
                    })
                    .flatten()
                    .collect(),
                "p7s" | "p7m" | "p7b" | "p7c" => kyso::validate::decode_cms_input(&data)
                    .ok()
                    .and_then(|der| {
                        kyso::cms::parse_signed_data(&der, 1000)
                            .ok()
                            .map(|sd| sd.certificates.iter().map(|c| c.to_vec()).collect())
                    })
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            for (i, der) in ders.into_iter().enumerate() {
                out.push((format!("{name}#{i}"), der));
            }
        }
    }
    let mut all = Vec::new();
    let root = common::root();
    // The corpora are walked once, from their root (x509-limbo, PKITS, the
    // XML-DSig suites, OCSP/TSP/CMS/PDF files).
    walk(&root.join("certs"), &mut all);
    walk(&root.join("testdata"), &mut all);
    walk(&root.join("../shared/certs-vn"), &mut all);
    if let Some(c) = common::corpus("") {
        walk(&c, &mut all);
    }
    let mut seen = std::collections::HashSet::new();
    all.retain(|(_, der)| seen.insert(sha2::Sha256::digest(der).to_vec()));
    all
}

/// A directory string as OpenSSL's ASN1_STRING_to_UTF8 gives it (BMP and
/// Universal strings decoded, T61 read as Latin-1), read from x509-parser's
/// raw value; the raw bytes, lossily, where that fails (as kyso falls back).
fn x509_value(a: &x509_parser::x509::AttributeTypeAndValue) -> String {
    let v = a.attr_value();
    let raw = v.data;
    let decoded = match v.header.tag().0 {
        30 => {
            let units: Vec<u16> = raw
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            (raw.len() % 2 == 0)
                .then(|| String::from_utf16(&units).ok())
                .flatten()
        }
        28 => (raw.len() % 4 == 0)
            .then(|| {
                raw.chunks(4)
                    .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                    .collect::<Option<String>>()
            })
            .flatten(),
        20 => Some(raw.iter().map(|b| char::from(*b)).collect()),
        _ => std::str::from_utf8(raw).ok().map(str::to_string),
    };
    decoded.unwrap_or_else(|| String::from_utf8_lossy(raw).into_owned())
}

/// The short names kyso (after OpenSSL) writes for the attributes of a name.
fn x509_key(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.8" => "ST",
        "2.5.4.7" => "L",
        "2.5.4.5" => "SERIALNUMBER",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "E",
        "2.5.4.42" => "GN",
        "2.5.4.4" => "SN",
        "2.5.4.12" => "title",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => return None,
    })
}

/// Whether kyso's `KEY=value, …` string of a name is exactly the name
/// x509-parser reads: the same values in the same order (most specific
/// first), each under the short name both know (any name for the rest).
fn same_name(kyso: &str, name: &x509_parser::x509::X509Name) -> Result<(), String> {
    let mut entries: Vec<(Option<&str>, String)> = name
        .iter_attributes()
        .map(|a| (x509_key(&a.attr_type().to_id_string()), x509_value(a)))
        .collect();
    entries.reverse();
    let mut rest = kyso;
    for (i, (key, value)) in entries.iter().enumerate() {
        let eq = rest
            .find('=')
            .ok_or_else(|| format!("entry {i}: no '=' in {rest:?}"))?;
        if let Some(k) = key
            && &rest[..eq] != *k
        {
            return Err(format!("entry {i}: key {:?}, x509-parser {k}", &rest[..eq]));
        }
        rest = &rest[eq + 1..];
        rest = rest
            .strip_prefix(value.as_str())
            .ok_or_else(|| format!("entry {i}: value {rest:?}, x509-parser {value:?}"))?;
        if i + 1 < entries.len() {
            rest = rest
                .strip_prefix(", ")
                .ok_or_else(|| format!("entry {i}: no separator before {rest:?}"))?;
        }
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err(format!("kyso has more: {rest:?}"))
    }
}

/// What x509-parser reads where kyso's summary must agree, or why not.
fn x509_disagreement(
    k: &kyso::pki::cert::CertSummary,
    c: &x509_parser::certificate::X509Certificate,
) -> Option<String> {
    use x509_parser::public_key::PublicKey;
    if let Err(e) = same_name(&k.subject, c.subject()) {
        return Some(format!("subject: {e}"));
    }
    if let Err(e) = same_name(&k.issuer, c.issuer()) {
        return Some(format!("issuer: {e}"));
    }
    // Serial: a signed big-endian integer, as OpenSSL's BN_bn2hex writes it.
    let raw = c.raw_serial();
    let negative = raw.first().is_some_and(|b| b & 0x80 != 0);
    let magnitude: Vec<u8> = if negative {
        // Two's complement: invert and add one.
        let mut m: Vec<u8> = raw.iter().map(|b| !b).collect();
        for b in m.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
        m
    } else {
        raw.to_vec()
    };
    let digits: String = magnitude
        .iter()
        .skip_while(|b| **b == 0)
        .map(|b| format!("{b:02X}"))
        .collect();
    let serial = match (negative, digits.is_empty()) {
        (_, true) => "0".to_string(),
        (true, false) => format!("-{digits}"),
        (false, false) => digits,
    };
    if k.serial_hex != serial {
        return Some(format!("serial: {} vs {serial}", k.serial_hex));
    }
    let v = c.validity();
    for (what, mine, theirs) in [
        ("notBefore", &k.not_before, v.not_before.timestamp()),
        ("notAfter", &k.not_after, v.not_after.timestamp()),
    ] {
        if kyso::pki::cert::parse_rfc3339(mine) != Some(theirs) {
            return Some(format!("{what}: {mine} vs {theirs}"));
        }
    }
    let spki = c.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    let expected: Option<(String, Option<u32>)> = match spki.parsed() {
        // The modulus' significant bits, counted here: x509-parser's own
        // key_size() assumes a leading zero byte and undercounts a modulus
        // without one (a 6143-bit key in the DSS corpus reads as 6136).
        Ok(PublicKey::RSA(r)) => {
            let m: Vec<u8> = r.modulus.iter().copied().skip_while(|b| *b == 0).collect();
            let bits = m.first().map_or(0, |top| {
                (m.len() as u32 - 1) * 8 + (8 - top.leading_zeros())
            });
            Some(("RSA".into(), Some(bits)))
        }
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => Some(("EC prime256v1".into(), Some(256))),
                Some("1.3.132.0.34") => Some(("EC secp384r1".into(), Some(384))),
                Some("1.3.132.0.35") => Some(("EC secp521r1".into(), Some(521))),
                Some("1.3.132.0.10") => Some(("EC secp256k1".into(), Some(256))),
                _ => None,
            }
        }
        _ if alg == "1.3.101.112" => Some(("Ed25519".into(), None)),
        _ => None,
    };
    if let Some((t, bits)) = expected
        && (k.key_type != t || bits.is_some_and(|b| b != k.key_bits))
    {
        return Some(format!(
            "key: {} {} vs {t} {bits:?}",
            k.key_type, k.key_bits
        ));
    }
    let mut ids = Vec::new();
    for a in c.subject().iter_attributes() {
        let attr = match a.attr_type().to_id_string().as_str() {
            "0.9.2342.19200300.100.1.1" => "UID",
            "2.5.4.5" => "serialNumber",
            _ => continue,
        };
        ids.extend(kyso::pki::cert::parse_identities(&x509_value(a), attr));
    }
    if k.identities != ids {
        return Some(format!("identities: {:?} vs {ids:?}", k.identities));
    }
    None
}

#[test]
fn x509_parser_agrees_on_certificate_identity() {
    let certs = corpus_certificates();
    let (mut compared, mut equal) = (0, 0);
    let (mut openssl_only, mut x509_only) = (Vec::new(), Vec::new());
    let mut differ = Vec::new();
    for (name, der) in &certs {
        let ossl = openssl::x509::X509::from_der(der).ok();
        let parsed = x509_parser::parse_x509_certificate(der).ok();
        match (ossl, parsed) {
            (Some(o), Some((_, c))) => {
                compared += 1;
                let k = kyso::pki::cert::summarize(&o);
                match x509_disagreement(&k, &c) {
                    None => equal += 1,
                    Some(why) => differ.push(format!("{name}: {why}")),
                }
            }
            (Some(_), None) => openssl_only.push(name.clone()),
            (None, Some(_)) => x509_only.push(name.clone()),
            (None, None) => {}
        }
    }
    println!(
        "x509-parser oracle: {} certificates; objects compared {compared}, equal {equal}, listed {} (read by OpenSSL only {}, by x509-parser only {})",
        certs.len(),
        openssl_only.len() + x509_only.len(),
        openssl_only.len(),
        x509_only.len()
    );
    // Each certificate only one parser reads has its reason on file.
    let listed = common::reasons("x509-oracle-listed.tsv");
    let short = |n: &str| n.split("corpora/").last().unwrap_or(n).to_string();
    let one: Vec<String> = openssl_only
        .iter()
        .chain(&x509_only)
        .map(|n| short(n))
        .collect();
    for n in &one {
        println!(
            "  read by one parser only: {n}: {}",
            listed.get(n).map_or("UNEXPLAINED", |r| r)
        );
    }
    let unexplained: Vec<&String> = one.iter().filter(|n| !listed.contains_key(*n)).collect();
    assert!(
        unexplained.is_empty(),
        "read by one parser only, no reason on file: {unexplained:?}"
    );
    if common::corpus("").is_some() {
        let stale: Vec<&String> = listed.keys().filter(|k| !one.contains(k)).collect();
        assert!(stale.is_empty(), "listed but now read alike: {stale:?}");
    }
    let least = if common::corpus("").is_some() {
        500
    } else {
        20
    };
    assert!(
        compared >= least,
        "too few certificates compared ({compared})"
    );
    assert!(
        differ.is_empty(),
        "{} disagreements:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

#[test]
fn lopdf_agrees_on_every_object() {
    fn walk(d: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        let mut paths: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("pdf")) {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&common::root().join("testdata"), &mut files);
    let corpora = common::corpus("pdf");
    if let Some(c) = &corpora {
        walk(c, &mut files);
    }
    let short = |p: &std::path::Path| {
        let s = p.display().to_string();
        s.split("corpora/")
            .nth(1)
            .map(str::to_string)
            .unwrap_or_else(|| s.split("/work/").last().unwrap_or(&s).to_string())
    };
    let listed = common::reasons("lopdf-oracle-listed.tsv");
    let (mut loaded, mut lopdf_refuses, mut encrypted) = (0, 0, 0);
    let (mut compared, mut equal, mut only_kyso, mut only_lopdf) = (0, 0, 0, 0);
    let (mut earlier, mut earlier_files) = (0, 0);
    let (mut explained, mut found) = (Vec::new(), Vec::new());
    let mut unexplained = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let name = short(f);
        let name = name.strip_prefix("main/").unwrap_or(&name).to_string();
        match lopdf_compare::compare(&data) {
            Err(lopdf_compare::Skipped::LopdfRefuses) => lopdf_refuses += 1,
            Err(lopdf_compare::Skipped::Encrypted) => encrypted += 1,
            Err(lopdf_compare::Skipped::KysoRefuses(e)) => {
                found.push(name.clone());
                if !listed.contains_key(&name) {
                    unexplained.push(format!("{name}: kyso cannot open what lopdf loads: {e}"));
                }
            }
            Ok(c) => {
                loaded += 1;
                compared += c.compared;
                equal += c.equal;
                only_kyso += c.only_kyso;
                only_lopdf += c.only_lopdf;
                earlier += c.earlier_version;
                earlier_files += usize::from(c.earlier_version > 0);
                for d in c.differences {
                    let obj = d.split(':').next().unwrap_or("").to_string();
                    let key = format!("{name}#{obj}");
                    found.push(key.clone());
                    if listed.contains_key(&key) {
                        explained.push(key);
                    } else {
                        unexplained.push(format!("{name}: {d}"));
                    }
                }
            }
        }
    }
    println!(
        "lopdf oracle: {} PDFs, {loaded} loaded by both, {lopdf_refuses} refused by lopdf, {encrypted} encrypted (not compared); objects compared {compared}, equal {equal}, listed {}; lopdf read an earlier revision's version {earlier} (in {earlier_files} files); read by kyso only {only_kyso}, by lopdf only {only_lopdf}",
        files.len(),
        explained.len()
    );
    for k in &explained {
        println!("  listed: {k}: {}", listed[k]);
    }
    assert!(compared >= 1000, "too few objects compared ({compared})");
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    if corpora.is_some() {
        let stale: Vec<&String> = listed.keys().filter(|k| !found.contains(k)).collect();
        assert!(stale.is_empty(), "listed but now equal: {stale:?}");
    }
}
